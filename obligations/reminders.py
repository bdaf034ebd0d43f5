"""Reminders: the sweep that turns due escalation steps into digests in the outbox, and their delivery.

A sweep at an instant `now`:

1. does nothing outside office hours on working days (a step that comes due at night or on a holiday waits
   for the next working morning);
2. in ONE transaction: finds the open tasks whose next step has come (by the `remind_on` index only),
   records one reminder per (task, step, recipient, deadline) — only the latest step a task has reached, so
   that after downtime nobody gets a burst of stale ones — and groups every new reminder of a person into
   one digest per channel in the outbox; permanent failures since the last sweep are added to the digest
   of the organization's secretary;
3. delivers: each message is claimed atomically before it is sent (a conditional UPDATE, and on PostgreSQL
   `FOR UPDATE SKIP LOCKED`), every attempt is recorded, temporary failures are retried with backoff and
   jitter, permanent ones are marked failed. A crash after sending but before recording resends at most that
   message (its claim expires); a crash before sending loses nothing (the message is still in the outbox).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Profile
from notifiers.base import Channel, DeliveryError, Message, Recipient
from notifiers.render import render_digest
from notifiers.retry import retry_delay, should_retry
from obligations import escalation
from obligations.db import session_scope
from obligations.models import (
    DeliveryAttempt,
    Member,
    Organization,
    OutboxItem,
    OutboxMessage,
    PlanState,
    Position,
    Reminder,
    Sweep,
    Task,
)

log = logging.getLogger("obligations.reminders")

NO_ADDRESS = "none"  # the pseudo-channel of a person who can be reached on no configured channel


@dataclass(frozen=True)
class Settings:
    office_hours: escalation.OfficeHours
    channels: tuple[str, ...]  # in order of preference, e.g. ("email", "wecom")
    max_attempts: int = 8
    retry_base: float = 60.0
    retry_cap: float = 3600.0
    claim_lease: dt.timedelta = dt.timedelta(minutes=10)
    templates: Path | None = None


@dataclass
class SweepResult:
    as_of: dt.datetime
    skipped: str | None = None  # why nothing was done (outside office hours)
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    planned: list[PlannedMessage] = field(default_factory=list)  # for --dry-run


@dataclass(frozen=True)
class PlannedMessage:
    recipient: str
    recipient_name: str
    channel: str
    address: str
    subject: str
    text: str
    items: int


# ---------------------------------------------------------------------------------------------------
# Planning: due steps -> reminders -> digests


def plan_messages(
    session: Session,
    profiles: Mapping[str, Profile],
    now: dt.datetime,
    settings: Settings,
    *,
    command: Callable[[int], str] = lambda task_id: f"obligations done {task_id} --on YYYY-MM-DD",
) -> SweepResult:
    """Steps 1–2 of the sweep, inside the caller's transaction (roll it back for a dry run)."""
    result = SweepResult(as_of=now)
    if not settings.office_hours.is_open(now):
        opening = settings.office_hours.next_opening(now)
        result.skipped = (
            f"非办公时间，提醒将于 {opening.astimezone(escalation.PARTY_TIME):%Y-%m-%d %H:%M} 后发送"
        )
        return result
    _serialize(session)
    today = now.astimezone(escalation.PARTY_TIME).date()
    tasks = list(
        session.exec(
            select(Task).where(
                col(Task.status) == "open", col(Task.remind_on).is_not(None), col(Task.remind_on) <= today
            )
        )
    )
    if not tasks and not _has_unreported_failures(session):
        return result  # the common case: one indexed probe, whatever the number of tasks
    registry = _Registry.load(session)
    new: list[tuple[Reminder, Task]] = []
    moves: list[dict[str, Any]] = []
    for task in tasks:
        org = registry.orgs.get(task.org)
        profile = profiles.get(org.effective_profile) if org else None
        rule = profile.rules.get(task.rule) if profile else None
        if rule is None:
            moves.append({"id": task.id, "remind_on": None})
            continue
        reached = escalation.current_step(rule, task.due, today)
        moves.append({"id": task.id, "remind_on": escalation.next_remind_on(rule, task.due, today)})
        if reached is None:
            continue
        step, _day = reached
        for receiver in registry.seats.receivers(task.org, task.responsible, task.subject, step.notify):
            if receiver.member in registry.members:
                new.append(
                    (
                        Reminder(
                            task_id=task.id or 0,
                            step=step.name,
                            recipient=receiver.member,
                            due=task.due,
                            note=receiver.note or None,
                            created_at=now,
                        ),
                        task,
                    )
                )
    if moves:
        session.execute(update(Task), moves)
    created = _insert_new(session, [reminder for reminder, _ in new])
    result.reminders = len(created)
    tasks_by_id = {task.id: task for _, task in new}
    by_recipient: dict[str, list[Reminder]] = defaultdict(list)
    for reminder in created:
        by_recipient[reminder.recipient].append(reminder)
    failures = _unreported_failures(session, registry)
    recipients = sorted(set(by_recipient) | set(failures))
    pending: list[tuple[dict[str, Any], list[Reminder]]] = []
    for member_id in recipients:
        member = registry.members[member_id]
        reminders = sorted(
            by_recipient.get(member_id, []), key=lambda r: (tasks_by_id[r.task_id].due, r.task_id)
        )
        context = _context(
            member, reminders, tasks_by_id, registry, profiles, failures.get(member_id, []), today, command
        )
        rendered = render_digest(context, user_folder=settings.templates)
        for channel, address in _addresses(member, settings.channels):
            row = {
                "recipient": member_id,
                "channel": channel,
                "address": address,
                "subject": rendered.subject,
                "text": rendered.text,
                "html": rendered.html,
                "markdown": rendered.markdown,
                "mention_mobiles": member.mobile if channel == "wecom" and member.mobile else None,
                "state": "failed" if channel == NO_ADDRESS else "pending",
                "attempts": 0,
                "last_error": "无可用的联系方式（邮箱或企业微信），无法送达"
                if channel == NO_ADDRESS
                else None,
                "failure_reported": False,
                "next_attempt_at": now,
                "created_at": now,
            }
            pending.append((row, reminders))
            result.planned.append(
                PlannedMessage(
                    member_id, member.name, channel, address, rendered.subject, rendered.text, len(reminders)
                )
            )
    # Digests and their items in bulk: a city-wide sweep writes tens of thousands of them.
    for start in range(0, len(pending), 1000):
        chunk = pending[start : start + 1000]
        ids = session.scalars(
            insert(OutboxMessage).returning(col(OutboxMessage.id), sort_by_parameter_order=True),
            [row for row, _ in chunk],
        ).all()
        items = [
            {"message_id": message_id, "reminder_id": reminder.id}
            for message_id, (_, reminders) in zip(ids, chunk, strict=True)
            for reminder in reminders
        ]
        for offset in range(0, len(items), 5000):
            session.execute(insert(OutboxItem), items[offset : offset + 5000])
    result.messages = len(pending)
    reported = [
        message_id for items in failures.values() for item in items for message_id in [item["message_id"]]
    ]
    if reported:
        session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(reported)).values(failure_reported=True)
        )
    session.flush()
    return result


def _serialize(session: Session) -> None:
    """One sweep plans at a time: a no-op write takes SQLite's write lock and PostgreSQL's row lock on the
    plan state, so that two daemons never split a person's reminders into two digests."""
    if session.get(PlanState, 1) is None:
        session.add(PlanState(id=1))
        session.flush()
    session.execute(
        update(PlanState).where(col(PlanState.id) == 1).values(registry_version=PlanState.registry_version)
    )


def _insert_new(session: Session, reminders: Sequence[Reminder]) -> list[Reminder]:
    """Insert the reminders not recorded yet; returns them with their ids (idempotent on the unique key)."""
    if not reminders:
        return []
    dialect = session.connection().dialect.name
    rows = [
        {
            "task_id": r.task_id,
            "step": r.step,
            "recipient": r.recipient,
            "due": r.due,
            "note": r.note,
            "created_at": r.created_at,
        }
        for r in reminders
    ]
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    wanted = {(r.task_id, r.step, r.recipient): r for r in reminders}
    created: list[Reminder] = []
    for start in range(0, len(rows), 500):
        statement = (
            upsert(Reminder)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["task_id", "step", "recipient", "due"])
            .returning(col(Reminder.id), col(Reminder.task_id), col(Reminder.step), col(Reminder.recipient))
        )
        for row in session.execute(statement):
            reminder = wanted[(row.task_id, row.step, row.recipient)]
            reminder.id = row.id
            created.append(reminder)
    return created


def _addresses(member: Member, channels: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for channel in channels:
        if channel == "email" and member.email:
            found.append(("email", member.email))
        elif channel == "wecom" and (member.wecom or member.mobile):
            found.append(("wecom", member.wecom or member.mobile or ""))
        elif channel == "console":
            found.append(("console", member.name))
    return found or [(NO_ADDRESS, "")]


@dataclass
class _Registry:
    orgs: dict[str, Organization]
    members: dict[str, Member]
    seats: escalation.Seats

    @classmethod
    def load(cls, session: Session) -> _Registry:
        orgs = {org.code: org for org in session.exec(select(Organization))}
        holders = {
            (position.org, position.role): position.member
            for position in session.exec(select(Position).where(col(Position.member).is_not(None)))
            if position.member
        }
        seats = escalation.Seats(
            {code: escalation.Seat(code, org.name, org.parent) for code, org in orgs.items()}, holders
        )
        members = {
            member.id: member for member in session.exec(select(Member).where(col(Member.active).is_(True)))
        }
        return cls(orgs, members, seats)


def _has_unreported_failures(session: Session) -> bool:
    probe = select(col(OutboxMessage.id)).where(
        col(OutboxMessage.state) == "failed", col(OutboxMessage.failure_reported).is_(False)
    )
    return session.exec(probe.limit(1)).first() is not None


def _unreported_failures(session: Session, registry: _Registry) -> dict[str, list[dict[str, Any]]]:
    """Permanent failures not yet told, keyed by the secretary who should hear of them."""
    rows = session.exec(
        select(OutboxMessage).where(
            col(OutboxMessage.state) == "failed", col(OutboxMessage.failure_reported).is_(False)
        )
    ).all()
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for message in rows:
        member = registry.members.get(message.recipient)
        if member is None:
            continue
        secretary = registry.seats.holder(member.org, "secretary")
        if secretary is None or secretary.member not in registry.members:
            continue
        found[secretary.member].append(
            {
                "message_id": message.id,
                "recipient_name": member.name,
                "channel": _CHANNEL_LABELS.get(message.channel, message.channel),
                "reason": message.last_error or "",
                "title": message.subject,
                "org_name": registry.orgs[member.org].name if member.org in registry.orgs else member.org,
            }
        )
    return found


_CHANNEL_LABELS = {"email": "邮件", "wecom": "企业微信", "console": "控制台", NO_ADDRESS: "无联系方式"}


def _context(
    member: Member,
    reminders: Sequence[Reminder],
    tasks: Mapping[int | None, Task],
    registry: _Registry,
    profiles: Mapping[str, Profile],
    failures: Sequence[Mapping[str, Any]],
    today: dt.date,
    command: Callable[[int], str],
) -> dict[str, Any]:
    items = []
    for reminder in reminders:
        task = tasks[reminder.task_id]
        org = registry.orgs[task.org]
        rule = profiles[org.effective_profile].rules.get(task.rule)
        assignee = registry.members.get(task.assignee or "")
        items.append(
            {
                "org_name": org.name,
                "org_code": org.code,
                "title": rule.title if rule else task.rule,
                "rule": task.rule,
                "period": period_label(task.period),
                "due": task.due,
                "days_left": (task.due - today).days,
                "step": reminder.step,
                "clause": rule.source if rule else "",
                "command": command(task.id or 0),
                "assignee_name": assignee.name if assignee else "",
                "fallback_note": reminder.note or "",
                # The person who owes the duty acts; everyone else on the ladder supervises (督促).
                "role": "responsible"
                if reminder.recipient in (task.assignee, task.subject)
                else "supervisor",
            }
        )
    return {"recipient": {"name": member.name}, "as_of": today, "items": items, "failures": list(failures)}


# ---------------------------------------------------------------------------------------------------
# Delivery


def release_stale_claims(session: Session, now: dt.datetime, lease: dt.timedelta) -> int:
    """Messages claimed by a process that died mid-send go back to the outbox (sent at most once more)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_at) < now - lease)
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(engine: Engine, now: dt.datetime, worker: str, limit: int = 50) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this worker; each is claimed by exactly one worker."""
    with session_scope(engine) as session:
        due = (
            select(col(OutboxMessage.id))
            .where(col(OutboxMessage.state) == "pending", col(OutboxMessage.next_attempt_at) <= now)
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
        )
        if session.connection().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.exec(due))
        claimed: list[int] = []
        for message_id in ids:
            result = session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.state) == "pending")
                .values(state="sending", claimed_at=now, claimed_by=worker)
            )
            if getattr(result, "rowcount", 0) == 1 and message_id is not None:
                claimed.append(message_id)
        if not claimed:
            return []
        return list(
            session.exec(
                select(OutboxMessage)
                .where(col(OutboxMessage.id).in_(claimed))
                .order_by(col(OutboxMessage.id))
            )
        )


async def deliver(
    engine: Engine,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    settings: Settings,
    *,
    worker: str,
    rng: random.Random,
    stop: asyncio.Event | None = None,
    after_send: Callable[[OutboxMessage], None] | None = None,
) -> tuple[int, int, int]:
    """Send every due message (only in office hours); returns (sent, retried, failed)."""
    sent = retried = failed = 0
    if not settings.office_hours.is_open(now):
        return sent, retried, failed
    with session_scope(engine) as session:
        released = release_stale_claims(session, now, settings.claim_lease)
        if released:
            log.warning("released %d stale claims", released)
    while stop is None or not stop.is_set():
        batch = claim(engine, now, worker)
        if not batch:
            break
        with Session(engine) as session:
            for message in batch:
                outcome = await _send_one(message, channels)
                if after_send is not None:
                    after_send(message)
                # Recorded and committed before the next send: a crash resends at most this one message.
                kind = _record(session, message, outcome, now, settings, rng)
                session.commit()
                sent += kind == "sent"
                retried += kind == "retry"
                failed += kind == "failed"
                if stop is not None and stop.is_set():
                    break
    return sent, retried, failed


@dataclass(frozen=True)
class _Outcome:
    duration_ms: float
    error: DeliveryError | None
    address: str


async def _send_one(message: OutboxMessage, channels: Mapping[str, Channel]) -> _Outcome:
    channel = channels.get(message.channel)
    if channel is None:
        error = DeliveryError(f"渠道 {message.channel} 未配置", permanent=True)
        return _Outcome(0.0, error, message.address)
    member = Recipient(name=message.recipient, email=message.address if message.channel == "email" else None,
                       wecom=message.address if message.channel == "wecom" else None,
                       mobile=message.mention_mobiles)  # fmt: skip
    outgoing = Message(
        key=f"obligations-{message.id}",
        recipient=member,
        subject=message.subject,
        text=message.text,
        html=message.html,
        markdown=message.markdown,
        mention_mobiles=tuple(filter(None, (message.mention_mobiles or "").split(","))),
    )
    try:
        delivery = await channel.send(outgoing)
    except DeliveryError as error:
        return _Outcome(0.0, error, message.address)
    except Exception as error:  # a bug in a channel must not kill the sweep: retry, and log it
        log.exception("channel %s raised unexpectedly for message %s", message.channel, message.id)
        return _Outcome(
            0.0, DeliveryError(f"unexpected {type(error).__name__}", permanent=False), message.address
        )
    return _Outcome(delivery.duration_ms, None, delivery.address)


def _record(
    session: Session,
    message: OutboxMessage,
    outcome: _Outcome,
    now: dt.datetime,
    settings: Settings,
    rng: random.Random,
) -> str:
    attempts = message.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_at": None, "claimed_by": None}
    error = outcome.error
    if error is None:
        # The sweep's instant, not the channel's wall clock: a replayed sweep (remind --as-of) stays coherent.
        values.update(state="sent", sent_at=now, last_error=None)
        kind, label = "sent", "sent"
    elif not error.permanent and should_retry(error, attempts, settings.max_attempts):
        delay = retry_delay(error, attempts, base=settings.retry_base, cap=settings.retry_cap, rng=rng)
        values.update(
            state="pending", next_attempt_at=now + dt.timedelta(seconds=delay), last_error=str(error)[:500]
        )
        kind, label = "retry", "temporary"
    else:
        values.update(state="failed", last_error=str(error)[:500])
        kind, label = "failed", "permanent" if error.permanent else "temporary"
    session.execute(
        insert(DeliveryAttempt).values(
            message_id=message.id or 0,
            started_at=now,
            channel=message.channel,
            address=outcome.address,
            outcome=label,
            error=None if error is None else str(error)[:500],
            duration_ms=outcome.duration_ms,
        )
    )
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.state) == "sending")
        .values(**values)
    )
    log.info("message %s to %s via %s: %s", message.id, message.recipient, message.channel, kind)
    return kind


# ---------------------------------------------------------------------------------------------------
# The whole sweep


async def sweep(
    engine: Engine,
    profiles: Mapping[str, Profile],
    channels: Mapping[str, Channel],
    now: dt.datetime,
    settings: Settings,
    *,
    worker: str,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
) -> SweepResult:
    with session_scope(engine) as session:
        log_row = Sweep(started_at=now, as_of=now)
        session.add(log_row)
        session.flush()
        sweep_id = log_row.id
    try:
        with session_scope(engine) as session:
            result = plan_messages(session, profiles, now, settings)
        sent, retried, failed = await deliver(
            engine, channels, now, settings, worker=worker, rng=rng or random.Random(), stop=stop
        )
        result.sent, result.retried, result.failed = sent, retried, failed
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(engine) as session:
            session.execute(
                update(Sweep).where(col(Sweep.id) == sweep_id).values(error=error, finished_at=now)
            )
        raise
    with session_scope(engine) as session:
        session.execute(
            update(Sweep)
            .where(col(Sweep.id) == sweep_id)
            .values(
                finished_at=now,
                reminders=result.reminders,
                messages=result.messages,
                sent=result.sent,
                failed=result.failed,
            )
        )
    return result


def outbox_counts(session: Session) -> dict[str, int]:
    return {
        state: int(count)
        for state, count in session.execute(
            select(col(OutboxMessage.state), func.count()).group_by(col(OutboxMessage.state))
        )
    }


def retry_failed(session: Session, message_id: int | None = None) -> int:
    """Put failed messages (one, or all) back in the outbox: the next sweep sends them, whatever its instant."""
    # A person with no address cannot be helped by retrying: fix the registry instead.
    condition = and_(col(OutboxMessage.state) == "failed", col(OutboxMessage.channel) != NO_ADDRESS)
    if message_id is not None:
        condition = and_(condition, col(OutboxMessage.id) == message_id)
    result = session.execute(
        update(OutboxMessage)
        .where(condition)
        .values(state="pending", attempts=0, next_attempt_at=OutboxMessage.created_at, failure_reported=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
