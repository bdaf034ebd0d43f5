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
   message (its claim expires; at once if the claiming process, on this host, is gone); a crash before sending
   loses nothing (the message is still in the outbox).

A sweep asked to stop (SIGTERM) stops between chunks of planning (rolling the plan back: the next sweep plans
it again) and between sends (the message in flight is sent and recorded; the rest stay queued).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, func, insert, or_, true, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import sqlite
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Profile, Rule, step_label
from notifiers.base import Channel, DeliveryError, Message, Recipient, TextCard
from notifiers.render import TemplateFailure, render_digest
from notifiers.retry import retry_delay, should_retry
from obligations import escalation, history, roster
from obligations.db import chunks, session_scope
from obligations.links import Linker, linker
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
    digest_items: int = 50  # items a digest lists one by one; the rest are counted
    public_url: str = ""  # the desk's address: every item then carries its signed link (obligations/links.py)


@dataclass
class SweepResult:
    as_of: dt.datetime
    skipped: str | None = None  # why nothing was done (outside office hours)
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    stopped: bool = False  # asked to stop before the work was done; what is left stays queued
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
    preview: bool = False,
    stop: Callable[[], bool] = lambda: False,
) -> SweepResult:
    """Steps 1–2 of the sweep, inside the caller's transaction (roll it back for a dry run).

    Works in bounded memory whatever the size of the sweep: due tasks are streamed in chunks and their
    reminders written with a `pending` mark; digests are then built for a few hundred recipients at a time,
    from their pending reminders; the marks are cleared before the transaction ends. `preview` keeps what is planned in
    `result.planned` (for `remind --dry-run`). `stop` is asked between chunks: when it answers yes, `Stopped`
    is raised and the caller rolls the transaction back."""
    result = SweepResult(as_of=now)
    if not settings.office_hours.is_open(now):
        opening = settings.office_hours.next_opening(now)
        result.skipped = (
            f"非办公时间，提醒将于 {opening.astimezone(escalation.PARTY_TIME):%Y-%m-%d %H:%M} 后发送"
        )
        return result
    _serialize(session)
    today = now.astimezone(escalation.PARTY_TIME).date()
    if not _has_due_tasks(session, today) and not _has_unreported_failures(session):
        return result  # the common case: one indexed probe, whatever the number of tasks
    registry = _Registry.load(session, profiles)
    result.reminders = _record_reminders(session, registry, today, now, stop)
    failures, untold = _unreported_failures(session, registry)
    desk_links = linker(session, settings.public_url, now)
    writer = _DigestWriter(session, registry, today, now, settings, command, preview, result, desk_links)
    writer.reported.extend(untold)
    # Recipients in order, a chunk at a time, each chunk starting after the last (an index seek, whatever
    # is behind it); the pending marks are cleared at the end, in one statement.
    pending = _pending()
    recipients: list[str] = []
    while recipients := list(
        session.exec(
            select(col(Reminder.recipient))
            .where(pending, col(Reminder.recipient) > (recipients[-1] if recipients else ""))
            .distinct()
            .order_by(col(Reminder.recipient))
            .limit(RECIPIENTS_PER_CHUNK)
        )
    ):
        _check(stop)
        writer.write(recipients, failures)
    session.execute(update(Reminder).where(pending).values(pending=False))
    for told in chunks(sorted(failures), RECIPIENTS_PER_CHUNK):  # secretaries told of failures only
        writer.write(told, failures)
    for reported in chunks(writer.reported, 1000):
        session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(reported)).values(failure_reported=True)
        )
    session.flush()
    return result


TASKS_PER_CHUNK = 5000
RECIPIENTS_PER_CHUNK = 500


class Stopped(Exception):
    """Planning was asked to stop (SIGTERM): the caller rolls its transaction back."""


def _check(stop: Callable[[], bool]) -> None:
    if stop():
        raise Stopped


def _has_due_tasks(session: Session, today: dt.date) -> bool:
    return session.exec(_due_tasks(today, select(col(Task.id))).limit(1)).first() is not None


def _due_tasks(today: dt.date, query: Any) -> Any:
    return query.where(
        col(Task.status) == "open", col(Task.remind_on).is_not(None), col(Task.remind_on) <= today
    )


def _record_reminders(
    session: Session, registry: _Registry, today: dt.date, now: dt.datetime, stop: Callable[[], bool]
) -> int:
    """Phase 1: a reminder for every receiver of the latest step each due task has reached, marked pending;
    then each task's `remind_on` moves past today (or to None).

    The due tasks are read in one streamed pass and their new `remind_on` applied after it, not chunk by
    chunk with a fresh query each time: on PostgreSQL the index entries of rows updated earlier in the same
    transaction stay behind, and every fresh query would scan them all again."""
    query = _due_tasks(
        today,
        sa_select(
            col(Task.id),
            col(Task.org),
            col(Task.rule),
            col(Task.subject),
            col(Task.responsible),
            col(Task.due),
            col(Task.period_start),
            func.coalesce(col(Task.original_due), col(Task.due)),
        ),
    ).execution_options(yield_per=TASKS_PER_CHUNK)
    moves: dict[dt.date | None, array[int]] = defaultdict(lambda: array("q"))  # 8 bytes a task
    created = 0
    for batch in session.execute(query).partitions():
        _check(stop)
        rows: list[dict[str, Any]] = []
        for task_id, org, rule_id, subject, responsible, due, period_start, owed_on in batch:
            rule = registry.rule(org, rule_id, period_start, owed_on)
            if rule is None:
                moves[None].append(task_id)
                continue
            moves[escalation.next_remind_on(rule, due, today)].append(task_id)
            reached = escalation.current_step(rule, due, today)
            if reached is None:
                continue
            step = reached[0]
            for receiver in registry.seats.receivers(org, responsible, subject, step.notify):
                if receiver.member in registry.active:
                    rows.append(
                        {
                            "task_id": task_id,
                            "step": step.name,
                            "recipient": receiver.member,
                            "due": due,
                            "note": receiver.note or None,
                            "created_at": now,
                            "pending": True,
                        }
                    )
        created += _insert_new(session, rows)
    for remind_on, ids in moves.items():
        for part in chunks(ids, 1000):
            session.execute(update(Task).where(col(Task.id).in_(list(part))).values(remind_on=remind_on))
    return created


def _insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Insert the reminders not recorded yet (idempotent on the unique key); returns how many were new.

    SQLite: one statement executed with many parameter sets, through Core, which SQLAlchemy batches into
    multi-row INSERT … RETURNING ("insertmanyvalues") and compiles once. PostgreSQL: see `_insert_new_by_copy`."""
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _insert_new_by_copy(connection, rows)
    table = Reminder.__table__  # type: ignore[attr-defined]
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["task_id", "step", "recipient", "due"])
        .returning(table.c.id)
    )
    return len(connection.execute(statement, list(rows)).all())


_STAGED = ("task_id", "step", "recipient", "due", "note", "created_at")


def _insert_new_by_copy(connection: Connection, rows: Sequence[dict[str, Any]]) -> int:
    """PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING. psycopg
    parses every long multi-row INSERT anew, which cost more than the inserts themselves."""
    raw = connection.connection.driver_connection
    assert raw is not None
    columns = ", ".join(_STAGED)
    with raw.cursor() as cursor:
        cursor.execute(  # the columns of reminder, exactly; emptied by every commit or rollback
            f"CREATE TEMP TABLE IF NOT EXISTS reminder_stage ON COMMIT DELETE ROWS"
            f" AS SELECT {columns} FROM reminder WITH NO DATA"
        )
        with cursor.copy(f"COPY reminder_stage ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name in _STAGED))
        cursor.execute(
            f"INSERT INTO reminder ({columns}, pending) SELECT {columns}, true FROM reminder_stage"
            " ON CONFLICT (task_id, step, recipient, due) DO NOTHING"
        )
        created: int = cursor.rowcount
        cursor.execute("TRUNCATE reminder_stage")
    return created


@dataclass(frozen=True)
class _Person:
    id: str
    name: str
    org: str
    email: str | None
    wecom: str | None
    mobile: str | None


def _addresses(person: _Person, channels: Sequence[str]) -> list[tuple[str, str]]:
    found = []
    for channel in channels:
        if channel == "email" and person.email:
            found.append(("email", person.email))
        elif channel == "wecom" and (person.wecom or person.mobile):
            found.append(("wecom", person.wecom or person.mobile or ""))
        elif channel == "console":
            found.append(("console", person.name))
    return found or [(NO_ADDRESS, "")]


@dataclass(frozen=True)
class _Org:
    name: str
    profile: str


@dataclass
class _Registry:
    """What the sweep needs of the registry, as plain values: organizations, seats, who is active. People's
    names and addresses are read per chunk of recipients (`people`)."""

    orgs: dict[str, _Org]
    seats: escalation.Seats
    active: set[str]
    profiles: Mapping[str, Profile]
    # The profiles of the organizations whose profile changed (few): their tasks are reminded under the
    # profile of their date, the others' under the present one.
    calendars: dict[str, history.Calendars]
    _seats_of: dict[str, list[str]] | None = None  # member -> the organizations where they hold a seat

    @classmethod
    def load(cls, session: Session, profiles: Mapping[str, Profile]) -> _Registry:
        rows = session.execute(
            sa_select(
                col(Organization.code),
                col(Organization.name),
                col(Organization.parent),
                col(Organization.effective_profile),
                col(Organization.kind),
            )
        ).all()
        holders = {
            (org, role): member
            for org, role, member in session.execute(
                select(col(Position.org), col(Position.role), col(Position.member)).where(
                    col(Position.member).is_not(None)
                )
            )
            if member
        }
        seats = roster.seats(((code, name, kind, parent) for code, name, parent, _, kind in rows), holders)
        active = set(session.scalars(select(col(Member.id)).where(col(Member.active).is_(True))))
        orgs = {code: _Org(name, profile) for code, name, _, profile, _ in rows}
        calendars = history.changed_calendars(session, profiles)
        return cls(orgs, seats, active, profiles, calendars)

    def rule(self, org: str, rule_id: str, period_start: dt.date, owed_on: dt.date) -> Rule | None:
        """The rule a task of `org` was owed under (`owed_on`: its original due date)."""
        if org in self.calendars:
            return history.owed_rule(self.calendars[org], rule_id, period_start, owed_on)
        found = self.orgs.get(org)
        profile = self.profiles.get(found.profile) if found else None
        return profile.rules.get(rule_id) if profile else None

    def org_name(self, code: str) -> str:
        found = self.orgs.get(code)
        return found.name if found else code

    def people(self, session: Session, ids: Iterable[str]) -> dict[str, _Person]:
        wanted = sorted({person for person in ids if person})
        found: dict[str, _Person] = {}
        for part in chunks(wanted, 1000):
            for row in session.execute(
                sa_select(
                    col(Member.id),
                    col(Member.name),
                    col(Member.org),
                    col(Member.email),
                    col(Member.wecom),
                    col(Member.mobile),
                ).where(col(Member.id).in_(part))
            ):
                found[row[0]] = _Person(*row)
        return found

    def top_seat(self, member: str) -> str | None:
        """The highest organization where `member` holds a seat: the subtree a supervisor answers for."""
        if self._seats_of is None:
            self._seats_of = defaultdict(list)
            for (org, _role), holder in self.seats.holders.items():
                self._seats_of[holder].append(org)
        seats = self._seats_of.get(member)
        return min(seats, key=self._depth) if seats else None

    def _depth(self, code: str) -> tuple[int, str]:
        depth, seat = 0, self.seats.orgs.get(code)
        while seat is not None and seat.parent:
            depth += 1
            seat = self.seats.orgs.get(seat.parent)
        return depth, code


@dataclass
class _DigestWriter:
    """Phase 2: one digest per person per channel for a chunk of recipients, from their pending reminders.

    A digest lists at most `settings.digest_items` routine items — the person's own duties first, then what
    they supervise, most pressing first — and counts the rest (a city secretary's escalations can run to
    thousands); terms and vacancies (换届, 空缺补齐: standing obligations, and the forward-looking 换届
    notices of 换届提醒督促制度) are always listed, whatever the cap. Every reminder, listed or counted, is
    linked to the digest."""

    session: Session
    registry: _Registry
    today: dt.date
    now: dt.datetime
    settings: Settings
    command: Callable[[int], str]
    preview: bool
    result: SweepResult
    linker: Linker | None  # None: the desk has no public address, items carry the command instead
    reported: list[int] = field(default_factory=list)  # failed messages told of in this sweep (or untellable)

    def write(self, recipients: Sequence[str], failures: dict[str, list[dict[str, Any]]]) -> None:
        listed = self._listed(recipients)
        totals = self._totals(recipients)
        people = self.registry.people(
            self.session,
            [
                *recipients,
                *(row.assignee for rows in listed.values() for row in rows),
                *(row.subject for rows in listed.values() for row in rows if row.subject_kind != "org"),
            ],
        )
        messages: list[dict[str, Any]] = []
        for member_id in recipients:
            person = people.get(member_id)
            if person is None:
                continue
            told = failures.pop(member_id, [])
            self.reported.extend(failure["message_id"] for failure in told)
            context = self._context(person, listed.get(member_id, []), totals.get(member_id), told, people)
            rendered, failure = self._render(member_id, context)
            count = sum(totals.get(member_id, {}).values())
            for channel, address in _addresses(person, self.settings.channels):
                messages.append(self._row(person, channel, address, rendered, failure))
                if self.preview:
                    self.result.planned.append(
                        PlannedMessage(
                            member_id, person.name, channel, address, rendered.subject, rendered.text, count
                        )
                    )
        if not messages:
            return
        ids = self.session.scalars(
            insert(OutboxMessage).returning(col(OutboxMessage.id), sort_by_parameter_order=True), messages
        ).all()
        self.result.messages += len(ids)
        # Every pending reminder of each recipient goes into each of their digests, in SQL: a digest's items
        # never pass through Python, however many there are.
        message = OutboxMessage.__table__.alias("message")  # type: ignore[attr-defined]
        reminder = Reminder.__table__  # type: ignore[attr-defined]
        for part in chunks(list(ids), 1000):
            self.session.execute(
                insert(OutboxItem).from_select(
                    ["message_id", "reminder_id"],
                    select(message.c.id, reminder.c.id)
                    .select_from(message)
                    .join(reminder, reminder.c.recipient == message.c.recipient)
                    .where(message.c.id.in_(part), _pending()),
                )
            )

    def _render(self, member_id: str, context: Mapping[str, Any]) -> tuple[Any, str | None]:
        """The digest, and why the user templates could not render it (None when they could).

        A user template that fails on one person's data fails that digest only: it goes to the outbox as
        failed, with the reason (reported to the secretary like any failed message), holding the digest in
        the shipped templates — what `outbox --retry` sends — and the sweep goes on."""
        try:
            return render_digest(context, user_folder=self.settings.templates), None
        except TemplateFailure as failure:
            log.warning("digest for %s not rendered: %s: %s", member_id, failure.template, failure.reason)
            return render_digest(context), str(failure)[:500]

    def _listed(self, recipients: Sequence[str]) -> dict[str, list[Any]]:
        """The reminders each recipient's digest lists: own duties first, then by due date, capped; terms and
        vacancies always."""
        own = _own_flag()
        standing = _standing_flag()
        rank = (
            func.row_number()
            .over(
                partition_by=col(Reminder.recipient),
                order_by=(own.desc(), col(Task.due), col(Task.id), col(Reminder.id)),
            )
            .label("rank")
        )
        ranked = (
            sa_select(
                col(Reminder.recipient).label("recipient"),
                col(Reminder.step).label("step"),
                col(Reminder.note).label("note"),
                col(Task.id).label("task_id"),
                col(Task.org).label("org"),
                col(Task.rule).label("rule"),
                col(Task.subject).label("subject"),
                col(Task.subject_kind).label("subject_kind"),
                col(Task.period).label("period"),
                col(Task.due).label("due"),
                col(Task.period_start).label("period_start"),
                func.coalesce(col(Task.original_due), col(Task.due)).label("owed_on"),
                col(Task.assignee).label("assignee"),
                own.label("own"),
                standing.label("standing"),
                rank,
            )
            .join(Task, col(Task.id) == col(Reminder.task_id))
            .where(_pending(), col(Reminder.recipient).in_(recipients))
            .subquery()
        )
        listed: dict[str, list[Any]] = defaultdict(list)
        cap = or_(ranked.c.rank <= self.settings.digest_items, ranked.c.standing == 1)
        for row in self.session.execute(sa_select(ranked).where(cap)):
            listed[row.recipient].append(row)
        return listed

    def _totals(self, recipients: Sequence[str]) -> dict[str, dict[tuple[bool, bool], int]]:
        """How many pending reminders each recipient has, by (own duty, overdue)."""
        own = _own_flag()
        overdue = case((col(Task.due) < self.today, 1), else_=0)
        counts: dict[str, dict[tuple[bool, bool], int]] = defaultdict(dict)
        for recipient, is_own, is_overdue, count in self.session.execute(
            select(col(Reminder.recipient), own, overdue, func.count())
            .join(Task, col(Task.id) == col(Reminder.task_id))
            .where(_pending(), col(Reminder.recipient).in_(recipients))
            .group_by(col(Reminder.recipient), own, overdue)
        ):
            counts[recipient][(bool(is_own), bool(is_overdue))] = int(count)
        return counts

    def _context(
        self,
        person: _Person,
        rows: Sequence[Any],
        totals: Mapping[tuple[bool, bool], int] | None,
        failures: Sequence[Mapping[str, Any]],
        people: Mapping[str, _Person],
    ) -> dict[str, Any]:
        items = []
        for row in rows:
            rule = self.registry.rule(row.org, row.rule, row.period_start, row.owed_on)
            assignee = people.get(row.assignee or "")
            title = rule.title if rule else row.rule
            if row.subject_kind != "org":  # 党员政治生日·张三: a duty about one member names the member
                subject = people.get(row.subject)
                title = f"{title}·{subject.name if subject else row.subject}"
            items.append(
                {
                    "org_name": self.registry.org_name(row.org),
                    "org_code": row.org,
                    "title": title,
                    "rule": row.rule,
                    "period": period_label(row.period),
                    "due": row.due,
                    "days_left": (row.due - self.today).days,
                    "step": row.step,
                    "step_label": _step_label(rule, row.step),
                    "standing": bool(row.standing),
                    "clause": rule.citation if rule else "",
                    "command": self.command(row.task_id),
                    "link": self.linker.url(row.task_id, person.id) if self.linker else "",
                    "assignee_name": assignee.name if assignee else "",
                    "fallback_note": row.note or "",
                    # The person who owes the duty acts; everyone else on the ladder supervises (督促).
                    "role": "responsible" if row.own else "supervisor",
                }
            )
        context: dict[str, Any] = {
            "recipient": {"name": person.name},
            "as_of": self.today,
            "items": items,
            "failures": list(failures),
        }
        if self.linker is not None:
            context["desk_url"] = self.linker.home
        totals = totals or {}
        listed = {
            (own, overdue): sum(
                1 for row in rows if bool(row.own) == own and (row.due < self.today) == overdue
            )
            for own in (True, False)
            for overdue in (True, False)
        }
        if sum(totals.values()) > len(rows):
            top = self.registry.top_seat(person.id)
            context["omitted"] = {
                "own": sum(totals.get((True, o), 0) - listed[(True, o)] for o in (True, False)),
                "own_overdue": totals.get((True, True), 0) - listed[(True, True)],
                "supervised": sum(totals.get((False, o), 0) - listed[(False, o)] for o in (True, False)),
                "supervised_overdue": totals.get((False, True), 0) - listed[(False, True)],
                "command": f"obligations due --org {top}" if top else "obligations due",
            }
        return context

    def _row(
        self, person: _Person, channel: str, address: str, rendered: Any, failure: str | None
    ) -> dict[str, Any]:
        if channel == NO_ADDRESS:
            failure = "无可用的联系方式（邮箱或企业微信），无法送达"
        return {
            "recipient": person.id,
            "channel": channel,
            "address": address,
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "markdown": rendered.markdown,
            "mention_mobiles": person.mobile if channel == "wecom" and person.mobile else None,
            "card": json.dumps(rendered.card.to_json(), ensure_ascii=False)
            if channel == "wecom" and rendered.card
            else None,
            "state": "failed" if failure else "pending",
            "attempts": 0,
            "last_error": failure,
            "failure_reported": False,
            "next_attempt_at": self.now,
            "created_at": self.now,
        }


def _step_label(rule: Rule | None, step: str) -> str:
    """The step's Chinese name, as its ladder defines it (the same name `rules show` prints)."""
    if rule is not None:
        for ladder_step in rule.ladder.steps:
            if ladder_step.name == step:
                return ladder_step.label
    return step_label(step)


def _standing_flag() -> Any:
    """1 for a term or a vacancy (a 换届 or 空缺补齐 task): listed in every digest, never left to the count.
    Known by the period key's shape (`2023-11-20/P3Y`, `vacancy:…`), whatever the rule's id."""
    return case(
        (or_(col(Task.period).like("%/P%Y"), col(Task.period).like("vacancy:%")), 1),
        else_=0,
    )


def _pending() -> Any:
    """Written `pending = 1` on SQLite, as the partial index says, or SQLite would not use the index."""
    return col(Reminder.pending) == true()


def _own_flag() -> Any:
    """1 when the reminder's recipient owes the task (its assignee, or the member it is about)."""
    return case(
        (
            or_(
                col(Reminder.recipient) == col(Task.assignee),
                col(Reminder.recipient) == col(Task.subject),
            ),
            1,
        ),
        else_=0,
    )


def _serialize(session: Session) -> None:
    """One sweep plans at a time: a no-op write takes SQLite's write lock and PostgreSQL's row lock on the
    plan state, so that two daemons never split a person's reminders into two digests."""
    if session.get(PlanState, 1) is None:
        session.add(PlanState(id=1))
        session.flush()
    session.execute(
        update(PlanState).where(col(PlanState.id) == 1).values(registry_version=PlanState.registry_version)
    )


def _has_unreported_failures(session: Session) -> bool:
    probe = select(col(OutboxMessage.id)).where(
        col(OutboxMessage.state) == "failed", col(OutboxMessage.failure_reported).is_(False)
    )
    return session.exec(probe.limit(1)).first() is not None


def _unreported_failures(
    session: Session, registry: _Registry
) -> tuple[dict[str, list[dict[str, Any]]], list[int]]:
    """Permanent failures not yet told, keyed by the secretary who should hear of them; and those with nobody
    to tell (no active secretary), which are marked as reported all the same — `outbox --failed` still shows
    them — or every sweep after would load the registry to look for a secretary again."""
    rows = session.execute(
        sa_select(
            col(OutboxMessage.id),
            col(OutboxMessage.recipient),
            col(OutboxMessage.channel),
            col(OutboxMessage.last_error),
            col(OutboxMessage.subject),
        ).where(col(OutboxMessage.state) == "failed", col(OutboxMessage.failure_reported).is_(False))
    ).all()
    people = registry.people(session, [row.recipient for row in rows])
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    untold: list[int] = []
    for message_id, recipient, channel, last_error, subject in rows:
        person = people.get(recipient)
        if person is None:
            untold.append(message_id)
            continue
        secretary = registry.seats.holder(person.org, "secretary")
        if secretary is not None and secretary.member == person.id:
            # The secretary's own message failed: telling them on the same address would fail again, sweep
            # after sweep. The parent's secretary hears of it; up the tree, the chain ends at the root.
            parent = registry.seats.ancestor(person.org, 1)
            secretary = registry.seats.holder(parent, "secretary") if parent else None
        if secretary is None or secretary.member not in registry.active:
            untold.append(message_id)
            continue
        found[secretary.member].append(
            {
                "message_id": message_id,
                "recipient_name": person.name,
                "channel": channel,  # named in Chinese by the renderer (channel_label)
                "reason": last_error or "",
                "title": subject,
                "org_name": registry.org_name(person.org),
            }
        )
    return found, untold


# ---------------------------------------------------------------------------------------------------
# Delivery


def release_claims_of_gone_workers(session: Session, gone: Callable[[str], bool]) -> int:
    """Messages claimed by a process known to be dead (`gone(worker)`: on this host, its pid no longer runs)
    go back to the outbox at once, without waiting for the lease to expire."""
    claimants = session.exec(
        select(col(OutboxMessage.claimed_by)).where(col(OutboxMessage.state) == "sending").distinct()
    ).all()
    dead = [worker for worker in claimants if worker is not None and gone(worker)]
    if not dead:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_by).in_(dead))
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _release(engine: Engine, message_ids: Iterable[int], worker: str) -> None:
    """Put this worker's claimed but unsent messages back in the outbox (asked to stop, or a failure)."""
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(list(message_ids)),
                col(OutboxMessage.state) == "sending",
                col(OutboxMessage.claimed_by) == worker,
            )
            .values(state="pending", claimed_at=None, claimed_by=None)
        )


def release_stale_claims(session: Session, now: dt.datetime, lease: dt.timedelta) -> int:
    """Messages claimed by a process that died mid-send go back to the outbox (sent at most once more)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_at) < now - lease)
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(engine: Engine, now: dt.datetime, worker: str, limit: int = 50) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this worker, in one statement; each is claimed by exactly one
    worker (on PostgreSQL the candidates are locked with SKIP LOCKED; SQLite has one writer at a time)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        due = (
            sa_select(table.c.id)
            .where(table.c.state == "pending", table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(limit)
        )
        if session.connection().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = session.execute(
            update(table)
            .where(table.c.id.in_(due), table.c.state == "pending")
            .values(state="sending", claimed_at=now, claimed_by=worker)
            .returning(*table.c)
        ).all()
    return sorted((OutboxMessage(**row._mapping) for row in rows), key=lambda message: message.id or 0)


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
        unsent = {message.id or 0 for message in batch}
        try:
            with (
                engine.connect() as connection
            ):  # Core, not the ORM: recording is on the hot path of delivery
                for message in batch:
                    if stop is not None and stop.is_set():
                        break  # the rest of the batch goes back to the outbox, below
                    outcome = await _send_one(message, channels)
                    if after_send is not None:
                        after_send(message)
                    # Recorded and committed before the next send: a crash resends at most this one message.
                    kind = _record(connection, message, outcome, now, settings, rng)
                    connection.commit()
                    unsent.discard(message.id or 0)
                    sent += kind == "sent"
                    retried += kind == "retry"
                    failed += kind == "failed"
        finally:
            if unsent:
                try:
                    _release(engine, unsent, worker)
                except Exception:  # the database is gone: the next start releases them (the worker is dead)
                    log.warning("could not release %d claimed messages", len(unsent), exc_info=True)
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
        card=TextCard.from_json(json.loads(message.card)) if message.card else None,
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
    connection: Connection,
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
    attempt = insert(DeliveryAttempt).values(
        message_id=message.id or 0,
        started_at=now,
        channel=message.channel,
        address=outcome.address,
        outcome=label,
        error=None if error is None else str(error)[:500],
        duration_ms=outcome.duration_ms,
    )
    outcome_update = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.state) == "sending")
        .values(**values)
    )
    if connection.dialect.name == "postgresql":
        # One round trip instead of two: the attempt is inserted by a CTE of the update.
        connection.execute(outcome_update.add_cte(attempt.cte("attempt")))
    else:
        connection.execute(attempt)
        connection.execute(outcome_update)
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
    gone: Callable[[str], bool] = lambda worker: False,
) -> SweepResult:
    """Plan (in a thread, so that a signal is heard while it works) and deliver; logged as a `Sweep` row.

    First, messages claimed by workers that are `gone` (dead processes on this host) are released."""
    with session_scope(engine) as session:
        released = release_claims_of_gone_workers(session, gone)
        if released:
            log.warning("released %d messages claimed by processes that are gone", released)
        log_row = Sweep(started_at=now, as_of=now, worker=worker)
        session.add(log_row)
        session.flush()
        sweep_id = log_row.id
    asked_to_stop: Callable[[], bool] = stop.is_set if stop is not None else lambda: False
    try:
        result = await asyncio.to_thread(_plan, engine, profiles, now, settings, asked_to_stop)
        if not result.stopped:
            sent, retried, failed = await deliver(
                engine, channels, now, settings, worker=worker, rng=rng or random.Random(), stop=stop
            )
            result.sent, result.retried, result.failed = sent, retried, failed
            result.stopped = asked_to_stop()
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
                stopped=result.stopped,
            )
        )
    return result


def _plan(
    engine: Engine,
    profiles: Mapping[str, Profile],
    now: dt.datetime,
    settings: Settings,
    stop: Callable[[], bool],
) -> SweepResult:
    try:
        with session_scope(engine) as session:
            return plan_messages(session, profiles, now, settings, stop=stop)
    except Stopped:  # rolled back: nothing of this sweep's plan was kept, the next sweep plans it again
        return SweepResult(as_of=now, stopped=True)


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
