"""Compliance reports: how many of the tasks due in a range were done on time, late, not at all, or waived.

`load_scope` reads the organizations and tasks of a subtree once; `build` is a pure function of that scope,
the duty calendars, the range and `as_of` (it never reads the clock). The CLI renders the result as a table,
JSON, CSV or a self-contained HTML page (`report_html`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy import and_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from calendars.model import Profile
from obligations import roster, tables
from obligations.models import Member, Organization, Task
from obligations.queries import organization

ROW_FIELDS = (
    "org",
    "org_name",
    "rule",
    "title",
    "tasks",
    "done_on_time",
    "done_late",
    "overdue",
    "pending",
    "waived",
    "on_time_rate",
)
ROLLUP_FIELDS = (
    "org",
    "org_name",
    "tasks",
    "done_on_time",
    "done_late",
    "overdue",
    "pending",
    "waived",
    "on_time_rate",
)
OVERDUE_FIELDS = (
    "task_id",
    "org",
    "org_name",
    "rule",
    "title",
    "subject",
    "subject_name",
    "due",
    "days_overdue",
    "assignee",
)
TOTAL_TITLE = "合计"
WAIVED_STATUSES = frozenset({"waived", "exempt"})  # an exemption, whichever word the row carries


class Outcome(StrEnum):
    """Where one task stands on `as_of`."""

    DONE_ON_TIME = "done_on_time"
    DONE_LATE = "done_late"
    OVERDUE = "overdue"  # open and past its due date
    PENDING = "pending"  # open and not yet due (due today counts as not yet due)
    WAIVED = "waived"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]


# Where a task stands, in the column order of every count table (Tally's fields bear the same names).
OUTCOME_LABELS = {
    Outcome.DONE_ON_TIME: "按时完成",
    Outcome.DONE_LATE: "逾期完成",
    Outcome.OVERDUE: "已逾期",
    Outcome.PENDING: "未到期",
    Outcome.WAIVED: "免办",
}


class CellState(StrEnum):
    """The colour of one organization's month in the heat map, worst first."""

    MISSED = "missed"  # something is overdue
    LATE = "late"  # something was done late, nothing is overdue
    PENDING = "pending"  # something is not yet due, nothing went wrong
    DONE = "done"  # everything due was done on time
    EMPTY = "empty"  # nothing due (or only exempted tasks)


@dataclass(frozen=True)
class ReportOrg:
    code: str
    name: str
    parent: str | None
    path: str
    profile: str
    tracked_from: dt.date | None = None  # 跟踪起始: nothing is owed before the period containing it

    @property
    def depth(self) -> int:
        return self.path.count("/") - 2


@dataclass(frozen=True)
class Coverage:
    """The part of the report's range in which an organization is tracked: from the month containing its
    tracking start (or the range's start) to the range's end; None when it is tracked only after the range."""

    org: str
    org_name: str
    tracked_from: dt.date | None
    start: dt.date | None
    end: dt.date | None
    requested: dt.date  # the report's own start

    @property
    def partial(self) -> bool:
        """Whether the report's range begins before the organization is tracked."""
        return self.start != self.requested

    def record(self) -> dict[str, object]:
        return {
            "org": self.org,
            "tracked_from": self.tracked_from.isoformat() if self.tracked_from else None,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }

    def label(self) -> str:
        """「自 2026-11 起跟踪」: what a person reads beside the figures."""
        if self.tracked_from is None:
            return "全程跟踪"
        return f"自 {self.tracked_from:%Y-%m} 起跟踪"


def coverage(org: ReportOrg, start: dt.date, end: dt.date) -> Coverage:
    if org.tracked_from is None:
        return Coverage(org.code, org.name, None, start, end, start)
    first = max(start, org.tracked_from.replace(day=1))
    if first > end:
        return Coverage(org.code, org.name, org.tracked_from, None, None, start)
    return Coverage(org.code, org.name, org.tracked_from, first, end, start)


@dataclass(frozen=True)
class ReportTask:
    id: int
    org: str
    rule: str
    subject: str
    subject_name: str
    due: dt.date
    status: str
    done_on: dt.date | None
    assignee: str | None  # the member's name; None for a vacant seat


@dataclass(frozen=True)
class Scope:
    """What a report reads from the database: a subtree's active organizations and its tasks in the range."""

    root: ReportOrg | None
    orgs: tuple[ReportOrg, ...]  # in tree order
    tasks: tuple[ReportTask, ...]
    advisories: tuple[Advice, ...] = ()  # the shape advisories its organizations meet (roster.Roster.advice)


@dataclass(frozen=True)
class Advice:
    """A shape advisory an organization meets (组织设置提示), with its count and clause."""

    org: str
    org_name: str
    text: str

    def record(self) -> dict[str, object]:
        return {"org": self.org, "org_name": self.org_name, "advisory": self.text}


@dataclass(frozen=True)
class Tally:
    tasks: int = 0
    done_on_time: int = 0
    done_late: int = 0
    overdue: int = 0
    pending: int = 0
    waived: int = 0

    def of(self, outcome: Outcome) -> int:
        """The count of one outcome (the fields are named by Outcome's values)."""
        count: int = getattr(self, outcome.value)
        return count

    @property
    def assessed(self) -> int:
        """The tasks whose outcome is settled and that counted: neither exempted nor still running."""
        return self.tasks - self.waived - self.pending

    @property
    def on_time_rate(self) -> float | None:
        return self.done_on_time / self.assessed if self.assessed else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            self.tasks + other.tasks,
            self.done_on_time + other.done_on_time,
            self.done_late + other.done_late,
            self.overdue + other.overdue,
            self.pending + other.pending,
            self.waived + other.waived,
        )

    def record(self) -> dict[str, object]:
        rate = self.on_time_rate
        return {
            "tasks": self.tasks,
            "done_on_time": self.done_on_time,
            "done_late": self.done_late,
            "overdue": self.overdue,
            "pending": self.pending,
            "waived": self.waived,
            "on_time_rate": None if rate is None else round(rate, 4),
        }


def tally(outcomes: Iterable[Outcome]) -> Tally:
    counts = dict.fromkeys(Outcome, 0)
    for outcome in outcomes:
        counts[outcome] += 1
    return Tally(
        tasks=sum(counts.values()),
        done_on_time=counts[Outcome.DONE_ON_TIME],
        done_late=counts[Outcome.DONE_LATE],
        overdue=counts[Outcome.OVERDUE],
        pending=counts[Outcome.PENDING],
        waived=counts[Outcome.WAIVED],
    )


class Dated(Protocol):
    """What an outcome is judged from: a report's task or a stored Task."""

    @property
    def status(self) -> str: ...
    @property
    def due(self) -> dt.date: ...
    @property
    def done_on(self) -> dt.date | None: ...


def outcome(task: Dated, as_of: dt.date) -> Outcome:
    if task.status in WAIVED_STATUSES:
        return Outcome.WAIVED
    if task.status == "done":
        # A task done without a recorded date cannot be shown late; trust the status.
        late = task.done_on is not None and task.done_on > task.due
        return Outcome.DONE_LATE if late else Outcome.DONE_ON_TIME
    return Outcome.OVERDUE if task.due < as_of else Outcome.PENDING


def cell_state(counts: Tally) -> CellState:
    if counts.overdue:
        return CellState.MISSED
    if counts.done_late:
        return CellState.LATE
    if counts.pending:
        return CellState.PENDING
    if counts.done_on_time:
        return CellState.DONE
    return CellState.EMPTY


@dataclass(frozen=True)
class Row:
    """One line of the report: an organization's figures for one rule, or its total (`rule` None)."""

    org: str
    org_name: str
    rule: str | None
    title: str
    counts: Tally

    def record(self) -> dict[str, object]:
        return {
            "org": self.org,
            "org_name": self.org_name,
            "rule": self.rule,
            "title": self.title,
            **self.counts.record(),
        }


@dataclass(frozen=True)
class Rollup:
    """An organization's figures summed over its whole subtree."""

    org: str
    org_name: str
    depth: int
    counts: Tally

    def record(self) -> dict[str, object]:
        return {"org": self.org, "org_name": self.org_name, **self.counts.record()}


@dataclass(frozen=True)
class RuleSummary:
    """One duty's figures over every organization of the report (the bar chart)."""

    rule: str
    title: str
    counts: Tally


@dataclass(frozen=True)
class OverdueTask:
    task_id: int
    org: str
    org_name: str
    rule: str
    title: str
    subject: str
    subject_name: str
    due: dt.date
    days_overdue: int
    assignee: str | None

    def record(self) -> dict[str, object]:
        return {
            "task_id": self.task_id,
            "org": self.org,
            "org_name": self.org_name,
            "rule": self.rule,
            "title": self.title,
            "subject": self.subject,
            "subject_name": self.subject_name,
            "due": self.due.isoformat(),
            "days_overdue": self.days_overdue,
            "assignee": self.assignee,
        }


@dataclass(frozen=True)
class Cell:
    """One organization's tasks due in one month (of the range)."""

    month: dt.date  # the first day of the month
    counts: Tally
    state: CellState


@dataclass(frozen=True)
class HeatRow:
    org: ReportOrg
    depth: int  # below the report's top level
    cells: tuple[Cell, ...]
    counts: Tally  # the organization's own tasks in the range


@dataclass(frozen=True)
class Report:
    as_of: dt.date
    start: dt.date
    end: dt.date
    root: ReportOrg | None
    rows: tuple[Row, ...]
    rollup: tuple[Rollup, ...]
    overdue: tuple[OverdueTask, ...]
    rules: tuple[RuleSummary, ...]
    months: tuple[dt.date, ...]
    heat: tuple[HeatRow, ...]
    total: Tally
    advisories: tuple[Advice, ...] = ()
    tracked: tuple[Coverage, ...] = ()  # per organization, in tree order

    def record(self) -> dict[str, object]:
        """The stable machine form (`report --format json`)."""
        return {
            "as_of": self.as_of.isoformat(),
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "org": self.root.code if self.root else None,
            "rows": [row.record() for row in self.rows],
            "rollup": [line.record() for line in self.rollup],
            "overdue": [task.record() for task in self.overdue],
            "advisories": [advice.record() for advice in self.advisories],
            "tracked": [line.record() for line in self.tracked],
        }


def year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def months_between(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return tuple(months)


def load_scope(
    session: Session,
    *,
    org: str | None,
    start: dt.date,
    end: dt.date,
    profiles: Mapping[str, Profile] | None = None,
) -> Scope:
    """The active organizations of `org`'s subtree (all when None) and their tasks due in [start, end]."""
    root = organization(session, org) if org is not None else None
    org_query = select(Organization).where(col(Organization.active).is_(True))
    if root is not None:
        org_query = org_query.where(tables.subtree(root.path))
    orgs = tuple(
        ReportOrg(o.code, o.name, o.parent, o.path, o.effective_profile, o.tracked_from)
        for o in session.exec(org_query.order_by(col(Organization.path)))
    )
    assignee = aliased(Member)
    subject = aliased(Member)
    # Columns rather than Task entities: a department-wide year is hundreds of thousands of rows.
    task_query = (
        sa_select(
            col(Task.id),
            col(Task.org),
            col(Task.rule),
            col(Task.subject),
            col(Task.due),
            col(Task.status),
            col(Task.done_on),
            col(assignee.name),
            col(subject.name),
        )
        .join(Organization, col(Organization.code) == col(Task.org))
        .outerjoin(assignee, col(assignee.id) == col(Task.assignee))
        .outerjoin(subject, and_(col(subject.id) == col(Task.subject), col(Task.subject_kind) != "org"))
        .where(col(Organization.active).is_(True), col(Task.due) >= start, col(Task.due) <= end)
        .order_by(col(Task.due), col(Task.org), col(Task.rule), col(Task.subject), col(Task.period))
    )
    if root is not None:
        task_query = task_query.where(tables.subtree(root.path))
    names = {o.code: o.name for o in orgs}
    tasks = tuple(
        ReportTask(
            id=task_id,
            org=org_code,
            rule=rule,
            subject=subject_code,
            subject_name=subject_name or names.get(subject_code, subject_code),
            due=due,
            status=status,
            done_on=done_on,
            assignee=assignee_name,
        )
        for task_id, org_code, rule, subject_code, due, status, done_on, assignee_name, subject_name in (
            session.execute(task_query)
        )
    )
    scope_root = next((o for o in orgs if root is not None and o.code == root.code), None)
    advisories: tuple[Advice, ...] = ()
    if profiles is not None:
        registry = roster.load(session)
        advisories = tuple(
            Advice(o.code, o.name, text) for o in orgs for text in registry.advice(o.code, profiles)
        )
    return Scope(scope_root, orgs, tasks, advisories)


def build(
    scope: Scope, profiles: Mapping[str, Profile], *, as_of: dt.date, start: dt.date, end: dt.date
) -> Report:
    """The report of `scope` for the tasks due in [start, end], as they stand on `as_of`."""
    orgs = {org.code: org for org in scope.orgs}
    tasks = [task for task in scope.tasks if task.org in orgs and start <= task.due <= end]
    outcomes = {task.id: outcome(task, as_of) for task in tasks}
    by_org: dict[str, list[ReportTask]] = {}
    for task in tasks:
        by_org.setdefault(task.org, []).append(task)
    own = {org.code: tally(outcomes[task.id] for task in by_org.get(org.code, [])) for org in scope.orgs}
    top_depth = min((org.depth for org in scope.orgs), default=0)

    def title(org_code: str, rule: str) -> str:
        """The rule's title in the organization's own duty calendar (overlays may rename a rule)."""
        profile = profiles.get(orgs[org_code].profile)
        defined = profile.rules.get(rule) if profile else None
        return defined.title if defined else rule

    rows: list[Row] = []
    for org in scope.orgs:
        org_tasks = by_org.get(org.code, [])
        if not org_tasks:
            continue
        profile = profiles.get(org.profile)
        order = {rule: index for index, rule in enumerate(profile.rules if profile else ())}
        for rule in sorted({task.rule for task in org_tasks}, key=lambda r: (order.get(r, len(order)), r)):
            counts = tally(outcomes[task.id] for task in org_tasks if task.rule == rule)
            rows.append(Row(org.code, org.name, rule, title(org.code, rule), counts))
        rows.append(Row(org.code, org.name, None, TOTAL_TITLE, own[org.code]))

    overdue = [
        OverdueTask(
            task_id=task.id,
            org=task.org,
            org_name=orgs[task.org].name,
            rule=task.rule,
            title=title(task.org, task.rule),
            subject=task.subject,
            subject_name=task.subject_name,
            due=task.due,
            days_overdue=(as_of - task.due).days,
            assignee=task.assignee,
        )
        for task in tasks
        if outcomes[task.id] is Outcome.OVERDUE
    ]
    overdue.sort(key=lambda task: (task.due, orgs[task.org].path, task.rule, task.subject))

    months = months_between(start, end)
    return Report(
        as_of=as_of,
        start=start,
        end=end,
        root=scope.root,
        rows=tuple(rows),
        rollup=_rollup(scope.orgs, own, top_depth),
        overdue=tuple(overdue),
        rules=_by_rule(rows),
        months=months,
        heat=tuple(
            HeatRow(
                org, org.depth - top_depth, _cells(by_org.get(org.code, []), outcomes, months), own[org.code]
            )
            for org in scope.orgs
        ),
        total=sum(own.values(), Tally()),
        advisories=scope.advisories,
        tracked=tuple(coverage(org, start, end) for org in scope.orgs),
    )


def _rollup(orgs: Sequence[ReportOrg], own: Mapping[str, Tally], top_depth: int) -> tuple[Rollup, ...]:
    """Every organization with children in scope, summed over its whole subtree (paths share its prefix)."""
    codes = {org.code for org in orgs}
    parents = {org.parent for org in orgs if org.parent in codes}
    return tuple(
        Rollup(
            org.code,
            org.name,
            org.depth - top_depth,
            sum((own[o.code] for o in orgs if o.path.startswith(org.path)), Tally()),
        )
        for org in orgs
        if org.code in parents
    )


def _by_rule(rows: Sequence[Row]) -> tuple[RuleSummary, ...]:
    totals: dict[str, Tally] = {}
    titles: dict[str, str] = {}
    for row in rows:
        if row.rule is not None:
            totals[row.rule] = totals.get(row.rule, Tally()) + row.counts
            titles.setdefault(row.rule, row.title)
    return tuple(RuleSummary(rule, titles[rule], counts) for rule, counts in totals.items())


def _cells(
    tasks: Sequence[ReportTask], outcomes: Mapping[int, Outcome], months: Sequence[dt.date]
) -> tuple[Cell, ...]:
    by_month: dict[dt.date, list[Outcome]] = {}
    for task in tasks:
        by_month.setdefault(task.due.replace(day=1), []).append(outcomes[task.id])
    cells = []
    for month in months:
        counts = tally(by_month.get(month, []))
        cells.append(Cell(month, counts, cell_state(counts)))
    return tuple(cells)


def percent(rate: float | None) -> str:
    """An on-time rate as a person reads it; a dash when nothing could be assessed."""
    return "—" if rate is None else f"{rate * 100:.1f}%"


def range_label(start: dt.date, end: dt.date) -> str:
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start.year}年度"
    return f"{chinese_date(start)}至{chinese_date(end)}"


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def scope_label(report: Report) -> str:
    return f"{report.root.name}（{report.root.code}）" if report.root else "全部组织"
