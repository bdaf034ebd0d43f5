"""A stalled channel does not stall the others: each channel is delivered in its own lane, and a channel that
stalls `breaker_failures` times in a row pauses for the cool-down with its messages queued (real peers: a
127.0.0.1 port that accepts and never answers, aiosmtpd, the WeCom peer)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, event, insert, text
from sqlmodel import col, func, select

from calendars.ladder import PARTY_TIME, OfficeHours
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from notifiers.base import Channel
from notifiers.email import EmailChannel
from notifiers.wecom import AppChannel
from obligations import db, reminders
from obligations.cli import cli
from obligations.daemon import Daemon
from obligations.models import DeliveryAttempt, OutboxMessage
from tests.notifiers.servers import FakeWeCom, SilentServer, SmtpServer, start_smtp

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARTY_TIME)  # a Monday, in office hours
COOLDOWN = dt.timedelta(minutes=10)
TIMEOUT = 0.5
# A server that answers is given time to answer on a loaded machine: only a silent one should time out.
ANSWERS = 10.0
CORP_ID, CORP_SECRET = "ww-breaker", "corp-secret-breaker"
SETTINGS = reminders.Settings(
    OfficeHours.parse("08:30-18:00", WorkCalendar()),
    ("email", "wecom"),
    breaker_failures=3,
    breaker_cooldown=COOLDOWN,
)
T = TypeVar("T")


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    """A mail server that accepts connections and never answers."""
    with SilentServer() as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    controller, server = start_smtp()
    yield server
    controller.stop()


def queue(engine: Engine, channel: str, count: int) -> None:
    with db.session_scope(engine) as session:
        for index in range(count):
            address = f"m{index}@example.org" if channel == "email" else f"user{index}"
            session.add(
                OutboxMessage(
                    recipient_name=f"党员{index}",
                    channel=channel,
                    address=address,
                    subject="【党建提醒】支部委员会会议",
                    text="请于 2026年11月30日 前召开支部委员会会议。",
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )


@dataclass(frozen=True)
class Row:
    state: str
    attempts: int
    next_attempt_at: dt.datetime


def rows(engine: Engine, channel: str) -> list[Row]:
    with db.session_scope(engine) as session:
        found = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.channel) == channel).order_by(col(OutboxMessage.id))
        ).all()
        return [Row(m.state, m.attempts, db.aware(m.next_attempt_at)) for m in found]


def attempts(engine: Engine, channel: str) -> int:
    with db.session_scope(engine) as session:
        query = select(func.count()).where(col(DeliveryAttempt.channel) == channel)
        return int(session.exec(query).one())


def email(port: int, timeout: float = TIMEOUT) -> EmailChannel:
    return EmailChannel("127.0.0.1", port, "none", None, None, "党建提醒 <dangjian@example.org>", timeout)


async def deliver(
    engine: Engine, channels: dict[str, Channel], now: dt.datetime, breakers: reminders.Breakers
) -> tuple[int, int, int]:
    try:
        return await reminders.deliver(
            engine, channels, now, SETTINGS, worker="test", rng=random.Random(1), breakers=breakers
        )
    finally:
        for channel in channels.values():
            await channel.aclose()


def with_wecom(scenario: Callable[[FakeWeCom], Awaitable[T]]) -> T:
    async def run() -> T:
        async with FakeWeCom(
            robot_key="unused", corp_id=CORP_ID, corp_secret=CORP_SECRET, clock=time.monotonic
        ) as server:
            return await scenario(server)

    return asyncio.run(run())


def wecom(server: FakeWeCom) -> AppChannel:
    return AppChannel(server.base_url, CORP_ID, CORP_SECRET, 1000002, timeout=TIMEOUT)


def test_a_hanging_mail_server_pauses_email_while_wecom_is_all_sent_and_the_probe_resumes_it(
    engine: Engine, silent: SilentServer, smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    queue(engine, "email", 40)
    queue(engine, "wecom", 40)
    breakers = reminders.Breakers(SETTINGS.breaker_failures, SETTINGS.breaker_cooldown)
    until = NOW + COOLDOWN

    async def first_sweep(server: FakeWeCom) -> tuple[tuple[int, int, int], float, int]:
        started = time.monotonic()
        counts = await deliver(engine, {"email": email(silent.port), "wecom": wecom(server)}, NOW, breakers)
        return counts, time.monotonic() - started, len(server.calls("/cgi-bin/message/send"))

    with caplog.at_level(logging.WARNING, logger="obligations.reminders"):
        (sent, retried, failed), elapsed, posted = with_wecom(first_sweep)

    # WeCom: every message, in the same sweep.
    assert posted == 40 and sent == 40
    assert {row.state for row in rows(engine, "wecom")} == {"sent"}
    # Email: three timeouts (about 3 × 0.5 s, not 40 × 0.5 s), then paused with everything queued.
    assert (retried, failed) == (3, 0)
    assert elapsed < 12 * TIMEOUT, elapsed
    assert silent.accepted == 3 and attempts(engine, "email") == 3
    queued = rows(engine, "email")
    assert {row.state for row in queued} == {"pending"}
    assert sorted(row.attempts for row in queued) == [0] * 37 + [1] * 3  # the pause used up no attempt
    assert {row.next_attempt_at for row in queued} == {until}
    assert breakers.paused(NOW) == {"email": until}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(text.startswith("channel email paused until") for text in warnings), warnings

    # During the cool-down the mail server is back, and still nothing is sent by email.
    during = asyncio.run(deliver(engine, {"email": email(smtp.port, ANSWERS)}, NOW + COOLDOWN / 2, breakers))
    assert during == (0, 0, 0) and smtp.mailbox.received == []

    # After it, one message probes, the breaker closes, and the rest follow in the same sweep.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="obligations.reminders"):
        after = asyncio.run(deliver(engine, {"email": email(smtp.port, ANSWERS)}, until, breakers))
    assert after == (40, 0, 0)
    assert len(smtp.mailbox.received) == 40
    assert {row.state for row in rows(engine, "email")} == {"sent"}
    assert sorted(row.attempts for row in rows(engine, "email")) == [1] * 37 + [2] * 3
    assert breakers.paused(until) == {}
    assert any("channel email answers again" in r.getMessage() for r in caplog.records)


def test_a_probe_that_stalls_again_pauses_the_channel_for_another_cool_down(
    engine: Engine, silent: SilentServer, caplog: pytest.LogCaptureFixture
) -> None:
    queue(engine, "email", 10)
    breakers = reminders.Breakers(SETTINGS.breaker_failures, SETTINGS.breaker_cooldown)
    asyncio.run(deliver(engine, {"email": email(silent.port)}, NOW, breakers))
    assert silent.accepted == 3

    with caplog.at_level(logging.WARNING, logger="obligations.reminders"):
        counts = asyncio.run(deliver(engine, {"email": email(silent.port)}, NOW + COOLDOWN, breakers))

    assert counts == (0, 1, 0) and silent.accepted == 4  # one probe, not three more timeouts
    queued = rows(engine, "email")
    assert {row.next_attempt_at for row in queued} == {NOW + 2 * COOLDOWN}
    assert sum(row.attempts for row in queued) == 4
    assert breakers.paused(NOW + COOLDOWN) == {"email": NOW + 2 * COOLDOWN}
    assert any("still stalled after the cool-down" in r.getMessage() for r in caplog.records)


def test_refused_wecom_recipients_never_trip_the_breaker(engine: Engine) -> None:
    queue(engine, "wecom", 6)
    breakers = reminders.Breakers(SETTINGS.breaker_failures, SETTINGS.breaker_cooldown)

    async def scenario(server: FakeWeCom) -> tuple[tuple[int, int, int], int]:
        for index in range(4):  # more refusals in a row than breaker_failures
            server.answers["/cgi-bin/message/send"].append(
                {"errcode": 0, "errmsg": "ok", "invaliduser": f"user{index}", "msgid": "x"}
            )
        counts = await deliver(engine, {"wecom": wecom(server)}, NOW, breakers)
        return counts, len(server.calls("/cgi-bin/message/send"))

    counts, posted = with_wecom(scenario)
    assert counts == (2, 0, 4) and posted == 6
    assert breakers.paused(NOW) == {}


def test_greylisted_recipients_are_retried_without_tripping_the_breaker(
    engine: Engine, smtp: SmtpServer
) -> None:
    queue(engine, "email", 6)
    for index in range(4):
        smtp.mailbox.rcpt_replies[f"m{index}@example.org"] = "451 4.7.1 Greylisted, try again later"
    breakers = reminders.Breakers(SETTINGS.breaker_failures, SETTINGS.breaker_cooldown)

    counts = asyncio.run(deliver(engine, {"email": email(smtp.port, ANSWERS)}, NOW, breakers))

    assert counts == (2, 4, 0) and len(smtp.mailbox.received) == 2
    assert breakers.paused(NOW) == {}


def test_the_daemon_keeps_its_breakers_from_tick_to_tick_and_logs_the_pause(
    engine: Engine, silent: SilentServer, caplog: pytest.LogCaptureFixture
) -> None:
    queue(engine, "email", 10)
    clock = [NOW]
    service = Daemon(
        engine=engine,
        profiles=load_profiles(),
        channels={"email": email(silent.port)},
        settings=SETTINGS,
        sweep_minutes=5,
        replan_at=dt.time(6, 0),
        horizon_years=1,
        clock=lambda: clock[0],
    )
    accepted: list[int] = []

    async def ticks() -> None:
        for moment in (NOW, NOW + COOLDOWN / 2, NOW + COOLDOWN):
            clock[0] = moment
            await service.sweep_once()
            accepted.append(silent.accepted)
        for channel in service.channels.values():
            await channel.aclose()

    with caplog.at_level(logging.INFO):
        asyncio.run(ticks())

    assert accepted == [3, 3, 4]  # paused in the second tick; the third sends one probe, not three
    sweeps = [r.getMessage() for r in caplog.records if r.name == "obligations.daemon"]
    assert any(f"channel email paused until {(NOW + COOLDOWN).isoformat()}" in text for text in sweeps), (
        sweeps
    )


def test_remind_says_in_chinese_that_a_channel_was_paused(
    tmp_path: Path, database_url: str, silent: SilentServer
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[reminders]\nchannels = ["email"]\nbreaker_failures = 2\nbreaker_cooldown_minutes = 15\n'
        f'[notifiers.email]\nhost = "127.0.0.1"\nport = {silent.port}\ntimeout_seconds = 1\n',
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    assert CliRunner().invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0

    result = CliRunner().invoke(cli, [*base, "remind", "--as-of", "2026-01-26 09:00"], catch_exceptions=False)

    assert silent.accepted == 2
    assert (
        "待重试 2，失败 0；邮件渠道连续超时或无法连接，已暂停至 2026-01-26 09:15，其消息留在发件箱。"
        in result.stdout
    )
    assert result.exit_code == 7  # nothing was delivered


def test_a_lanes_claim_reads_its_channel_by_index_not_the_other_channels_messages(engine: Engine) -> None:
    # 20,000 due email messages ahead of 50 WeCom ones: the WeCom lane's claim must not read through them.
    common = {"recipient_name": "", "address": "a", "subject": "s", "text": "t", "state": "pending"}
    with engine.begin() as connection:
        connection.execute(
            insert(OutboxMessage),
            [
                {**common, "channel": "email" if index < 20_000 else "wecom", "next_attempt_at": NOW,
                 "created_at": NOW, "attempts": 0, "failure_reported": False}
                for index in range(20_050)
            ],
        )  # fmt: skip
        connection.execute(text("ANALYZE"))
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("UPDATE outbox_message SET state="):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        claimed = reminders.claim(engine, NOW, "test", "wecom")
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert len(claimed) == 50 and {message.channel for message in claimed} == {"wecom"}
    ((statement, parameters),) = sent
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as connection:
        plan = " | ".join(
            str(row[-1]) for row in connection.exec_driver_sql(f"{explain} {statement}", parameters)
        )
    assert "ix_outbox_state_channel_next" in plan, plan
    assert "SCAN outbox_message" not in plan and "Seq Scan on outbox_message" not in plan, plan
