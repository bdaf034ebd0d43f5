"""Reminders through WeCom: a local server on 127.0.0.1 speaking the webhook and application APIs."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from obligations.cli import cli
from tests.notifiers.servers import FakeWeCom

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
    assert len(sends) == len(by_user)  # one digest per person


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
