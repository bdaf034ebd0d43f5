"""The vocabulary of duty calendars: organization kinds, roles, rules, ladders and profiles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from calendars.periods import Cadence, Offset


class OrgKind(StrEnum):
    COMMITTEE = "committee"  # 党委 / 机关党委 / 基层委员会
    GENERAL_BRANCH = "general_branch"  # 党总支
    BRANCH = "branch"  # 党支部
    GROUP = "group"  # 党小组
    LEADING_GROUP = "leading_group"  # 党组

    @property
    def label(self) -> str:
        return ORG_KIND_LABELS[self]


ORG_KIND_LABELS = {
    OrgKind.COMMITTEE: "党委",
    OrgKind.GENERAL_BRANCH: "党总支",
    OrgKind.BRANCH: "党支部",
    OrgKind.GROUP: "党小组",
    OrgKind.LEADING_GROUP: "党组",
}


class Role(StrEnum):
    SECRETARY = "secretary"
    DEPUTY_SECRETARY = "deputy_secretary"
    ORGANIZATION = "organization"
    PROPAGANDA = "propaganda"
    DISCIPLINE = "discipline"
    GROUP_LEADER = "group_leader"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.SECRETARY: "书记",
    Role.DEPUTY_SECRETARY: "副书记",
    Role.ORGANIZATION: "组织委员",
    Role.PROPAGANDA: "宣传委员",
    Role.DISCIPLINE: "纪检委员",
    Role.GROUP_LEADER: "党小组长",
}


class RuleKind(StrEnum):
    PERIODIC = "periodic"  # a meeting or act each period (count per period, usually 1)
    EVENT = "event"  # a deadline relative to a trigger date (election, vacancy, appointment, …)
    QUOTA = "quota"  # an amount accumulated over a period (hours, times, days)

    @property
    def label(self) -> str:
        return {"periodic": "周期", "event": "事件期限", "quota": "定额"}[self.value]


class Subject(StrEnum):
    ORG = "org"  # the organization itself
    MEMBER = "member"  # each member of the organization
    OFFICER = "officer"  # each member holding a position in the organization

    @property
    def label(self) -> str:
        return {"org": "组织", "member": "每名党员", "officer": "每名班子成员"}[self.value]


class Trigger(StrEnum):
    ELECTION = "election"  # the organization's last election (elected_on): the term ends term_years later
    VACANCY = "vacancy"  # a position fell vacant (vacant_since)
    APPOINTMENT = "appointment"  # a member took a position (position since)
    PROBATION = "probation"  # a probationary member's probation started
    STAFF = "staff"  # a member became full-time party staff (专职党务干部)
    DUES_LAPSE = "dues_lapse"  # six consecutive months without dues (党章 第九条: 自行脱党)
    UNQUALIFIED = "unqualified"  # graded 不合格 in two consecutive 民主评议 (001 (十三)29)

    @property
    def persists(self) -> bool:
        """Whether the trigger describes a present state that stays outstanding until it changes.

        A seat still vacant, a term not yet renewed, a member still probationary or still on the staff post
        remain due however long ago they began; an appointment is a past event that ages out of view.
        """
        return self is not Trigger.APPOINTMENT

    @property
    def label(self) -> str:
        return {
            "election": "上次换届选举",
            "vacancy": "职位空缺",
            "appointment": "任职",
            "probation": "预备期开始",
            "staff": "从事专职党务工作",
            "dues_lapse": "连续6个月未交纳党费",
            "unqualified": "连续两年评定为不合格",
        }[self.value]


class Unit(StrEnum):
    TIMES = "times"
    HOURS = "hours"
    DAYS = "days"

    @property
    def label(self) -> str:
        return {"times": "次", "hours": "学时", "days": "天"}[self.value]


class Quorum(StrEnum):
    MAJORITY_OF_FULL = "majority_of_full"  # 超过半数正式党员到会（党员大会）
    MAJORITY_OF_COMMITTEE = "majority_of_committee"  # 超过半数委员到会（支委会）
    FOUR_FIFTHS_OF_VOTING = "four_fifths_of_voting"  # 超过应到会有选举权党员的五分之四（选举）

    @property
    def label(self) -> str:
        return {
            "majority_of_full": "到会正式党员须超过半数",
            "majority_of_committee": "到会委员须超过半数",
            "four_fifths_of_voting": "到会有选举权党员须超过五分之四",
        }[self.value]


# Who is told: the responsible person, or a secretary up the tree.
RECIPIENTS = ("responsible", "secretary", "parent.secretary", "grandparent.secretary", "parent.organization")
# Who holds a duty: a role of the organization, the member it concerns, or the parent's secretary.
RESPONSIBLES = (*(role.value for role in Role), "member", "parent.secretary")


@dataclass(frozen=True)
class LadderStep:
    name: str  # upcoming, final, overdue, escalated, …
    at: Offset  # relative to the due date: -7d is a week before, +1d the day after
    notify: tuple[str, ...]


@dataclass(frozen=True)
class Ladder:
    name: str
    steps: tuple[LadderStep, ...]

    @property
    def lead_times(self) -> tuple[Offset, ...]:
        """The steps before the due date, as distances ahead of it (6m, 3m, 1m; 7d, 1d)."""
        negative = [step.at for step in self.steps if _sign(step.at) < 0]
        return tuple(Offset(-o.years, -o.months, -o.weeks, -o.days) for o in negative)


def _sign(offset: Offset) -> int:
    for amount in (offset.years, offset.months, offset.weeks, offset.days):
        if amount:
            return 1 if amount > 0 else -1
    return 0


@dataclass(frozen=True)
class Applicability:
    kinds: frozenset[OrgKind]
    min_full_members: int | None = None
    max_full_members: int | None = None
    has_groups: bool | None = None
    member_status: frozenset[str] | None = None  # for per-member rules: full, probationary

    def describe(self) -> str:
        order = list(OrgKind)
        parts = ["、".join(kind.label for kind in sorted(self.kinds, key=order.index))]
        if self.min_full_members is not None:
            parts.append(f"正式党员≥{self.min_full_members}人")
        if self.max_full_members is not None:
            parts.append(f"正式党员≤{self.max_full_members}人")
        if self.has_groups is True:
            parts.append("设党小组")
        if self.has_groups is False:
            parts.append("未设党小组")
        if self.member_status == frozenset({"probationary"}):
            parts.append("预备党员")
        if self.member_status == frozenset({"full"}):
            parts.append("正式党员")
        return "，".join(parts)


@dataclass(frozen=True)
class RecordSpec:
    """What a completion record must show (台账: 时间、地点、方式、参加人员和活动内容)."""

    attendees: bool = False
    minutes: bool = False
    hours: bool = False
    quorum: Quorum | None = None
    file_with_parent: bool = False  # 会后报上级党组织备案

    def describe(self) -> str:
        parts = []
        if self.attendees:
            parts.append("参加人员")
        if self.quorum is not None:
            parts.append(self.quorum.label)
        if self.minutes:
            parts.append("会议记录")
        if self.hours:
            parts.append("学时")
        if self.file_with_parent:
            parts.append("报上级党组织备案")
        return "、".join(parts) or "完成日期"


@dataclass(frozen=True)
class Provenance:
    """One layer's contribution to a rule, for `rules show`."""

    profile: str
    action: str  # defined | overridden
    fields: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    kind: RuleKind
    applies_to: Applicability
    source: str
    ladder: Ladder
    subject: Subject = Subject.ORG
    responsible: str = "secretary"
    cadence: Cadence | None = None
    due: str = "end"  # end | start | +1m (within the first month) | MM-DD | anniversary
    due_exceptions: Mapping[str, dt.date] = field(default_factory=dict)
    trigger: Trigger | None = None
    offset: Offset | None = None
    term_years: Mapping[OrgKind, int] = field(default_factory=dict)
    term_years_allowed: Mapping[OrgKind, tuple[int, ...]] = field(default_factory=dict)
    trigger_roles: frozenset[str] | None = None  # for vacancy/appointment: which positions count
    count: int = 1
    officer_count: int | None = None  # a larger quota for members holding a position (56 学时)
    unit: Unit = Unit.TIMES
    record: RecordSpec = RecordSpec()
    effective_from: dt.date | None = None
    effective_until: dt.date | None = None
    note: str = ""
    provenance: tuple[Provenance, ...] = ()

    def describe_cadence(self) -> str:
        if self.kind is RuleKind.EVENT:
            if self.trigger is Trigger.ELECTION:
                terms = "，".join(
                    f"{kind.label}{self._term_text(kind)}" for kind, _ in self.term_years.items()
                )
                return f"任期届满换届（{terms}）"
            assert self.trigger is not None and self.offset is not None
            return f"{self.trigger.label}后{self.offset.label}内"
        assert self.cadence is not None
        text = self.cadence.label
        if self.kind is RuleKind.QUOTA or self.count > 1:
            amount = (
                self.count if self.officer_count is None else f"{self.count}（班子成员{self.officer_count}）"
            )
            text += f"不少于{amount}{self.unit.label}"
        if self.due == "anniversary":
            text += "（入党纪念日）"
        elif self.due not in ("end", "start"):
            text += f"（{self.due_label()}）"
        return text

    def due_label(self) -> str:
        if self.due.startswith("+"):
            return f"周期开始后{Offset.parse(self.due).label}内"
        if self.due == "start":
            return "周期开始时"
        month, day = self.due.split("-")
        return f"{int(month)}月{int(day)}日前"

    def _term_text(self, kind: OrgKind) -> str:
        allowed = self.term_years_allowed.get(kind)
        if allowed and len(allowed) > 1:
            return "或".join(str(year) for year in allowed) + "年"
        return f"{self.term_years[kind]}年"

    def term_for(self, kind: OrgKind, declared: int | None) -> int | None:
        """The term length of an organization of `kind` that declares `declared` years (or none)."""
        default = self.term_years.get(kind)
        if default is None:
            return None
        allowed = self.term_years_allowed.get(kind, (default,))
        if declared is not None and declared in allowed:
            return declared
        return default


@dataclass(frozen=True)
class Profile:
    id: str
    title: str
    document: str
    chain: tuple[str, ...]  # this profile first, then what it extends, down to the baseline
    rules: Mapping[str, Rule]
    ladders: Mapping[str, Ladder]
    disabled: Mapping[str, str]  # rule id -> reason, for rules a parent has and this profile switches off
    path: str = ""
