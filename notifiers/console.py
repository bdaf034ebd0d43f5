"""The embedded default: reminders written to the terminal or appended to a file, no server needed."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path
from typing import TextIO

from notifiers.base import (
    ChannelKind,
    Delivery,
    DeliveryError,
    Message,
    MonotonicClock,
    Recipient,
    WallClock,
    system_wall_clock,
    to_utc,
)

logger = logging.getLogger(__name__)

KIND = ChannelKind("console", "控制台", None)  # printed, addressed by the person's name

RULE = "─" * 40


class ConsoleChannel:
    """`target` is a text stream, or a path to append to; None means the standard output at the time of sending
    (so that a redirected or captured stdout is honoured)."""

    name = "console"

    def __init__(
        self,
        target: TextIO | str | os.PathLike[str] | None = None,
        *,
        now: WallClock = system_wall_clock,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        self._stream: TextIO | None = None
        self._path: Path | None = None
        if isinstance(target, str | os.PathLike):
            self._path = Path(target)
        else:
            self._stream = target
        self._now = now
        self._clock = clock

    @property
    def target(self) -> str:
        return str(self._path) if self._path is not None else "stdout" if self._stream is None else "stream"

    def address_of(self, recipient: Recipient) -> str | None:
        return KIND.address_of(recipient)

    @staticmethod
    def render(message: Message, *, when: str) -> str:
        recipient = message.recipient
        reach = [
            label + value
            for label, value in (
                ("邮箱 ", recipient.email),
                ("企业微信 ", recipient.wecom),
                ("手机 ", recipient.mobile),
            )
            if value
        ]
        lines = [
            RULE,
            f"时间：{when}",
            f"收件人：{recipient.name}" + (f"（{'，'.join(reach)}）" if reach else ""),
            f"主题：{message.subject}",
            f"编号：{message.key}",
            "",
            message.text.rstrip("\n"),
            "",
        ]
        return "\n".join(lines) + "\n"

    async def send(self, message: Message) -> Delivery:
        moment = self._now()
        started = self._clock()
        block = self.render(message, when=moment.strftime("%Y-%m-%d %H:%M %Z").strip())
        try:
            if self._path is not None:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                with self._path.open("a", encoding="utf-8") as file:
                    file.write(block)
            else:
                stream = self._stream if self._stream is not None else sys.stdout
                stream.write(block)
                stream.flush()
        except (OSError, ValueError) as exc:  # ValueError: a closed stream
            error = DeliveryError(f"写入{self.target}失败：{type(exc).__name__}: {exc}", permanent=False)
            logger.warning("console: message %s not written: %s", message.key, error.reason)
            raise error from exc
        duration_ms = (self._clock() - started) * 1000.0
        logger.debug("console: message %s written to %s", message.key, self.target)
        return Delivery(
            channel=self.name,
            address=message.recipient.name,
            started_at=to_utc(moment),
            duration_ms=duration_ms,
            detail=self.target,
        )

    async def aclose(self) -> None:
        return None
