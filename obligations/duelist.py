"""The due list: the tasks `due`, the desk's 待办 and the organization page list, as a person reads them.

Read on the Core tables (obligations.tables) alone, through a session or a bare connection: `due` answers
without loading the ORM, pydantic and the model classes, which would cost every call more than the list itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from calendars.model import Profile
from obligations import history, tables
from obligations.errors import NotFound, not_found

if TYPE_CHECKING:
    from obligations.tables import Reader

# A task's status as a person reads it, everywhere (due, scores, confirmations). "waived" is an exemption
# (免办: `waive --exempt`); an extension leaves the task open with its due date moved. "exempt" is the same
# state under the word some stored rows carry.
TASK_STATUS_LABELS = {"open": "待办", "overdue": "逾期", "done": "已完成", "waived": "免办", "exempt": "免办"}


DUE_FIELDS = (
    "task_id",
    "org",
    "org_name",
    "rule",
    "title",
    "subject",
    "period",
    "period_start",
    "due",
    "status",
    "assignee",
    "done_count",
    "required_count",
    "days_left",
    "filing",
    "filed_on",
)

# The filing step of a rule whose record goes to the parent (报上级党组织备案), as part of a done task's state.
FILING_LABELS = {"pending": "待报备", "filed": "已报备"}


def filing_state(needs_filing: bool, status: str, filed_on: dt.date | None) -> str | None:
    """pending | filed for a done task whose rule asks for filing; None otherwise."""
    if not needs_filing or status != "done":
        return None
    return "filed" if filed_on is not None else "pending"


@dataclass(frozen=True)
class DueRow:
    task_id: int
    org: str
    org_name: str
    rule: str
    title: str
    subject: str
    subject_name: str
    period: str
    period_start: dt.date
    due: dt.date
    status: str  # open | overdue | done | waived | exempt
    assignee: str | None  # the member's name
    done_count: float
    required_count: float
    unit: str
    days_left: int
    filing: str | None = None  # pending | filed (报上级党组织备案), for done tasks whose rule asks for it
    filed_on: dt.date | None = None
    citation: str = ""  # the duty's 依据, for people (not part of the machine form)

    def record(self) -> dict[str, object]:
        """The stable machine form (`due --format json|csv`)."""
        return {
            "task_id": self.task_id,
            "org": self.org,
            "org_name": self.org_name,
            "rule": self.rule,
            "title": self.title,
            "subject": self.subject,
            "period": self.period,
            "period_start": self.period_start.isoformat(),
            "due": self.due.isoformat(),
            "status": self.status,
            "assignee": self.assignee,
            "done_count": _number(self.done_count),
            "required_count": _number(self.required_count),
            "days_left": self.days_left,
            "filing": self.filing,
            "filed_on": self.filed_on.isoformat() if self.filed_on else None,
        }


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def due_rows(
    reader: Reader,
    profiles: Mapping[str, Profile],
    *,
    as_of: dt.date,
    org: str | None = None,
    within: int = 30,
    overdue_only: bool = False,
    include_all: bool = False,
    rule: str | None = None,
    mine: Mine | None = None,
) -> list[DueRow]:
    return list(
        iter_due_rows(
            reader,
            profiles,
            as_of=as_of,
            org=org,
            within=within,
            overdue_only=overdue_only,
            include_all=include_all,
            rule=rule,
            mine=mine,
        )
    )


@dataclass(frozen=True)
class Mine:
    """One person's tasks: those assigned to them, their own (学时, 政治生日 …) and every task of the
    organizations they record for."""

    member: str
    orgs: frozenset[str] = frozenset()

    def condition(self) -> ColumnElement[bool]:
        own = and_(tables.task.c.subject == self.member, tables.task.c.subject_kind != "org")
        held = tables.task.c.assignee == self.member
        if not self.orgs:
            return or_(held, own)
        return or_(held, own, tables.task.c.org.in_(sorted(self.orgs)))


def iter_due_rows(
    reader: Reader,
    profiles: Mapping[str, Profile],
    *,
    as_of: dt.date,
    org: str | None = None,
    within: int = 30,
    overdue_only: bool = False,
    include_all: bool = False,
    rule: str | None = None,
    mine: Mine | None = None,
) -> Iterator[DueRow]:
    """The tasks `due` lists, in due-date order, streamed: a whole city's list need not fit in memory.

    People's names are looked up by key for each chunk of rows rather than joined: a join lets the database
    hash the whole member table, which costs more than the rows asked for when a subtree is small.
    """
    # An organization whose profile changed lists each task under the profile of its date (few of them).
    changed = history.changed_calendars(reader, profiles)
    query = (
        select(
            tables.task.c.id,
            tables.task.c.org,
            tables.task.c.rule,
            tables.task.c.subject,
            tables.task.c.subject_kind,
            tables.task.c.period,
            tables.task.c.period_start,
            tables.task.c.due,
            tables.task.c.status,
            tables.task.c.done_count,
            tables.task.c.required_count,
            tables.task.c.unit,
            tables.task.c.assignee,
            tables.task.c.filed_on,
            tables.organization.c.name,
            tables.organization.c.effective_profile,
            func.coalesce(tables.task.c.original_due, tables.task.c.due).label("owed_on"),
        )
        .join(tables.organization, tables.organization.c.code == tables.task.c.org)
        .where(tables.organization.c.active.is_(True))
    )
    if org is not None:
        query = query.where(_in_subtree(reader, org))
    if rule is not None:
        query = query.where(tables.task.c.rule == rule)
    if mine is not None:
        query = query.where(mine.condition())
    if overdue_only:
        query = query.where(tables.task.c.status == "open", tables.task.c.due < as_of)
    elif not include_all:
        # A done task whose record is still to be filed with the parent stays on the list until it is filed.
        filed_rules = {
            rule_id for p in profiles.values() for rule_id, r in p.rules.items() if r.record.file_with_parent
        }
        still_to_file = and_(
            tables.task.c.status == "done",
            tables.task.c.filed_on.is_(None),
            tables.task.c.rule.in_(sorted(filed_rules)),
        )
        query = query.where(
            or_(tables.task.c.status == "open", still_to_file),
            tables.task.c.due <= as_of + dt.timedelta(days=within),
        )
    query = query.order_by(
        tables.task.c.due, tables.task.c.org, tables.task.c.rule, tables.task.c.subject, tables.task.c.period
    )
    # (profile, rule) -> title, files with the parent, citation
    rules: dict[tuple[str, str], tuple[str, bool, str]] = {}
    result = reader.execute(query.execution_options(yield_per=2000))
    for chunk in result.partitions():
        wanted = {row.assignee for row in chunk if row.assignee} | {
            row.subject for row in chunk if row.subject_kind != "org"
        }
        names = _names(reader, wanted)
        for row in chunk:
            profile_id = row.effective_profile if row.org not in changed else _owed_profile(changed, row)
            known = rules.get((profile_id, row.rule))
            if known is None:
                profile = profiles.get(profile_id)
                defined = profile.rules.get(row.rule) if profile else None
                known = rules[(profile_id, row.rule)] = (
                    defined.title if defined else row.rule,
                    defined is not None and defined.record.file_with_parent,
                    defined.citation if defined else "",
                )
            title, files, citation = known
            filing = filing_state(files, row.status, row.filed_on)
            if row.status == "done" and not files and not include_all:
                continue  # a rule another profile files: this organization's done task is not listed
            subject_name = names.get(row.subject) if row.subject_kind != "org" else None
            yield DueRow(
                task_id=row.id,
                org=row.org,
                org_name=row.name,
                rule=row.rule,
                title=title,
                subject=row.subject,
                subject_name=subject_name or (row.name if row.subject == row.org else row.subject),
                period=row.period,
                period_start=row.period_start,
                due=row.due,
                status="overdue" if row.status == "open" and row.due < as_of else row.status,
                assignee=names.get(row.assignee) if row.assignee else None,
                done_count=row.done_count,
                required_count=row.required_count,
                unit=row.unit,
                days_left=(row.due - as_of).days,
                filing=filing,
                filed_on=row.filed_on if filing else None,
                citation=citation,
            )


def _names(reader: Reader, ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    wanted = sorted(ids)
    for index in range(0, len(wanted), 1000):
        query = select(tables.member.c.id, tables.member.c.name).where(
            tables.member.c.id.in_(wanted[index : index + 1000])
        )
        for member_id, name in reader.execute(query):
            found[member_id] = name
    return found


def _in_subtree(reader: Reader, code: str) -> ColumnElement[bool]:
    """Tasks of the subtree of active organization `code`: by the codes when the subtree is small, so that the
    (org, due) index leads (SQLite would otherwise scan the open tasks of the whole city), by the path range
    when it is large."""
    active = tables.organization.c.active.is_(True)
    path = reader.execute(
        select(tables.organization.c.path).where(tables.organization.c.code == code, active)
    ).scalar()
    if path is None:
        raise no_such_organization(reader, code)
    codes = list(
        reader.execute(select(tables.organization.c.code).where(tables.subtree(path), active)).scalars()
    )
    if len(codes) <= 2000:
        return tables.task.c.org.in_(codes)
    return tables.subtree(path)


def _owed_profile(changed: Mapping[str, history.Calendars], row: Any) -> str:
    """The id of the profile a listed task of an organization whose profile changed was owed under."""
    owed = history.owed_profile(changed[row.org], row.rule, row.period_start, row.owed_on)
    return owed.id if owed else row.effective_profile


def no_such_organization(reader: Reader, code: str) -> NotFound:
    """The error for `code`, which names no active organization, with the closest active codes."""
    active = tables.organization.c.active.is_(True)
    return not_found("组织", code, reader.execute(select(tables.organization.c.code).where(active)).scalars())
