"""The console channel: the embedded default shows reminders without any server."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from notifiers.base import Channel, Delivery, DeliveryError, Message, Recipient
from notifiers.console import ConsoleChannel

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=8), "CST"))
ZHANG = Recipient(name="张三", email="zhangsan@example.org", wecom="zhangsan")


def message(key: str = "r-1") -> Message:
    return Message(
        key=key,
        recipient=ZHANG,
        subject="【党建提醒】第一党支部·支部委员会会议：还剩 7 天",
        text="张三同志：\n请于 2026年11月30日 前召开支部委员会会议。\n",
    )


def send(channel: ConsoleChannel, *messages: Message) -> list[Delivery]:
    async def run() -> list[Delivery]:
        return [await channel.send(each) for each in messages]

    return asyncio.run(run())


def test_console_writes_a_readable_chinese_rendering_to_a_stream() -> None:
    stream = io.StringIO()
    channel = ConsoleChannel(stream, now=lambda: NOW)
    assert isinstance(channel, Channel)

    [delivery] = send(channel, message())

    written = stream.getvalue()
    assert "收件人：张三（邮箱 zhangsan@example.org，企业微信 zhangsan）" in written
    assert "主题：【党建提醒】第一党支部·支部委员会会议：还剩 7 天" in written
    assert "请于 2026年11月30日 前召开支部委员会会议。" in written
    assert "时间：2026-11-23 09:00 CST" in written
    assert delivery.channel == "console" and delivery.address == "张三"
    assert delivery.started_at == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_console_appends_to_a_file(tmp_path: Path) -> None:
    target = tmp_path / "outbox" / "reminders.txt"
    channel = ConsoleChannel(target, now=lambda: NOW)

    send(channel, message("a"))
    send(channel, message("b"))

    written = target.read_text(encoding="utf-8")
    assert written.count("主题：【党建提醒】") == 2
    assert "编号：a" in written and "编号：b" in written


def test_console_defaults_to_the_standard_output_of_the_moment(capsys: pytest.CaptureFixture[str]) -> None:
    send(ConsoleChannel(now=lambda: NOW), message())

    assert "支部委员会会议" in capsys.readouterr().out


def test_an_unwritable_target_is_a_temporary_failure(tmp_path: Path) -> None:
    channel = ConsoleChannel(tmp_path, now=lambda: NOW)  # a directory cannot be appended to

    with pytest.raises(DeliveryError) as caught:
        send(channel, message())

    assert not caught.value.permanent
    assert "写入" in caught.value.reason
