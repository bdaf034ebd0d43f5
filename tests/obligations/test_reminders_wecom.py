"""Reminders through WeCom: a local server on 127.0.0.1 speaking the webhook and application APIs."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, update
from sqlmodel import Session, col, select

from obligations.cli import cli
from obligations.cli.app import App
from obligations.db import session_scope
from obligations.demo import demo_registry
from obligations.models import DeliveryAttempt, Member, Organization, OutboxItem, OutboxMessage
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


def _demo(tmp_path: Path, database_url: str, wecom: FakeWeCom, channels: str = '"wecom"') -> list[str]:
    """The demo loaded as of 2026-01-02, reminding through the WeCom application (and `channels`); returns the
    CLI's base arguments."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'[reminders]\nchannels = [{channels}]\n[notifiers.wecom]\napi_base = "{wecom.base_url}"\n'
        'corp_id = "ww-demo"\nagent_id = 1000002\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    assert CliRunner().invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    return base


def _run(tmp_path: Path, database_url: str, wecom: FakeWeCom) -> None:
    base = _demo(tmp_path, database_url, wecom)
    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-01-26 09:00"])
    assert result.exit_code == 0, result.output
    assert "发送成功" in result.output and "失败 0" in result.output


def test_application_messages_go_to_each_persons_userid_with_one_token(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    _run(tmp_path, database_url, wecom)
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


def test_a_missing_secret_is_a_clear_error_naming_the_variable(
    tmp_path: Path, database_url: str, wecom: FakeWeCom
) -> None:
    base = _demo(tmp_path, database_url, wecom)
    result = CliRunner().invoke(
        cli, [*base, "remind", "--as-of", "2026-01-26 09:00"], env={"OBLIGATIONS_WECOM_SECRET": ""}
    )
    assert result.exit_code == 3
    assert "OBLIGATIONS_WECOM_SECRET" in result.output


# --- group robots: each organization's summary in its own group ---

KEY_B1, KEY_B2 = "b1-robot-key-0123456789abcdef", "b2-robot-key-fedcba9876543210"
AS_OF = dt.date(2026, 1, 2)


def _robots(tmp_path: Path, database_url: str, wecom: FakeWeCom) -> list[str]:
    """The demo with 综合处室党支部 (jg.b1) and 业务处室党支部 (jg.b2) given group robots by a registry import;
    personal digests by WeCom application messages, summaries by the robots. Returns the CLI's base arguments."""
    wecom.robot_keys |= {KEY_B1, KEY_B2}
    base = _demo(tmp_path, database_url, wecom, '"wecom", "wecom_robot"')
    robots = {"jg.b1": "OBLIGATIONS_ROBOT_B1", "jg.b2": "OBLIGATIONS_ROBOT_B2"}
    lines = []
    for org in demo_registry(AS_OF).orgs:
        if org.code in robots:
            lines += [
                "[[org]]",
                f'code = "{org.code}"',
                f'name = "{org.name}"',
                f'kind = "{org.kind.value}"',
                f'parent = "{org.parent}"',
                f"elected_on = {org.elected_on}",
                f"tracked_from = {org.tracked_from}",
                f'wecom_robot_env = "{robots[org.code]}"',
            ]
    registry = tmp_path / "robots.toml"
    registry.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, [*base, "import", str(registry), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert "组织：新增 0，更新 2" in result.output
    return base


def _remind(base: list[str], at: str, **env: str) -> str:
    result = CliRunner().invoke(
        cli, [*base, "remind", "--as-of", at], env={"OBLIGATIONS_WECOM_SECRET": SECRET, **env}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_each_organization_with_a_robot_gets_one_summary_in_its_own_group_and_nobodys_digest(
    tmp_path: Path, database_url: str, wecom: FakeWeCom
) -> None:
    base = _robots(tmp_path, database_url, wecom)
    _remind(base, "2026-01-26 09:00", OBLIGATIONS_ROBOT_B1=KEY_B1, OBLIGATIONS_ROBOT_B2=KEY_B2)
    posts = {call.query["key"]: call.body for call in wecom.calls("/cgi-bin/webhook/send")}
    assert len(wecom.calls("/cgi-bin/webhook/send")) == 2 and set(posts) == {KEY_B1, KEY_B2}
    b1, b2 = (posts[key]["markdown"]["content"] for key in (KEY_B1, KEY_B2))
    assert b1.startswith("## 综合处室党支部 · 党建工作提醒") and "业务处室党支部" not in b1
    assert b2.startswith("## 业务处室党支部 · 党建工作提醒") and "综合处室党支部" not in b2
    # Who answers for each item, mentioned by WeCom userid: the branches' secretaries hold their duties.
    assert "负责人：<@m04>" in b1 and "负责人：<@m21>" in b2
    # A 党小组 is part of its branch: its duty shows in the branch's group, named with the group.
    assert "综合处室第一党小组·党小组会" in b1
    assert "逾期" in b1  # 2025年第四季度's 支部党员大会, still open
    # A person's digest goes to that person alone, by application message; never to a group.
    assert not [body for body in posts.values() if "同志" in body["markdown"]["content"]]
    digests = {call.body["touser"] for call in wecom.calls("/cgi-bin/message/send")}
    assert {"m04", "m21"} <= digests
    with Session(create_engine(database_url)) as session:
        summaries = session.exec(
            select(OutboxMessage).where(OutboxMessage.channel == "wecom_robot").order_by(OutboxMessage.org)
        ).all()
    assert [(m.org, m.recipient, m.recipient_name, m.address, m.state) for m in summaries] == [
        ("jg.b1", None, "综合处室党支部", "robot:jg.b1", "sent"),
        ("jg.b2", None, "业务处室党支部", "robot:jg.b2", "sent"),
    ]
    # A later sweep that records nothing new for an organization sends its group nothing again.
    _remind(base, "2026-01-26 10:00", OBLIGATIONS_ROBOT_B1=KEY_B1, OBLIGATIONS_ROBOT_B2=KEY_B2)
    assert len(wecom.calls("/cgi-bin/webhook/send")) == 2


def test_a_robot_whose_key_is_missing_fails_alone_and_its_secretary_hears_of_it_without_the_key(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    base = _robots(tmp_path, database_url, wecom)
    shown = _remind(base, "2026-01-26 09:00", OBLIGATIONS_ROBOT_B1=KEY_B1)
    assert [call.query["key"] for call in wecom.calls("/cgi-bin/webhook/send")] == [KEY_B1]
    engine = create_engine(database_url)
    with Session(engine) as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.state == "failed")).one()
        assert (failed.org, failed.channel) == ("jg.b2", "wecom_robot")
        assert failed.last_error is not None and "OBLIGATIONS_ROBOT_B2" in failed.last_error
    outbox = CliRunner().invoke(cli, [*base, "outbox", "--failed"])
    assert "业务处室党支部（jg.b2）" in outbox.output and "企业微信群机器人" in outbox.output
    assert "OBLIGATIONS_ROBOT_B2" in outbox.output
    # The next sweep tells 业务处室党支部's secretary (m21), in their own digest.
    shown += _remind(base, "2026-01-27 09:00", OBLIGATIONS_ROBOT_B1=KEY_B1)
    told = [call.body for call in wecom.calls("/cgi-bin/message/send") if call.body["touser"] == "m21"]
    assert told and "业务处室党支部群" in told[-1]["markdown"]["content"]
    assert "的群机器人 key 无从读取" in told[-1]["markdown"]["content"]
    with Session(engine) as session:
        assert session.get(OutboxMessage, failed.id).failure_reported  # type: ignore[union-attr]
        stored = [
            str(value)
            for model in (OutboxMessage, DeliveryAttempt)
            for row in session.exec(select(model)).all()
            for value in row.model_dump().values()
        ]
    logged = [record.getMessage() for record in caplog.records]
    for text in [*stored, *logged, shown, outbox.output]:
        assert KEY_B1 not in text and KEY_B2 not in text


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


# --- failure reports: a digest in parts that failed is told to the secretary once ---

REFUSED = "userid 全部无效或无权限"  # what WeCom's errcode 81013 is reported as


def _told(base: list[str], at: str, wecom: FakeWeCom, smtp: SmtpServer, secretary: str) -> list[str]:
    """Sweep at `at`; the lines of the failure sections that reached `secretary` in that sweep, by email (the
    text) and by WeCom (the markdown, each failure's two lines joined), with the channel they came by."""
    mails, messages = len(smtp.mailbox.received), len(wecom.delivered)
    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", at])
    assert result.exit_code == 0, result.output
    lines = []
    for received in smtp.mailbox.received[mails:]:
        if f"{secretary}@example.org" in received.rcpt_tos:
            body = received.message.get_body(("plain",))
            assert body is not None
            section = str(body.get_content()).partition("以下提醒未能送达")[2].splitlines()
            lines += [f"email {line}" for line in section if line.startswith("- ")]
    for item in wecom.delivered[messages:]:
        if item.to == secretary:
            section = item.content.partition("以下提醒未能送达")[2].splitlines()
            quoted = [line for line in section if line.startswith("> ")]
            lines += [f"wecom {who} {why}" for who, why in zip(quoted[::2], quoted[1::2], strict=True)]
    return lines


def _parts_of(app: App, member: str, channel: str) -> list[OutboxMessage]:
    with session_scope(app.engine) as session:
        return list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.recipient) == member, col(OutboxMessage.channel) == channel)
                .order_by(col(OutboxMessage.id))
            ).all()
        )


def test_a_digest_refused_in_every_part_is_told_to_the_secretary_once_with_its_part_count(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    # 陈静 (m05, 综合处室党支部's organization member) has a digest of 3 WeCom parts; WeCom knows no such userid.
    wecom.refuses = lambda body: body["touser"] == "m05"
    assert _told(base, "2026-06-15 09:00", wecom, smtp, "m04") == []
    parts = _parts_of(app, "m05", "wecom")
    assert [(part.state, part.subject[-5:]) for part in parts] == [
        ("failed", "（1/3）"), ("failed", "（2/3）"), ("failed", "（3/3）")
    ]  # fmt: skip
    wecom.refuses = lambda body: False
    # The secretary (刘洋, m04) hears of it in the next sweep, once on each of their channels.
    told = _told(base, "2026-06-16 09:00", wecom, smtp, "m04")
    assert [line.split()[0] for line in told] == ["email", "wecom"]
    title = parts[0].subject.removesuffix("（1/3）")
    for line in told:
        assert "陈静" in line and REFUSED in line and "企业微信" in line
        assert f"{title}」（共 3 部分）" in line and "/3）" not in line
    assert all(part.failure_reported for part in _parts_of(app, "m05", "wecom"))
    # Told once: the next sweep says nothing of it again.
    assert _told(base, "2026-06-17 09:00", wecom, smtp, "m04") == []


def test_each_failed_digest_is_told_on_a_line_of_its_own(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    # Two people of 综合处室党支部 refused by WeCom (陈静's digest in 3 parts, 林娜's of its 党小组 in 2), and
    # 陈静's mailbox refused by the mail server: three failed digests, told to the branch's secretary (m04).
    wecom.refuses = lambda body: body["touser"] in ("m05", "m16")
    smtp.mailbox.rcpt_replies["m05@example.org"] = "550 5.1.1 mailbox unavailable"
    assert _told(base, "2026-06-15 09:00", wecom, smtp, "m04") == []  # told in the sweep after the failure
    assert [len(_parts_of(app, member, "wecom")) for member in ("m05", "m16")] == [3, 2]
    told = [line for line in _told(base, "2026-06-16 09:00", wecom, smtp, "m04") if line.startswith("email")]
    assert len(told) == 3
    refused_wecom = sorted(line for line in told if REFUSED in line)
    assert len(refused_wecom) == 2
    assert "林娜" in refused_wecom[0] and "（共 2 部分）" in refused_wecom[0]
    assert "陈静" in refused_wecom[1] and "（共 3 部分）" in refused_wecom[1]
    (bounced,) = (line for line in told if "550" in line)
    assert "陈静" in bounced and "邮件" in bounced and "部分" not in bounced  # an email is never split


def test_a_digest_failed_in_some_parts_names_those_parts_once(
    tmp_path: Path, database_url: str, wecom: FakeWeCom, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OBLIGATIONS_WECOM_SECRET", SECRET)
    base, app = _mid_june(tmp_path, database_url, wecom, smtp)
    # WeCom refuses parts 2 and 3 of 陈静's digest (their markdown), and takes part 1.
    later_parts = ("## 党建工作提醒（2/3）", "## 党建工作提醒（3/3）")
    wecom.refuses = lambda body: (
        body["touser"] == "m05" and str(body.get("markdown", {}).get("content", "")).startswith(later_parts)
    )
    assert _told(base, "2026-06-15 09:00", wecom, smtp, "m04") == []  # told in the sweep after the failure
    assert [part.state for part in _parts_of(app, "m05", "wecom")] == ["sent", "failed", "failed"]
    wecom.refuses = lambda body: False
    told = _told(base, "2026-06-16 09:00", wecom, smtp, "m04")
    assert len(told) == 2  # once by email, once by WeCom
    for line in told:
        assert "陈静" in line and REFUSED in line and "（第 2、3 部分，共 3 部分）" in line
    assert [part.failure_reported for part in _parts_of(app, "m05", "wecom")] == [False, True, True]
    assert _told(base, "2026-06-17 09:00", wecom, smtp, "m04") == []
