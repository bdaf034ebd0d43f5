"""Planning: due escalation steps -> reminders -> digests in the outbox, in one transaction."""

from __future__ import annotations

import datetime as dt
from array import array
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from calendars import instants, ladder
from calendars.model import Profile
from obligations.db import chunks
from obligations.links import linker
from obligations.models import (
    OutboxMessage,
    PlanState,
    Reminder,
    Task,
)
from obligations.reminders import bulk
from obligations.reminders.digests import DigestWriter, pending
from obligations.reminders.failures import has_unreported_failures, unreported_failures
from obligations.reminders.registry import PlanningRegistry
from obligations.reminders.settings import Settings, SweepResult, check
from obligations.reminders.summaries import write_summaries


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
            f"非办公时间，提醒将于 {opening.astimezone(instants.PARTY_TIME):%Y-%m-%d %H:%M} 后发送"
        )
        return result
    _serialize(session)
    today = now.astimezone(instants.PARTY_TIME).date()
    if not _has_due_tasks(session, today) and not has_unreported_failures(session):
        return result  # the common case: one indexed probe, whatever the number of tasks
    registry = PlanningRegistry.load(session, profiles)
    result.reminders = _record_reminders(session, registry, today, now, stop)
    failures, untold = unreported_failures(session, registry)
    desk_links = linker(session, settings.public_url, now)
    writer = DigestWriter(session, registry, today, now, settings, command, preview, result, desk_links)
    writer.reported.extend(untold)
    # Recipients in order, a chunk at a time, each chunk starting after the last (an index seek, whatever
    # is behind it); the pending marks are cleared at the end, in one statement.
    is_pending = pending()
    planner_settings = bulk.prefer_index_lookups(session, result.reminders)
    recipients: list[str] = []
    while recipients := list(
        session.exec(
            select(col(Reminder.recipient))
            .where(is_pending, col(Reminder.recipient) > (recipients[-1] if recipients else ""))
            .distinct()
            .order_by(col(Reminder.recipient))
            .limit(RECIPIENTS_PER_CHUNK)
        )
    ):
        check(stop)
        writer.write(recipients, failures)
    write_summaries(session, registry, today, now, settings, preview=preview, result=result)
    bulk.restore_planner(session, planner_settings)
    session.execute(update(Reminder).where(is_pending).values(pending=False))
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


def _has_due_tasks(session: Session, today: dt.date) -> bool:
    return session.exec(_due_tasks(today, select(col(Task.id))).limit(1)).first() is not None


def _due_tasks(today: dt.date, query: Any) -> Any:
    return query.where(
        col(Task.status) == "open", col(Task.remind_on).is_not(None), col(Task.remind_on) <= today
    )


def _record_reminders(
    session: Session, registry: PlanningRegistry, today: dt.date, now: dt.datetime, stop: Callable[[], bool]
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
        check(stop)
        rows: list[dict[str, Any]] = []
        for task_id, org, rule_id, subject, responsible, due, period_start, owed_on in batch:
            rule = registry.rule(org, rule_id, period_start, owed_on)
            if rule is None:
                moves[None].append(task_id)
                continue
            moves[ladder.next_remind_on(rule, due, today)].append(task_id)
            reached = ladder.current_step(rule, due, today)
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
        created += bulk.insert_new_reminders(session, rows)
    for remind_on, ids in moves.items():
        for part in chunks(ids, 1000):
            session.execute(update(Task).where(col(Task.id).in_(list(part))).values(remind_on=remind_on))
    return created


def _serialize(session: Session) -> None:
    """One sweep plans at a time: a no-op write takes SQLite's write lock and PostgreSQL's row lock on the
    plan state, so that two daemons never split a person's reminders into two digests."""
    if session.get(PlanState, 1) is None:
        session.add(PlanState(id=1))
        session.flush()
    session.execute(
        update(PlanState).where(col(PlanState.id) == 1).values(registry_version=PlanState.registry_version)
    )
