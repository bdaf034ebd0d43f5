"""Faults with real processes: SIGKILL in the middle of a sweep, two sweeps at once, the daemon's signals."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner
from sqlalchemy import func
from sqlmodel import col, select

from calendars.instants import PARTY_TIME
from calendars.ladder import OfficeHours
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from obligations import db, reminders
from obligations.cli import cli
from obligations.db import session_scope
from obligations.models import OutboxMessage, Reminder, Sweep
from tests.free_port import free_port

OBLIGATIONS = [sys.executable, "-c", "from obligations.cli import main; main()"]


@dataclass
class SlowSink:
    """Accepts every message after `delay` seconds and remembers each one's outbox key."""

    delay: float = 0.0
    keys: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        import asyncio

        await asyncio.sleep(self.delay)
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.keys.append(str(parsed["X-Obligations-Key"]))
        return "250 Message accepted"


@pytest.fixture
def sink() -> Iterator[tuple[SlowSink, int]]:
    handler = SlowSink()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, controller.port
    with contextlib.suppress(Exception):
        controller.stop()


@pytest.fixture
def demo(tmp_path: Path, database_url: str, sink: tuple[SlowSink, int]) -> tuple[list[str], str]:
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(
            f"""
            [reminders]
            channels = ["email"]
            sweep_minutes = 1
            [notifiers.email]
            host = "127.0.0.1"
            port = {sink[1]}
            """
        ),
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    result = CliRunner().invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"])
    assert result.exit_code == 0, result.output
    return base, database_url


def _messages(url: str) -> list[OutboxMessage]:
    engine = db.make_engine(db.resolve_url(url, Path.cwd()))
    with session_scope(engine) as session:
        found = list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))))
    engine.dispose()
    return found


def _remind(base: list[str], when: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*OBLIGATIONS, *base, "remind", "--as-of", when], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _wait(predicate: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def _killed_mid_delivery(base: list[str], handler: SlowSink, *, after: int) -> subprocess.Popen[bytes]:
    """A `remind` sending slowly, killed with SIGKILL once the peer has taken `after` messages."""
    handler.delay = 0.3
    process = _remind(base, "2026-01-26 09:00")
    _wait(lambda: len(handler.keys) >= after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    return process


def test_a_sweep_killed_mid_delivery_loses_nothing_and_duplicates_at_most_one(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int]
) -> None:
    base, url = demo
    handler, _ = sink
    _killed_mid_delivery(base, handler, after=3)
    delivered_before = len(handler.keys)
    messages = _messages(url)
    assert len(messages) > delivered_before, "the kill came too late to test anything"
    # Restarted after the claim lease (10 minutes): the one message in flight may go out again, nothing is lost.
    handler.delay = 0.0
    again = _remind(base, "2026-01-26 09:15")
    assert again.wait(timeout=120) == 0, again.stderr.read() if again.stderr else ""
    messages = _messages(url)
    assert {m.state for m in messages} == {"sent"}
    counts = Counter(handler.keys)
    assert set(counts) == {f"obligations-{m.id}" for m in messages}
    assert sum(1 for count in counts.values() if count > 1) <= 1
    assert max(counts.values()) <= 2


def test_two_sweeps_at_once_deliver_each_message_exactly_once(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int], database_url: str
) -> None:
    base, url = demo
    handler, _ = sink
    handler.delay = 0.02
    processes = [_remind(base, "2026-01-26 09:00") for _ in range(2)]
    for process in processes:
        assert process.wait(timeout=120) == 0, process.stderr.read() if process.stderr else ""
    messages = _messages(url)
    assert messages and {m.state for m in messages} == {"sent"}
    counts = Counter(handler.keys)
    assert set(counts) == {f"obligations-{m.id}" for m in messages}
    assert set(counts.values()) == {1}
    # One digest per person: the two sweeps did not split anyone's reminders.
    assert len({m.recipient for m in messages}) == len(messages)


def test_the_daemon_sweeps_and_stops_cleanly_on_sigterm(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int]
) -> None:
    base, url = demo
    handler, _ = sink
    process = subprocess.Popen(
        [*OBLIGATIONS, *base, "daemon", "--as-of", "2026-01-26 09:00"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait(lambda: len(handler.keys) > 0 and len(handler.keys) == len(_messages(url)), timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    log = process.stderr.read().decode("utf-8") if process.stderr else ""
    assert code == 0, log
    assert "daemon" in log and "started" in log and "stopped" in log
    assert "sweep at 2026-01-26T09:00" in log
    assert {m.state for m in _messages(url)} == {"sent"}


def _status(base: list[str]) -> str:
    result = CliRunner().invoke(cli, [*base, "status"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_sigterm_mid_sweep_finishes_the_current_send_and_leaves_the_rest_queued(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int]
) -> None:
    base, url = demo
    handler, _ = sink
    handler.delay = 0.5
    process = subprocess.Popen(
        [*OBLIGATIONS, *base, "daemon", "--as-of", "2026-01-26 09:00"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait(lambda: len(handler.keys) >= 2, timeout=60)
    finally:
        process.send_signal(signal.SIGTERM)
        asked = time.monotonic()
        code = process.wait(timeout=30)
    took = time.monotonic() - asked
    log = process.stderr.read().decode("utf-8") if process.stderr else ""
    assert code == 0, log
    assert took < 5, f"the daemon took {took:.1f} s to stop"
    messages = _messages(url)
    states = Counter(m.state for m in messages)
    assert states["sending"] == 0, "claimed but unsent messages must go back to the outbox"
    assert states["pending"] > 0, "the signal came too late to test anything"
    # Every message that reached the peer (the one in flight included) is recorded as sent, and only those.
    assert {f"obligations-{m.id}" for m in messages if m.state == "sent"} == set(handler.keys)
    assert "已停止" in _status(base)


def test_messages_claimed_by_a_killed_process_are_released_at_the_next_start(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int]
) -> None:
    base, url = demo
    handler, _ = sink
    process = _killed_mid_delivery(base, handler, after=2)
    claimed = [m for m in _messages(url) if m.state == "sending"]
    assert claimed and all(m.claimed_by and m.claimed_by.endswith(f":{process.pid}") for m in claimed)
    assert "中断" in _status(base)
    # One minute later, well within the ten-minute lease: what the dead process claimed goes out now.
    handler.delay = 0.0
    again = _remind(base, "2026-01-26 09:01")
    assert again.wait(timeout=120) == 0, again.stderr.read() if again.stderr else ""
    messages = _messages(url)
    assert {m.state for m in messages} == {"sent"}
    counts = Counter(handler.keys)
    assert set(counts) == {f"obligations-{m.id}" for m in messages}
    assert sum(1 for count in counts.values() if count > 1) <= 1  # at most the one in flight, twice


def _email_config(folder: Path, port: int) -> Path:
    config = folder / "config.toml"
    config.write_text(
        f'[reminders]\nchannels = ["email"]\n[notifiers.email]\nhost = "127.0.0.1"\nport = {port}\n',
        encoding="utf-8",
    )
    return config


def test_remind_exits_7_when_every_delivery_failed(tmp_path: Path, database_url: str) -> None:
    base = ["--config", str(_email_config(tmp_path, free_port())), "--db", database_url]  # nobody listens
    assert CliRunner().invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-01-26 09:00"], catch_exceptions=False)
    assert result.exit_code == 7, result.output
    assert "发送成功 0，待重试" in result.stdout
    assert result.stderr.startswith("错误：全部发送失败") and len(result.stderr.strip().splitlines()) == 1


@dataclass
class RefusesOneAddress:
    """Accepts every message except to the first address it is given (550: a permanent failure)."""

    refused: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.refused is None:
            self.refused = address
        if address == self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return "250 Message accepted"


def test_remind_with_some_deliveries_failed_prints_the_counts_and_exits_0(
    tmp_path: Path, database_url: str
) -> None:
    handler = RefusesOneAddress()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        base = ["--config", str(_email_config(tmp_path, controller.port)), "--db", database_url]
        assert CliRunner().invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
        result = CliRunner().invoke(
            cli, [*base, "remind", "--as-of", "2026-01-26 09:00"], catch_exceptions=False
        )
    finally:
        controller.stop()
    assert result.exit_code == 0, result.output
    assert handler.refused is not None
    assert "失败 1。" in result.stdout and "发送成功 0" not in result.stdout


def test_a_sweep_asked_to_stop_while_planning_writes_nothing_and_the_next_one_plans_it_all(
    demo: tuple[list[str], str], sink: tuple[SlowSink, int]
) -> None:
    _, url = demo
    engine = db.make_engine(db.resolve_url(url, Path.cwd()))
    settings = reminders.Settings(OfficeHours.parse("08:30-18:00", WorkCalendar()), ("email",))
    now = dt.datetime(2026, 1, 26, 9, 0, tzinfo=PARTY_TIME)

    async def sweep(stop: asyncio.Event) -> reminders.SweepResult:
        return await reminders.sweep(engine, load_profiles(), {}, now, settings, worker="test:1", stop=stop)

    async def stopped_sweep() -> reminders.SweepResult:
        stop = asyncio.Event()
        stop.set()  # SIGTERM came before the first chunk of due tasks was planned
        return await sweep(stop)

    result = asyncio.run(stopped_sweep())
    assert result.stopped and result.reminders == 0
    with session_scope(engine) as session:
        assert session.exec(select(func.count()).select_from(Reminder)).one() == 0
        assert not _messages(url)
        logged = session.exec(select(Sweep)).one()
    assert logged.stopped and logged.finished_at is not None and logged.worker == "test:1"
    again = asyncio.run(sweep(asyncio.Event()))
    engine.dispose()
    assert not again.stopped and again.reminders > 0 and again.messages == len(_messages(url))
