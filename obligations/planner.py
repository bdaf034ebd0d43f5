"""The planner: persists the calendar model's occurrences as tasks, and keeps them in step with the registry.

For every active organization and every rule of its profile, the planner keeps one task per (rule, subject,
period) from the start of each rule's previous period up to the horizon. Planning is idempotent (running it
twice changes nothing) and incremental (only organizations whose registry data changed are re-planned,
unless the window itself moved). Reconciliation of one organization:

- an occurrence with no task becomes a task;
- an open task whose occurrence changed (due date, required count, assignee) is updated;
- an open task with nothing done whose occurrence disappeared is removed when it is not yet due (a branch
  that drops below 7 full members loses its future 支委会) or when it is an event task whose trigger is gone
  (the vacancy was filled, a new election replaced the term); an overdue periodic task stays, because it
  was owed when it fell due;
- a task the window cannot see is never removed: a periodic task due after the window's end, an event
  task triggered after it. Planning for an earlier date (`plan --as-of` in the past) therefore keeps every
  task id, and ids in reminders already sent keep working;
- tasks that are done, waived or partly done are never removed.

History is not rewritten. An organization's duties are owed under the profile in force when they arose — a
periodic duty on its due date, an event on its trigger's date — as profile_history records it, so changing a
branch's profile in March 2026 neither creates 2025 duties of the new profile nor removes those of the old one.
And an organization is owed nothing before its tracking start (`tracked_from`): the first period of each
cadence it owes is the one containing that date, unless its deadline had passed by then. Earlier routine periods are not planned (open tasks there
with nothing recorded go), so they are never overdue nor escalated; event duties (an expired term, a long
vacancy, an ended probation) are standing obligations and stay owed whatever their age.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlmodel import Session, col

from calendars import ladder
from calendars.expand import OrgFacts, Window, expand
from calendars.model import Profile, RuleKind
from calendars.periods import Cadence, period_of
from obligations import dues, planstate, roster
from obligations.db import chunks
from obligations.errors import UserError
from obligations.history import CHUNK as CHUNK  # re-exported: callers have always found these here
from obligations.history import Calendars as Calendars
from obligations.history import profile_history as profile_history
from obligations.models import CompletionTask, Organization, PlanState, Task, Waiver

BATCH = 1000  # organizations planned together


@dataclass(frozen=True)
class PlanSummary:
    organizations: int
    inserted: int
    updated: int
    removed: int
    window: tuple[dt.date, dt.date]


def plan_state(session: Session) -> PlanState:
    state = session.get(PlanState, 1)
    if state is None:
        state = PlanState(id=1)
        session.add(state)
        session.flush()
    return state


def needs_plan(session: Session, as_of: dt.date, horizon: dt.date) -> bool:
    return not planstate.window_current(plan_state(session), as_of, horizon)


def ensure_planned(
    session: Session, profiles: Mapping[str, Profile], as_of: dt.date, horizon: dt.date
) -> PlanSummary | None:
    """Plan if the registry changed or the window moved since the last plan; otherwise do nothing."""
    dues.derive_lapses(session, as_of)  # a month without dues is a change of the registry's facts
    if not needs_plan(session, as_of, horizon):
        return None
    return plan(session, profiles, as_of, horizon)


def plan(
    session: Session,
    profiles: Mapping[str, Profile],
    as_of: dt.date,
    horizon: dt.date,
    *,
    everything: bool = False,
) -> PlanSummary:
    dues.derive_lapses(session, as_of)
    state = plan_state(session)
    start = planstate.window_start(as_of)
    window_moved = (
        state.planned_to is None
        or state.planned_from is None
        or horizon > state.planned_to
        or start < state.planned_from
    )
    registry = roster.load(session)
    codes = [code for code, org in registry.orgs.items() if everything or window_moved or org.dirty]
    history = profile_history(session)
    used = {registry.orgs[code].effective_profile for code in codes}
    planned = set(codes)
    used.update(profile for code, rows in history.items() if code in planned for _, profile in rows)
    missing = sorted(used - set(profiles))
    if missing:
        raise UserError(
            f"组织引用了不存在的职责日历：{'、'.join(missing)}。请检查职责日历目录或组织的 profile。"
        )
    window = Window(start, horizon)
    inserted = updated = removed = 0
    # Organizations are planned in batches so that memory stays flat however large the registry.
    # On a first plan the table starts empty, and the tasks inserted on the way belong to batches already done.
    started_empty = session.scalar(select(col(Task.id)).limit(1)) is None
    for batch in chunks(codes, BATCH):
        existing = {} if started_empty else _existing_tasks(session, batch)
        to_insert: list[Row] = []
        to_update: list[dict[str, Any]] = []
        to_remove: list[int] = []
        for code in batch:
            org = registry.orgs[code]
            calendars = Calendars.of(profiles, org.effective_profile, history.get(code, ()))
            desired = _desired(calendars, registry, code, window, as_of, org.tracked_from)
            _reconcile(
                calendars,
                desired,
                existing.get(code, {}),
                as_of,
                window,
                org.tracked_from,
                to_insert,
                to_update,
                to_remove,
            )
        _insert_tasks(session, to_insert)
        if to_update:
            session.execute(update(Task), to_update)
        for ids in chunks(to_remove, CHUNK):
            # A task the ledger refers to (a withdrawn completion, an extension) stays, for the history.
            session.execute(
                delete(Task).where(
                    col(Task.id).in_(ids),
                    col(Task.id).not_in(select(col(CompletionTask.task_id))),
                    col(Task.id).not_in(select(col(Waiver.task_id))),
                )
            )
        inserted, updated, removed = (
            inserted + len(to_insert),
            updated + len(to_update),
            removed + len(to_remove),
        )
    session.execute(update(Organization).where(col(Organization.dirty).is_(True)).values(dirty=False))
    if inserted + removed > 10_000:
        # Fresh statistics after a large change, so that the query planner reads a subtree's tasks through
        # the (org, due) index and looks members up by key, instead of scanning every open task or member of
        # the city (SQLite has no statistics until then; PostgreSQL's autovacuum comes later).
        if session.connection().dialect.name == "sqlite":
            session.execute(text("PRAGMA analysis_limit=2000"))  # sampled statistics: seconds, not minutes
        for table in ("task", "organization", "member", "position"):
            session.execute(text(f"ANALYZE {table}"))
    state.planned_from = (
        start if state.planned_from is None or window_moved else min(state.planned_from, start)
    )
    state.planned_to = horizon if state.planned_to is None else max(state.planned_to, horizon)
    state.planned_version = state.registry_version
    session.add(state)
    session.flush()
    return PlanSummary(len(codes), inserted, updated, removed, (start, horizon))


# The columns a planned task is inserted with, in the order of a desired row.
_INSERTED = (
    "org",
    "rule",
    "subject",
    "subject_kind",
    "period",
    "period_start",
    "due",
    "required_count",
    "unit",
    "responsible",
    "assignee",
    "remind_on",
)


def _insert_tasks(session: Session, rows: Sequence[Row]) -> None:
    """Insert new tasks the fastest way each driver offers.

    Planning a city inserts millions of rows and SQLAlchemy's per-row parameter processing costs more than
    the database itself, so the rows go to the driver directly: COPY on PostgreSQL, executemany on SQLite
    (dates as ISO text, which is how SQLAlchemy stores them there).
    """
    if not rows:
        return
    connection = session.connection()
    columns = ", ".join(_INSERTED)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY task ({columns}, done_count, status) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row((*row, 0, "open"))
        return
    iso: dict[dt.date, str] = {}

    def text(day: dt.date) -> str:
        found = iso.get(day)
        if found is None:
            found = iso[day] = day.isoformat()
        return found

    marker = ", ".join(["?"] * len(_INSERTED))
    statement = f"INSERT INTO task ({columns}, done_count, status) VALUES ({marker}, 0, 'open')"
    start, due, remind = _INSERTED.index("period_start"), _INSERTED.index("due"), _INSERTED.index("remind_on")
    assert due == start + 1 and remind == len(_INSERTED) - 1
    values = [
        (*row[:start], text(row[start]), text(row[due]), *row[due + 1 : remind], text(row[remind]))
        for row in rows
    ]
    connection.exec_driver_sql(statement, values)


def first_owed(cadence: Cadence, as_of: dt.date, tracked_from: dt.date | None) -> dt.date:
    """The start of the earliest period of `cadence` the plan holds: the previous period, and never one
    before the period containing the tracking start."""
    previous = period_of(cadence, period_of(cadence, as_of).start - dt.timedelta(days=1)).start
    if tracked_from is None:
        return previous
    return max(previous, period_of(cadence, tracked_from).start)


Row = tuple[Any, ...]  # a task's values in _INSERTED order


def _desired(
    calendars: Calendars,
    registry: roster.Roster,
    code: str,
    window: Window,
    as_of: dt.date,
    tracked_from: dt.date | None,
) -> dict[tuple[str, str, str], Row]:
    desired: dict[tuple[str, str, str], Row] = {}
    previous_start: dict[Cadence, dt.date] = {}
    for rule, occurrence in calendars.expand(registry.facts(code), window):
        if rule.cadence is not None:
            first = previous_start.get(rule.cadence)
            if first is None:
                first = previous_start[rule.cadence] = first_owed(rule.cadence, as_of, tracked_from)
            if occurrence.start < first or (tracked_from is not None and occurrence.due < tracked_from):
                continue  # before the previous period, or fell due before the tracking start
        desired[(occurrence.rule, occurrence.subject, occurrence.period)] = (
            code,
            occurrence.rule,
            occurrence.subject,
            occurrence.subject_kind.value,
            occurrence.period,
            occurrence.start,
            occurrence.due,
            float(occurrence.required),
            occurrence.unit.value,
            occurrence.responsible,
            registry.assignee(code, occurrence.responsible, occurrence.subject),
            ladder.first_remind_on(rule, occurrence.due),
        )
    return desired


_COMPARED = ("due", "required_count", "responsible", "assignee", "period_start")
_COMPARED_AT = tuple((name, _INSERTED.index(name)) for name in _COMPARED)


@dataclass
class _Existing:
    id: int
    rule: str
    status: str
    done_count: float
    original_due: dt.date | None
    values: dict[str, Any]


def _existing_tasks(
    session: Session, codes: Sequence[str]
) -> dict[str, dict[tuple[str, str, str], _Existing]]:
    """The tasks of the organizations being planned, keyed by (rule, subject, period)."""
    found: dict[str, dict[tuple[str, str, str], _Existing]] = defaultdict(dict)
    if not codes:
        return found
    columns = (
        col(Task.id),
        col(Task.org),
        col(Task.rule),
        col(Task.subject),
        col(Task.period),
        col(Task.status),
        col(Task.done_count),
        col(Task.original_due),
        *(col(getattr(Task, name)) for name in _COMPARED),
    )
    for batch in chunks(codes, CHUNK):
        for row in session.execute(select(*columns).where(col(Task.org).in_(batch))):
            values = {name: getattr(row, name) for name in _COMPARED}
            found[row.org][(row.rule, row.subject, row.period)] = _Existing(
                row.id, row.rule, row.status, row.done_count, row.original_due, values
            )
    return found


def _reconcile(
    calendars: Calendars,
    desired: dict[tuple[str, str, str], Row],
    existing: dict[tuple[str, str, str], _Existing],
    as_of: dt.date,
    window: Window,
    tracked_from: dt.date | None,
    inserted: list[Row],
    updated: list[dict[str, Any]],
    removed: list[int],
) -> None:
    for key, values in desired.items():
        task = existing.get(key)
        if task is None:
            inserted.append(values)
            continue
        if task.status != "open":
            continue
        changes = {name: values[index] for name, index in _COMPARED_AT if task.values[name] != values[index]}
        if task.original_due is not None:
            changes.pop("due", None)  # an approved extension keeps its own due date
        if "due" in changes:
            changes["remind_on"] = values[_INSERTED.index("remind_on")]  # the ladder starts again
        if changes:
            updated.append({"id": task.id, **changes})
    for key, task in existing.items():
        if key in desired or task.status != "open" or task.done_count > 0:
            continue
        due = task.values["due"]
        rule = calendars.rule(task.rule, due)
        if rule is not None and rule.kind is RuleKind.EVENT:
            rule = calendars.rule(task.rule, task.values["period_start"])
        if rule is None or rule.kind is RuleKind.EVENT:
            # Expansion yields a present-state trigger whatever its age, a past event only from the window on,
            # and no trigger after the window's end (a replay of an earlier date cannot see this year's
            # vacancy or election): missing from the plan within those bounds means the trigger is gone
            # (filled, re-elected, converted).
            if task.values["period_start"] > window.end:
                continue
            if rule is None or rule.trigger is None or rule.trigger.persists or due >= window.start:
                removed.append(task.id)
        elif window.start <= task.values["period_start"] and as_of <= due <= window.end:
            removed.append(task.id)
        elif (
            tracked_from is not None
            and rule.cadence is not None
            and (
                task.values["period_start"] < period_of(rule.cadence, tracked_from).start
                or due < tracked_from
            )
        ):
            removed.append(task.id)  # before the tracking start: not owed (nothing was recorded for it)


def registry_changed(session: Session, codes: Sequence[str]) -> None:
    """The registry facts of these organizations changed outside an import (a 转正, a dues lapse): they are
    planned again by the next plan."""
    if not codes:
        return
    for batch in chunks(sorted(set(codes)), CHUNK):
        session.execute(update(Organization).where(col(Organization.code).in_(batch)).values(dirty=True))
    state = plan_state(session)
    state.registry_version += 1
    session.add(state)
    session.flush()


def org_facts(session: Session, code: str) -> OrgFacts:
    """What the calendar model knows of one organization, exactly as the planner sees it."""
    return roster.load(session, around=code).facts(code)


def materialize(
    session: Session, profiles: Mapping[str, Profile], org: str, rule_id: str, day: dt.date
) -> Task | None:
    """The organization's own task of `rule_id` for the period containing `day`, planned now if it falls
    before the planning window (a secretary back-filling the 台账 of earlier months). None when the rule
    does not apply to the organization in that period."""
    registry = roster.load(session, around=org)
    if org not in registry.orgs:
        return None
    history = profile_history(session, [org]).get(org, ())
    calendars = Calendars.of(profiles, registry.orgs[org].effective_profile, history)
    rule = calendars.rule(rule_id, day)
    if rule is None or rule.cadence is None:
        return None
    period = period_of(rule.cadence, day)
    profile = calendars.at(period.end)
    rule = profile.rules.get(rule_id)
    if rule is None or rule.cadence is None:
        return None
    period = period_of(rule.cadence, day)
    single = Profile(
        profile.id, profile.title, profile.document, profile.chain, {rule_id: rule}, profile.ladders, {}
    )
    for occurrence in expand(single, registry.facts(org), Window(period.start, period.end)):
        if occurrence.period == period.key and occurrence.subject == org:
            task = Task(
                org=org,
                rule=rule_id,
                subject=org,
                subject_kind=occurrence.subject_kind.value,
                period=occurrence.period,
                period_start=occurrence.start,
                due=occurrence.due,
                required_count=float(occurrence.required),
                unit=occurrence.unit.value,
                responsible=occurrence.responsible,
                assignee=registry.assignee(org, occurrence.responsible, org),
                remind_on=ladder.first_remind_on(rule, occurrence.due),
            )
            session.add(task)
            session.flush()
            return task
    return None
