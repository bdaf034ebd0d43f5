"""Read-side queries: what is due, and what an organization looks like."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from calendars.model import OrgKind, Profile
from calendars.periods import term
from obligations import history, roster
from obligations.errors import not_found
from obligations.models import Member, Organization, Position, Task
from obligations.roster import Headcount

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


def organization(session: Session, code: str) -> Organization:
    org = session.get(Organization, code)
    if org is None or not org.active:
        codes = session.exec(select(col(Organization.code)).where(col(Organization.active).is_(True))).all()
        raise not_found("组织", code, codes)
    return org


def branch_of(session: Session, member: Member) -> Organization:
    """The organization whose 支部大会 a member belongs to: their own, or the branch (or general branch) of
    the 党小组 they sit in (the read model's rule, roster.Roster.branch_of)."""
    return organization(session, roster.load(session, around=member.org).branch_of(member.org))


def members_of_branch(session: Session, branch: Organization) -> list[Member]:
    """The branch's active members, those of its 党小组 included, by id."""
    return sorted(roster.voting_member_rows(session, branch.code).values(), key=lambda member: member.id)


def subtree_filter(root: Organization) -> ColumnElement[bool]:
    """Paths of the subtree rooted at `root`: a range, so the path index serves it."""
    upper = root.path[:-1] + chr(ord("/") + 1)
    return and_(col(Organization.path) >= root.path, col(Organization.path) < upper)


def _in_subtree(session: Session, root: Organization) -> ColumnElement[bool]:
    """Tasks of the subtree: by the codes when the subtree is small, so that the (org, due) index leads
    (SQLite would otherwise scan the open tasks of the whole city), by the path range when it is large."""
    codes = list(
        session.exec(
            select(col(Organization.code)).where(subtree_filter(root), col(Organization.active).is_(True))
        )
    )
    if len(codes) <= 2000:
        return col(Task.org).in_(codes)
    return subtree_filter(root)


def due_rows(
    session: Session,
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
            session,
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
        own = and_(col(Task.subject) == self.member, col(Task.subject_kind) != "org")
        held = col(Task.assignee) == self.member
        if not self.orgs:
            return or_(held, own)
        return or_(held, own, col(Task.org).in_(sorted(self.orgs)))


def iter_due_rows(
    session: Session,
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
    changed = history.changed_calendars(session, profiles)
    query = (
        sa_select(
            col(Task.id),
            col(Task.org),
            col(Task.rule),
            col(Task.subject),
            col(Task.subject_kind),
            col(Task.period),
            col(Task.period_start),
            col(Task.due),
            col(Task.status),
            col(Task.done_count),
            col(Task.required_count),
            col(Task.unit),
            col(Task.assignee),
            col(Task.filed_on),
            col(Organization.name),
            col(Organization.effective_profile),
            func.coalesce(col(Task.original_due), col(Task.due)).label("owed_on"),
        )
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(col(Organization.active).is_(True))
    )
    if org is not None:
        query = query.where(_in_subtree(session, organization(session, org)))
    if rule is not None:
        query = query.where(col(Task.rule) == rule)
    if mine is not None:
        query = query.where(mine.condition())
    if overdue_only:
        query = query.where(col(Task.status) == "open", col(Task.due) < as_of)
    elif not include_all:
        # A done task whose record is still to be filed with the parent stays on the list until it is filed.
        filed_rules = {
            rule_id for p in profiles.values() for rule_id, r in p.rules.items() if r.record.file_with_parent
        }
        still_to_file = and_(
            col(Task.status) == "done", col(Task.filed_on).is_(None), col(Task.rule).in_(sorted(filed_rules))
        )
        query = query.where(
            or_(col(Task.status) == "open", still_to_file), col(Task.due) <= as_of + dt.timedelta(days=within)
        )
    query = query.order_by(col(Task.due), col(Task.org), col(Task.rule), col(Task.subject), col(Task.period))
    # (profile, rule) -> title, files with the parent, citation
    rules: dict[tuple[str, str], tuple[str, bool, str]] = {}
    result = session.execute(query.execution_options(yield_per=2000))
    for chunk in result.partitions():
        wanted = {row.assignee for row in chunk if row.assignee} | {
            row.subject for row in chunk if row.subject_kind != "org"
        }
        names = _names(session, wanted)
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


def _names(session: Session, ids: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    wanted = sorted(ids)
    for index in range(0, len(wanted), 1000):
        query = sa_select(col(Member.id), col(Member.name)).where(
            col(Member.id).in_(wanted[index : index + 1000])
        )
        for member_id, name in session.execute(query):
            found[member_id] = name
    return found


@dataclass(frozen=True)
class OrgView:
    org: Organization
    children: list[Organization]
    members: list[Member]
    positions: Sequence[tuple[Position, Member | None]]
    term_end: dt.date | None
    headcount: Headcount  # its own members and its 党小组's
    advice: list[str]  # the shape advisories of its profile that it meets, each with its clause


def org_view(session: Session, profiles: Mapping[str, Profile], code: str) -> OrgView:
    org = organization(session, code)
    children = list(
        session.exec(
            select(Organization)
            .where(col(Organization.parent) == code, col(Organization.active).is_(True))
            .order_by(col(Organization.code))
        )
    )
    members = list(
        session.exec(
            select(Member)
            .where(col(Member.org) == code, col(Member.active).is_(True))
            .order_by(col(Member.id))
        )
    )
    positions = list(
        session.exec(
            select(Position, Member)
            .outerjoin(Member, col(Member.id) == col(Position.member))
            .where(col(Position.org) == code)
            .order_by(col(Position.id))
        )
    )
    registry = roster.load(session, around=code, inactive=True)
    return OrgView(
        org,
        children,
        members,
        positions,
        term_end(org, profiles),
        registry.headcount(code),
        registry.advice(code, profiles),
    )


def _owed_profile(changed: Mapping[str, history.Calendars], row: Any) -> str:
    """The id of the profile a listed task of an organization whose profile changed was owed under."""
    owed = history.owed_profile(changed[row.org], row.rule, row.period_start, row.owed_on)
    return owed.id if owed else row.effective_profile


def term_end(org: Organization, profiles: Mapping[str, Profile]) -> dt.date | None:
    profile = profiles.get(org.effective_profile)
    rule = profile.rules.get("term-election") if profile else None
    if rule is None or org.elected_on is None:
        return None
    years = rule.term_for(OrgKind(org.kind), org.term_years)
    if years is None:
        return None
    return term(org.elected_on, years).end


def all_orgs(session: Session) -> list[Organization]:
    return list(
        session.exec(
            select(Organization).where(col(Organization.active).is_(True)).order_by(col(Organization.path))
        )
    )


def headcounts(session: Session, profiles: Mapping[str, Profile]) -> dict[str, tuple[Headcount, list[str]]]:
    """Every active organization's members (a branch's 党小组 included) and the shape advisories it meets."""
    registry = roster.load(session)
    return {code: (registry.headcount(code), registry.advice(code, profiles)) for code in registry.orgs}


def profiles_in_use(session: Session) -> set[str]:
    """The effective profiles of active organizations and of every organization with open tasks: the
    profiles that planning and reminding need (a task whose profile is missing would lose its reminders)."""
    # Runs before every plan check and sweep: the open tasks are probed per inactive organization through the
    # (org, due) index, never read whole (a city has millions of them; inactive organizations are few).
    profile = col(Organization.effective_profile)
    active = select(profile).where(col(Organization.active).is_(True)).distinct()
    open_task = select(col(Task.id)).where(
        col(Task.org) == col(Organization.code), col(Task.status) == "open"
    )
    pruned = select(profile).where(col(Organization.active).is_(False), open_task.exists()).distinct()
    return {*session.exec(active), *session.exec(pruned)}
