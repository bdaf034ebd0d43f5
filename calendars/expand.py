"""Expansion: rules x one organization's facts x a window of dates -> dated occurrences.

Pure and deterministic: the same profile, facts and window always give the same list, in the same order.

Which occurrences a window holds:
- periodic and quota rules: every period whose due date lies in the window;
- event rules: every trigger that has begun by the window's end and whose deadline is not before the
  window's start, except triggers that describe a present state (a seat still vacant, a term not yet
  renewed, a member still on probation): those stay outstanding, however old, until the facts change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from calendars import recurrence
from calendars.model import COMMITTEE_ROLES, OrgKind, Profile, Role, Rule, RuleKind, Subject, Trigger, Unit
from calendars.periods import Offset, Period, date_name, period_name, periods_overlapping, term


@dataclass(frozen=True)
class MemberFacts:
    id: str
    status: str = "full"  # full | probationary
    joined_on: dt.date | None = None
    probation_start: dt.date | None = None
    staff_since: dt.date | None = None  # full-time party staff (专职党务干部) since
    # Holds a 班子 seat (the committee of a branch, general branch, 党委 or 党组) anywhere: the larger quota
    # (56 学时). None: judged from this organization's own positions (facts built by hand).
    officer: bool | None = None
    probation_until: dt.date | None = None  # an extended probation's new end (延长预备期)
    dues_lapsed_from: dt.date | None = None  # first of six consecutive unpaid months (自行脱党)
    unqualified_on: dt.date | None = None  # a second consecutive 不合格 was decided (001 (十三)29)


@dataclass(frozen=True)
class PositionFacts:
    role: str
    member: str | None = None
    since: dt.date | None = None
    vacant_since: dt.date | None = None


@dataclass(frozen=True)
class OrgFacts:
    code: str
    kind: OrgKind
    members: tuple[MemberFacts, ...] = ()
    positions: tuple[PositionFacts, ...] = ()
    has_groups: bool = False
    elected_on: dt.date | None = None
    term_years: int | None = None
    full_members: int | None = None  # when members are not listed one by one
    # The 班子成员 of this organization's committee, wherever they sit (a branch secretary who sits in a 党小组,
    # a 党委委员 who sits in a branch): the subjects of officer rules. None: its own members who hold a seat.
    officers: tuple[MemberFacts, ...] | None = None

    @property
    def full_count(self) -> int:
        if self.full_members is not None:
            return self.full_members
        return sum(1 for member in self.members if member.status == "full")

    @property
    def officer_ids(self) -> frozenset[str]:
        """Holders of this organization's 班子 seats (a 党小组长 holds none)."""
        return frozenset(
            position.member
            for position in self.positions
            if position.member and position.role in COMMITTEE_ROLES
        )


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"窗口结束日期 {self.end} 早于开始日期 {self.start}")


class Occurrence(NamedTuple):
    """One dated duty. A named tuple: planning a city creates millions of them."""

    rule: str
    subject: str  # an organization code, or a member id for per-member duties
    subject_kind: Subject
    period: str  # stable key: 2026-11, 2026-Q4, 2023-11-20/P3Y, vacancy:deputy_secretary:2026-06-01, …
    start: dt.date
    due: dt.date
    required: int
    unit: Unit
    responsible: str

    @property
    def sort_key(self) -> tuple[dt.date, str, str, str]:
        return (self.due, self.rule, self.subject, self.period)


def applies(rule: Rule, org: OrgFacts) -> bool:
    condition = rule.applies_to
    if org.kind not in condition.kinds:
        return False
    full = org.full_count
    if condition.min_full_members is not None and full < condition.min_full_members:
        return False
    if condition.max_full_members is not None and full > condition.max_full_members:
        return False
    return condition.has_groups is None or condition.has_groups == org.has_groups


def expand(profile: Profile, org: OrgFacts, window: Window) -> list[Occurrence]:
    found: list[Occurrence] = []
    for rule in profile.rules.values():
        if not applies(rule, org):
            continue
        if rule.kind is RuleKind.EVENT:
            found.extend(_event(rule, org, window))
        else:
            found.extend(_periodic(rule, org, window))
    return sorted(found, key=lambda occurrence: occurrence.sort_key)


def _subjects(rule: Rule, org: OrgFacts) -> list[tuple[str, dt.date | None, bool]]:
    """(subject id, date from which the subject exists, holds a position) for each subject of the rule."""
    if rule.subject is Subject.ORG:
        return [(org.code, None, False)]
    officers = org.officer_ids
    statuses = rule.applies_to.member_status
    pool: tuple[MemberFacts, ...] = org.members
    if rule.subject is Subject.OFFICER:
        pool = org.officers if org.officers is not None else tuple(m for m in org.members if m.id in officers)
    chosen = []
    for member in pool:
        if statuses is not None and member.status not in statuses:
            continue
        officer = member.officer if member.officer is not None else member.id in officers
        chosen.append((member.id, member.joined_on, officer or rule.subject is Subject.OFFICER))
    return chosen


def _periodic(rule: Rule, org: OrgFacts, window: Window) -> Iterator[Occurrence]:
    assert rule.cadence is not None
    subjects = _subjects(rule, org)
    if not subjects:
        return
    joined = {subject: since for subject, since, _ in subjects}
    per_member = rule.due == "anniversary"
    for period in periods_overlapping(rule.cadence, window.start, window.end):
        if rule.effective_from is not None and period.end < rule.effective_from:
            continue
        if rule.effective_until is not None and period.start > rule.effective_until:
            continue
        # Planning a city expands millions of these: the period's due date is computed once, not per subject.
        shared_due = None if per_member else _due(rule, period, None)
        if not per_member and (shared_due is None or not window.start <= shared_due <= window.end):
            continue
        for subject, since, officer in subjects:
            if since is not None and period.end < since:
                continue
            due = _due(rule, period, joined.get(subject)) if per_member else shared_due
            if due is None or not window.start <= due <= window.end:
                continue
            if per_member and since is not None and due <= since:
                continue
            required = rule.officer_count if officer and rule.officer_count else rule.count
            yield Occurrence(
                rule.id,
                subject,
                rule.subject,
                period.key,
                period.start,
                due,
                required,
                rule.unit,
                rule.responsible,
            )


def _due(rule: Rule, period: Period, anchor: dt.date | None) -> dt.date | None:
    exception = rule.due_exceptions.get(period.key)
    if exception is not None:
        return exception
    if rule.due == "end":
        return period.end
    if rule.due == "start":
        return period.start
    if rule.due == "anniversary":
        if anchor is None:
            return None
        birthday = recurrence.anniversary_in(anchor, period.start.year)
        return birthday if period.start <= birthday <= period.end else None
    if rule.due.startswith("+"):
        return min(Offset.parse(rule.due).after(period.start) - dt.timedelta(days=1), period.end)
    month, day = (int(part) for part in rule.due.split("-"))
    if month == 2 and day == 29:
        return recurrence.shift(dt.date(period.start.year, 2, 1), months=1) - dt.timedelta(days=1)
    return dt.date(period.start.year, month, day)


def _event(rule: Rule, org: OrgFacts, window: Window) -> Iterator[Occurrence]:
    assert rule.trigger is not None
    for subject, key, start, due in _triggers(rule, org):
        if start > window.end:
            continue
        if due < window.start and not rule.trigger.persists:
            continue
        yield Occurrence(
            rule.id, subject, rule.subject, key, start, due, rule.count, rule.unit, rule.responsible
        )


def _triggers(rule: Rule, org: OrgFacts) -> Iterator[tuple[str, str, dt.date, dt.date]]:
    """(subject, period key, start, due) for every trigger of the rule present in the facts."""
    trigger = rule.trigger
    roles = rule.trigger_roles
    if trigger is Trigger.ELECTION:
        years = rule.term_for(org.kind, org.term_years)
        if org.elected_on is not None and years is not None:
            current = term(org.elected_on, years)
            yield org.code, current.key, current.start, current.end
        return
    assert rule.offset is not None
    offset = rule.offset
    positions = [position for position in org.positions if roles is None or position.role in roles]
    if trigger is Trigger.VACANCY:
        for position in positions:
            if position.member is None and position.vacant_since is not None:
                key = f"vacancy:{position.role}:{position.vacant_since.isoformat()}"
                yield org.code, key, position.vacant_since, offset.after(position.vacant_since)
    elif trigger is Trigger.APPOINTMENT:
        for position in positions:
            if position.member is not None and position.since is not None:
                subject = position.member if rule.subject is not Subject.ORG else org.code
                key = f"appointment:{position.role}:{position.since.isoformat()}"
                yield subject, key, position.since, offset.after(position.since)
    elif trigger is Trigger.PROBATION:
        for member in org.members:
            if member.status == "probationary" and member.probation_start is not None:
                end = offset.after(member.probation_start)
                if member.probation_until is not None:  # extended: a new review at the new end
                    yield (
                        member.id,
                        f"probation-extended:{member.probation_until}",
                        end,
                        member.probation_until,
                    )
                    continue
                key = f"probation:{member.probation_start.isoformat()}"
                yield member.id, key, member.probation_start, end
    elif trigger is Trigger.STAFF:
        for member in org.members:
            if member.staff_since is not None:
                key = f"staff:{member.staff_since.isoformat()}"
                yield member.id, key, member.staff_since, offset.after(member.staff_since)
    elif trigger is Trigger.DUES_LAPSE:
        for member in org.members:
            if member.dues_lapsed_from is not None:
                # Known once the sixth unpaid month has ended: the procedure starts the day after.
                known = recurrence.shift(member.dues_lapsed_from, months=6)
                key = f"dues:{member.dues_lapsed_from:%Y-%m}"
                yield member.id, key, known, offset.after(known)
    elif trigger is Trigger.UNQUALIFIED:
        for member in org.members:
            if member.unqualified_on is not None:
                key = f"unqualified:{member.unqualified_on.isoformat()}"
                yield member.id, key, member.unqualified_on, offset.after(member.unqualified_on)


_EVENT_LABELS = {
    "vacancy": "空缺",
    "appointment": "任职",
    "probation": "预备期",
    "staff": "专职党务工作",
    "dues": "未交党费",
    "unqualified": "连续两年不合格",
}


def period_label(key: str) -> str:
    """A period key as a person reads it: 2026年第四季度, 2023年11月20日起3年任期, 副书记空缺（2026年6月1日起）…

    Calendar periods and terms are named by `calendars.periods.period_name`; this adds the event keys."""
    event, _, rest = key.partition(":")
    if event == "probation-extended":
        return f"延长预备期至 {rest}"
    if event not in _EVENT_LABELS:
        return period_name(key)
    role, _, day = rest.rpartition(":")
    try:
        since = date_name(dt.date.fromisoformat(day))
    except ValueError:
        return key
    label = Role(role).label if role in Role._value2member_map_ else role
    return f"{label}{_EVENT_LABELS[event]}（{since}起）"


def duty_name(title: str, period: str, subject_name: str = "") -> str:
    """One task as a person names it: 支部党员大会（2026年第四季度）, 党员政治生日·张三（2026年）."""
    who = f"·{subject_name}" if subject_name else ""
    return f"{title}{who}（{period_label(period)}）"
