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

# The seats of a 班子 (the committee of a branch, general branch, 党委 or 党组): every role but the 党小组长's.
# Who holds one of them is a 班子成员 (56 学时); a 党小组长 without one is an ordinary member.
COMMITTEE_ROLES = frozenset(role.value for role in Role if role is not Role.GROUP_LEADER)


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


# The steps of the shipped ladders, as a person reads them in messages and in `rules show`. A step of a local
# ladder with another name gives its own `label` in the profile, or is named after its offset.
STEP_LABELS = {
    "six-months": "提前六个月提醒",
    "three-months": "提前三个月提醒",
    "one-month": "提前一个月提醒",
    "early": "提前一个月提醒",
    "upcoming": "即将到期",
    "final": "最后提醒",
    "overdue": "已逾期",
    "escalated": "逾期督办",
}


def step_label(name: str, at: Offset | None = None) -> str:
    """The Chinese name of a ladder step: the shipped name's label, else one made from its offset."""
    if name in STEP_LABELS:
        return STEP_LABELS[name]
    if at is None:
        return "提醒"
    if _sign(at) < 0:
        return f"到期前{at.label}提醒"
    return f"逾期{at.label}提醒" if _sign(at) > 0 else "到期当日提醒"


@dataclass(frozen=True)
class LadderStep:
    name: str  # upcoming, final, overdue, escalated, …
    at: Offset  # relative to the due date: -7d is a week before, +1d the day after
    notify: tuple[str, ...]
    title: str = ""  # the profile's own label for the step; by default STEP_LABELS or one from the offset

    @property
    def label(self) -> str:
        return self.title or step_label(self.name, self.at)


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


class Evidence(StrEnum):
    """A field a completion record may have to show (003 二(四)3: 时间、地点、方式、参加人员和活动内容)."""

    PLACE = "place"
    FORM = "form"
    HOST = "host"
    ATTENDEES = "attendees"
    TOPIC = "topic"
    MINUTES = "minutes"
    HOURS = "hours"
    LECTURER = "lecturer"

    @property
    def label(self) -> str:
        return EVIDENCE_LABELS[self]


EVIDENCE_LABELS = {
    Evidence.PLACE: "地点",
    Evidence.FORM: "方式",
    Evidence.HOST: "主持人",
    Evidence.ATTENDEES: "参加人员",
    Evidence.TOPIC: "主题和内容",
    Evidence.MINUTES: "会议记录",
    Evidence.HOURS: "学时",
    Evidence.LECTURER: "主讲人",
}


@dataclass(frozen=True)
class RecordSpec:
    """What a completion record must show, declared per rule: the web form and the ledger both read it.

    `required` lists the fields a record is refused without (the date is always required); `quorum` is whose
    majority must attend; `lecturer` the seat the lecturer must hold on the day (a vacant one is stood in for by
    the deputy); `file_with_parent` adds a filing step (报上级党组织备案) after the task is done.
    """

    required: frozenset[Evidence] = frozenset()
    quorum: Quorum | None = None
    lecturer: Role | None = None
    file_with_parent: bool = False  # 会后报上级党组织备案

    def requires(self, evidence: Evidence) -> bool:
        return evidence in self.required

    @property
    def fields(self) -> tuple[Evidence, ...]:
        """The required fields in form order."""
        return tuple(evidence for evidence in Evidence if evidence in self.required)

    def as_data(self) -> dict[str, object]:
        """The declaration in machine form (`rules list --format json`; the web desk builds its form from it)."""
        return {
            "required": [evidence.value for evidence in self.fields],
            "quorum": self.quorum.value if self.quorum else None,
            "lecturer": self.lecturer.value if self.lecturer else None,
            "file_with_parent": self.file_with_parent,
        }

    def describe(self, unit: Unit = Unit.TIMES) -> str:
        parts = ["日期", *(evidence.label for evidence in self.fields)]
        if self.lecturer is not None:
            stand_in = "（空缺时由副书记代）" if self.lecturer is Role.SECRETARY else ""
            parts[parts.index(Evidence.LECTURER.label)] = f"主讲人须为{self.lecturer.label}{stand_in}"
        if self.quorum is not None:
            parts.append(self.quorum.label)
        if unit is Unit.DAYS:
            parts.append("按不同日期计天数")
        if self.file_with_parent:
            parts.append("报上级党组织备案")
        return "、".join(parts)


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

    @property
    def citation(self) -> str:
        """Every document that sets this rule for an organization of its profile, baseline first: the
        national clause and then each overlay's own (a city's override adds its clause, it does not hide the
        national one). What a person is shown as the rule's 依据."""
        sources: list[str] = []
        for layer in self.provenance:
            if layer.source and layer.source not in sources:
                sources.append(layer.source)
        if self.source and self.source not in sources:
            sources.append(self.source)
        return "；".join(sources)

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

    def describe_record(self) -> str:
        """What a record of this rule must show (台账要求), for `rules show`, the calendar and the README."""
        return self.record.describe(self.unit)

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


class Basis(StrEnum):
    """What an organization-shape advisory counts."""

    MEMBERS = "members"  # 党员 (full and probationary), a branch's 党小组 included
    FULL_MEMBERS = "full_members"  # 正式党员

    @property
    def label(self) -> str:
        return {"members": "党员", "full_members": "正式党员"}[self.value]


@dataclass(frozen=True)
class Advisory:
    """A shape an organization is expected to have (设置规范), from one clause: a registry that departs from it
    is warned about, never refused (the parent decides when to split or merge)."""

    id: str
    kinds: frozenset[OrgKind]
    basis: Basis
    message: str  # what the clause expects, as a sentence: 党员人数在20人以上的党支部应当划分党小组
    source: str
    min: int | None = None  # the count is at least this
    max: int | None = None  # and at most this
    without_groups: bool = False  # only an organization that has no 党小组

    def applies(self, kind: OrgKind, members: int, full: int, has_groups: bool) -> bool:
        count = members if self.basis is Basis.MEMBERS else full
        return (
            kind in self.kinds
            and (self.min is None or count >= self.min)
            and (self.max is None or count <= self.max)
            and not (self.without_groups and has_groups)
        )

    def describe(self, members: int, full: int) -> str:
        count = members if self.basis is Basis.MEMBERS else full
        return f"{self.message}（现有{self.basis.label} {count} 人；依据：{self.source}）"


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
    advisories: Mapping[str, Advisory] = field(default_factory=dict)  # 组织设置 expectations, by id

    def shape_advice(self, kind: OrgKind, members: int, full: int, has_groups: bool) -> list[str]:
        """The advisories an organization of this shape gets, each with its count and clause."""
        return [
            advisory.describe(members, full)
            for advisory in self.advisories.values()
            if advisory.applies(kind, members, full, has_groups)
        ]
