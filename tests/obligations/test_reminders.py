"""Reminders end to end: the demo registry replayed over a year into a real SMTP server on 127.0.0.1.

Each storage test runs on SQLite and PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import random
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner
from sqlmodel import col, select

from calendars.instants import PARTY_TIME
from obligations import reminders
from obligations.channels import build_channels
from obligations.cli import cli
from obligations.cli.app import App
from obligations.cli.remind import settings as reminder_settings
from obligations.db import session_scope
from obligations.demo import NAMES
from obligations.models import OutboxMessage, Reminder, Task
from tests.free_port import free_port
from tests.obligations.conftest import email_config

D = dt.date


@dataclass
class Received:
    to: str
    message: EmailMessage
    day: dt.date


@dataclass
class MailSink:
    """An SMTP server's handler: keeps what it accepts, rejects the addresses it is told to."""

    today: dt.date = dt.date(2026, 1, 1)
    received: list[Received] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            for address in envelope.rcpt_tos:
                self.received.append(Received(address, parsed, self.today))
        return "250 Message accepted"

    def to(self, address: str, day: dt.date | None = None) -> list[Received]:
        return [r for r in self.received if r.to == address and (day is None or r.day == day)]


@pytest.fixture
def smtp() -> Iterator[tuple[MailSink, Controller]]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller
    with contextlib.suppress(Exception):  # a test may have stopped it already
        controller.stop()


def _body(received: Received) -> str:
    part = received.message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def demo(tmp_path: Path, database_url: str, smtp: tuple[MailSink, Controller]) -> App:
    """The demo registry loaded as of 2026-01-02, reminders by email to the local SMTP server."""
    _, controller = smtp
    config = email_config(tmp_path / "config.toml", controller.port)
    result = CliRunner().invoke(
        cli, ["--config", str(config), "--db", database_url, "init", "--demo", "--as-of", "2026-01-02"]
    )
    assert result.exit_code == 0, result.output
    return App(config_path=config, db_url=database_url)


def _sweep(app: App, now: dt.datetime) -> reminders.SweepResult:
    channels = build_channels(app.config)

    async def run() -> reminders.SweepResult:
        try:
            return await reminders.sweep(
                app.engine,
                app.profiles,
                channels,
                now,
                reminder_settings(app),
                worker="test",
                rng=random.Random(7),
            )
        finally:
            for channel in channels.values():
                await channel.aclose()

    return asyncio.run(run())


def _import(app: App, text: str, as_of: dt.date) -> None:
    path = app.config_path.parent / f"extra-{as_of}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(app.config_path),
            "--db",
            str(app.db_url),
            "import",
            str(path),
            "--as-of",
            str(as_of),
        ],
    )
    assert result.exit_code == 0, result.output


def at(day: dt.date, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARTY_TIME)


EXTRA_VACANCIES = """
[[position]]
org = "jg.b3"
role = "organization"
vacant_since = 2026-04-10

[[position]]
org = "jg.b3"
role = "propaganda"
vacant_since = 2026-04-17
"""


def test_a_year_of_the_demo_registry_reaches_the_right_people_on_working_days(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, _ = smtp
    skipped: dict[dt.date, str] = {}
    day = D(2026, 1, 5)
    while day <= D(2026, 12, 31):
        sink.today = day
        if day == D(2026, 4, 20):
            _import(demo, EXTRA_VACANCIES, day)  # two seats fall vacant in April (see the 调休 checks below)
        result = _sweep(demo, at(day))
        if result.skipped:
            skipped[day] = result.skipped
        day += dt.timedelta(days=1)

    b1_secretary, jg_secretary, b3_secretary = "m04@example.org", "m01@example.org", "m35@example.org"

    # The January 支委会 of 综合处室党支部 is due Saturday 01-31: its "upcoming" step (01-24, a Saturday) goes
    # out on the next working morning, Monday 01-26, to the branch secretary only.
    monday = sink.to(b1_secretary, D(2026, 1, 26))
    assert len(monday) == 1 and "支部委员会会议" in _body(monday[0])
    assert not sink.to(b1_secretary, D(2026, 1, 24)) and not sink.to(b1_secretary, D(2026, 1, 25))
    assert not [r for r in sink.to(jg_secretary, D(2026, 1, 26)) if "支部委员会会议" in _body(r)]

    # Overdue (02-01, a Sunday) climbs to the parent's secretary on Monday 02-02.
    overdue = sink.to(jg_secretary, D(2026, 2, 2))
    assert len(overdue) == 1
    text = _body(overdue[0])
    assert "综合处室党支部" in text and "支部委员会会议" in text and "逾期" in text

    # One digest per person per sweep, however many items it carries.
    per_day = Counter((r.to, r.day) for r in sink.received)
    assert per_day and max(per_day.values()) == 1
    assert any(_body(r).count("obligations done") > 1 for r in sink.received)

    # Nothing on weekends, holidays or the National Day week; something on the 调休 Saturday 10-10.
    assert D(2026, 10, 3) in skipped and not [r for r in sink.received if r.day == D(2026, 10, 3)]
    assert D(2026, 10, 10) not in skipped and [r for r in sink.received if r.day == D(2026, 10, 10)]
    assert all(
        day.weekday() < 5
        or day
        in (D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10))
        for day in {r.day for r in sink.received}
    )

    # The vacancy of 04-10 is due 10-10: its upcoming step (10-03, a holiday) waited for Thursday 10-08.
    # The vacancy of 04-17 is due 10-17: its upcoming step fell on the working Saturday 10-10 itself.
    with session_scope(demo.engine) as session:
        created = {
            (task.period, reminder.step): reminder.created_at.astimezone(PARTY_TIME).date()
            for reminder, task in session.exec(
                select(Reminder, Task)
                .join(Task, col(Task.id) == col(Reminder.task_id))
                .where(col(Task.org) == "jg.b3", col(Task.rule) == "vacancy-fill")
            )
        }
    assert created[("vacancy:organization:2026-04-10", "upcoming")] == D(2026, 10, 8)
    assert created[("vacancy:propaganda:2026-04-17", "upcoming")] == D(2026, 10, 10)
    assert sink.to(b3_secretary, D(2026, 10, 10))
    # A vacant seat's duty says who stands in for it.
    assert any("空缺" in _body(r) for r in sink.to(b3_secretary))


def test_quiet_hours_send_nothing(demo: App, smtp: tuple[MailSink, Controller]) -> None:
    sink, _ = smtp
    for instant in (at(D(2026, 1, 26), 7, 59), at(D(2026, 1, 26), 18, 0), at(D(2026, 1, 24), 10, 0)):
        result = _sweep(demo, instant)
        assert result.skipped and "非办公时间" in result.skipped
    assert sink.received == []
    assert _sweep(demo, at(D(2026, 1, 26), 8, 30)).sent > 0


def test_running_remind_twice_at_the_same_instant_sends_nothing_the_second_time(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, _ = smtp
    first = _sweep(demo, at(D(2026, 1, 26)))
    assert first.sent == first.messages > 0
    count = len(sink.received)
    second = _sweep(demo, at(D(2026, 1, 26)))
    assert (second.reminders, second.messages, second.sent) == (0, 0, 0)
    assert len(sink.received) == count


def test_the_smtp_server_down_then_back_delivers_each_message_once(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, controller = smtp
    controller.stop()
    down = _sweep(demo, at(D(2026, 1, 26), 9))
    # Three refused connections in a row pause the channel (breaker_failures): the rest wait, unattempted.
    assert down.messages > 3 and down.sent == 0 and down.retried == 3 and down.paused.keys() == {"email"}
    again = Controller(sink, hostname="127.0.0.1", port=controller.port)
    again.start()
    try:
        back = _sweep(demo, at(D(2026, 1, 26), 15))  # well past the backoff
    finally:
        again.stop()
    assert back.sent == down.messages
    keys = Counter(str(r.message["X-Obligations-Key"]) for r in sink.received)
    assert len(keys) == down.messages and set(keys.values()) == {1}
    with session_scope(demo.engine) as session:
        states = Counter(m.state for m in session.exec(select(OutboxMessage)))
    assert states == {"sent": down.messages}


def test_a_permanently_rejected_address_fails_at_once_and_is_reported_to_the_secretary(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, _ = smtp
    # 综合处室党支部's organization member m05 owes the January 党费收缴; their mailbox does not exist.
    sink.reject["m05@example.org"] = "550 5.1.1 mailbox unavailable"
    first = _sweep(demo, at(D(2026, 1, 26)))
    assert first.failed >= 1
    with session_scope(demo.engine) as session:
        failed = session.exec(select(OutboxMessage).where(col(OutboxMessage.state) == "failed")).all()
    assert [m.recipient for m in failed] == ["m05"] and "550" in (failed[0].last_error or "")
    sink.today = D(2026, 1, 27)
    _sweep(demo, at(D(2026, 1, 27)))
    report = sink.to("m04@example.org", D(2026, 1, 27))
    assert len(report) == 1
    body = _body(report[0])
    assert "发送失败" in body or "未能送达" in body
    assert "550" in body


def test_a_secretarys_own_bounced_address_is_reported_up_the_tree_once(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, _ = smtp
    # m04 is the secretary of 综合处室党支部 (jg.b1): telling m04 of m04's own failure would fail again.
    sink.reject["m04@example.org"] = "550 5.1.1 mailbox unavailable"
    _sweep(demo, at(D(2026, 1, 26)))
    for day in (D(2026, 1, 27), D(2026, 1, 28), D(2026, 1, 29)):
        sink.today = day
        _sweep(demo, at(day))
    reports = [r for r in sink.to("m01@example.org") if "550" in _body(r)]
    assert reports and reports[0].day == D(2026, 1, 27)  # the committee's secretary hears of it
    assert NAMES[3] in _body(reports[0])  # m04, by name
    with session_scope(demo.engine) as session:
        to_m04 = session.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == "m04")).all()
        unreported = session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.state) == "failed", col(OutboxMessage.failure_reported).is_(False)
            )
        ).all()
    assert {m.state for m in to_m04} == {"failed"}
    # Only m04's own reminders were sent to m04 — never a digest that merely reports m04's failures to m04.
    assert all("未能送达" not in m.text for m in to_m04)
    # Each failure is reported once: what is still unreported failed in the last sweep, not before.
    assert all(m.created_at == at(D(2026, 1, 29)) for m in unreported)
    assert len(reports) == len({m.created_at for m in to_m04 if m.created_at < at(D(2026, 1, 29))})


def test_remind_dry_run_lists_recipients_and_sends_nothing(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    sink, _ = smtp
    result = CliRunner().invoke(
        cli,
        [
            "--config",
            str(demo.config_path),
            "--db",
            str(demo.db_url),
            "remind",
            "--as-of",
            "2026-01-26 09:00",
            "--dry-run",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "试运行" in result.output and "m04@example.org" in result.output
    assert sink.received == []
    with session_scope(demo.engine) as session:
        assert session.exec(select(Reminder)).all() == []


def test_outbox_and_status_show_what_happened(demo: App, smtp: tuple[MailSink, Controller]) -> None:
    sink, _ = smtp
    sink.reject["m05@example.org"] = "550 5.1.1 mailbox unavailable"
    _sweep(demo, at(D(2026, 1, 26)))
    runner = CliRunner()
    base = ["--config", str(demo.config_path), "--db", str(demo.db_url)]
    listing = runner.invoke(cli, [*base, "outbox", "--failed"])
    assert listing.exit_code == 0 and "m05@example.org" in listing.output and "失败" in listing.output
    status = runner.invoke(cli, [*base, "status"])
    assert "最近一次检查：2026-01-26 09:00" in status.output and "已发送" in status.output
    del sink.reject["m05@example.org"]
    with session_scope(demo.engine) as session:
        failed_id = session.exec(select(OutboxMessage).where(col(OutboxMessage.state) == "failed")).one().id
    retried = runner.invoke(cli, [*base, "outbox", "--retry", str(failed_id)])
    assert "已将 1 条" in retried.output
    _sweep(demo, at(D(2026, 1, 26), 10))
    assert sink.to("m05@example.org")


def test_a_digest_is_addressed_to_the_members_name_and_the_outbox_shows_it(
    demo: App, smtp: tuple[MailSink, Controller]
) -> None:
    """The outbox row keeps the recipient's display name: the email's To: shows the person, not the member id,
    and `outbox` lists 姓名（编号）."""
    sink, _ = smtp
    _sweep(demo, at(D(2026, 1, 26)))
    with session_scope(demo.engine) as session:
        row = session.exec(select(OutboxMessage).where(col(OutboxMessage.recipient) == "m04")).first()
        assert row is not None
        name = row.recipient_name
    assert name == NAMES[3]  # m04
    [received] = sink.to("m04@example.org")
    to = received.message["To"]
    assert to.addresses[0].display_name == name and to.addresses[0].addr_spec == "m04@example.org"
    listing = CliRunner().invoke(cli, ["--config", str(demo.config_path), "--db", str(demo.db_url), "outbox"])
    assert f"{name}（m04）" in listing.output and "邮件" in listing.output
