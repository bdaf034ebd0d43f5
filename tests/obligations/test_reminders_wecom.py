"""Reminders through WeCom: a local server on 127.0.0.1 speaking the webhook and application APIs."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, update
from sqlmodel import col, select

from obligations.cli import cli
from obligations.cli.app import App
from obligations.db import session_scope
from obligations.models import Member, Organization, OutboxItem, OutboxMessage
from tests.notifiers.servers import FakeWeCom, SmtpServer, fonts_balanced, start_smtp

SECRET, KEY = "corp-secret-xyz", "robot-key-1234"


@pytest.fixture
def wecom() -> Iterator[FakeWeCom]:
    """The fake WeCom server, running on its own event loop in a thread."""
    server = FakeWeCom(robot_key=KEY, corp_id="ww-demo", corp_secret=SECRET, clock=time.monotonic)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.__aenter__())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    yield server
    asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _run(tmp_path: Path, database_url: str, wecom: FakeWeCom, corp_id: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[reminders]\nchannels = ["wecom"]\n[notifiers.wecom]\napi_base = "{wecom.base_url}"\n'
        f'corp_id = "{corp_id}"\nagent_id = 1000002\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    result = runner.invoke(cli, [*base, "remind", "--as-of", "2026-01-26 09:00"])
    assert result.exit_code == 0, result.output
    assert "发送成功" in result.output and "失败 0" in result.output


def test_application_messages_go_to_each_persons_userid_with_one_token(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    _run(tmp_path, database_url, wecom, "ww-demo")
    sends = wecom.calls("/cgi-bin/message/send")
    assert len(wecom.calls("/cgi-bin/gettoken")) == 1
    assert sends and {call.body["agentid"] for call in sends} == {1000002}
    by_user = {call.body["touser"]: call.body for call in sends}
    assert "m04" in by_user  # 综合处室党支部's secretary
    body = by_user["m04"]
    assert body["msgtype"] == "markdown"
    assert "党建工作提醒" in body["markdown"]["content"] and "综合处室党支部" in body["markdown"]["content"]
    for userid in by_user:  # one digest per person: one message, or its numbered parts
        contents = [call.body["markdown"]["content"] for call in sends if call.body["touser"] == userid]
        if len(contents) > 1:
            assert [content.split("\n")[0] for content in contents] == [
                f"## 党建工作提醒（{n}/{len(contents)}）" for n in range(1, len(contents) + 1)
            ]


def test_without_an_application_the_group_robot_mentions_each_person_by_mobile(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_KEY", KEY)
    _run(tmp_path, database_url, wecom, "")
    posts = wecom.calls("/cgi-bin/webhook/send")
    assert posts and all(call.query["key"] == KEY for call in posts)
    mentioned = [mobile for call in posts for mobile in call.body["text"]["mentioned_mobile_list"]]
    assert "13800000004" in mentioned  # m04's mobile
    assert all(call.body["msgtype"] == "text" for call in posts)


def test_a_missing_secret_is_a_clear_error_naming_the_variable(
    tmp_path: Path, database_url: str, wecom: FakeWeCom
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[reminders]\nchannels = ["wecom"]\n[notifiers.wecom]\napi_base = "{wecom.base_url}"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    result = runner.invoke(
        cli, [*base, "remind", "--as-of", "2026-01-26 09:00"], env={"OBLIGATIONS_WECOM_KEY": ""}
    )
    assert result.exit_code == 3
    assert "OBLIGATIONS_WECOM_KEY" in result.output


# --- A digest longer than WeCom carries (issue 12: never cut a message) ---

DESK = "https://dangjian.example.org"
LINK = re.compile(re.escape(DESK) + r"/l/[A-Za-z0-9_.-]+")
LONG_NAME = "（中共某某市某某区直属机关工作委员会所属机关党委下设第一联合党支部）"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


def _mid_june(tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer) -> tuple[list[str], App]:
    """The demo in mid-June with nothing recorded since January, long organization names, and the committee's
    secretary (m01, 78 items to see done) without an email address; `base` arguments of the CLI on both peers."""
    config = tmp_path / "config.toml"
    config.write_text(
        '[reminders]\nchannels = ["email", "wecom"]\ndigest_items = 1000\n'
        f'[notifiers.email]\nhost = "127.0.0.1"\nport = {smtp.port}\nsender = "党建提醒 <dj@example.org>"\n'
        f'[notifiers.wecom]\napi_base = "{wecom.base_url}"\ncorp_id = "ww-demo"\nagent_id = 1000002\n'
        f'[web]\npublic_url = "{DESK}"\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    app = App(config_path=config, db_url=database_url)
    with app.session() as session:
        session.execute(update(Member).where(col(Member.id) == "m01").values(email=None))
        session.execute(update(Organization).values(name=col(Organization.name) + LONG_NAME))
        app.keep_planned(session, dt.date(2026, 6, 15))
    return base, app


def _sweep_mid_june(tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer) -> App:
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-06-15 09:00"])
    assert result.exit_code == 0, result.output
    assert "失败 0" in result.output
    return app


def test_a_dry_run_lists_each_part_of_a_long_digest(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer
) -> None:
    base, _ = _mid_june(tmp_path, database_url, wecom, smtp)
    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-06-15 09:00", "--dry-run"])
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.output.splitlines()]
    parts = [line[4] for line in rows if line[1:3] == ["wecom", "m01"]]  # 收件人 渠道 地址 事项 分段 标题
    count = len(parts)
    assert count > 1 and parts == [f"{number}/{count}" for number in range(1, count + 1)]
    assert wecom.requests == [] and smtp.mailbox.received == []  # a dry run sends nothing


def test_a_long_digest_arrives_in_numbered_parts_each_whole_with_every_item_once(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    app = _sweep_mid_june(tmp_path, database_url, wecom, smtp)
    with session_scope(app.engine) as session:
        listed = session.exec(
            select(func.count())
            .select_from(OutboxItem)
            .join(OutboxMessage, col(OutboxMessage.id) == col(OutboxItem.message_id))
            .where(col(OutboxMessage.recipient) == "m01", col(OutboxMessage.channel) == "wecom")
        ).one()
        rows = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.recipient) == "m01").order_by(col(OutboxMessage.id))
        ).all()
    assert listed >= 9 and {row.channel for row in rows} == {"wecom"}  # no email address: WeCom only
    parts = [item for item in wecom.delivered if item.to == "m01"]
    count = len(parts)
    assert count > 1 and len(rows) == count and all(row.state == "sent" for row in rows)
    links: list[str] = []
    for number, part in enumerate(parts, start=1):
        assert part.msgtype == "markdown"
        assert len(part.content.encode("utf-8")) <= 2048
        assert part.content.startswith(f"## 党建工作提醒（{number}/{count}）\n")
        assert fonts_balanced(part.content), part.content
        assert "邮件" not in part.content and "邮箱" not in part.content
        assert LONG_NAME in part.content
        links += LINK.findall(part.content)
    assert len(links) == len(set(links)) == listed  # every item, exactly once, none cut
    cards = [call.body for call in wecom.calls("/cgi-bin/message/send") if call.body["msgtype"] == "textcard"]
    assert [card["touser"] for card in cards].count("m01") == 1  # the card goes with part 1 only


def test_wecom_mentions_email_only_to_a_person_who_has_it(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    _sweep_mid_june(tmp_path, database_url, wecom, smtp)
    emailed = {address for received in smtp.mailbox.received for address in received.rcpt_tos}
    by_person: dict[str, list[str]] = {}
    for item in wecom.delivered:
        by_person.setdefault(item.to, []).append(item.content)
    assert "m04@example.org" in emailed and "m04" in by_person
    assert "邮箱" in by_person["m04"][-1]  # the last part says the same reminder went to the mailbox
    assert not any("邮箱" in content or "邮件" in content for content in by_person["m01"])
    for person, contents in by_person.items():
        if f"{person}@example.org" not in emailed:
            assert not any("邮箱" in content for content in contents), person
