"""Scoring an organization against an assessment checklist (考核细则) from its records.

An item that names a rule is scored from the rule's tasks in the year: points × (periods done) / (periods
expected). The periods expected are those the calendar model gives the organization for the year together
with the tasks the planner kept (an overdue 支委会 stays owed after the branch shrank); a period whose task
was exempted (免于执行) is not expected. A period counts as done when its task was done by `as_of`. A rule
that gives the organization no period in the year (a branch of 5 full members has no 支委会) makes the item
不适用: its points leave the computable maximum. A rule of 党小组 is counted over the branch's groups.

History is not rewritten: each period is owed under the profile in force for it (`history.owed_profile`, the
periods `history.Calendars.expand` gives), so a year split by a change of profile is the sum of its parts,
each under its own rule, and a rule only the earlier profile had is still owed for its periods before the change.

Everything else on the checklist is for a person to judge, and the pass line can only be decided with those
points: the result says how much of it is computable, how much is left to judgment, and what that implies.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlmodel import Session, col, select

from calendars.checklists import VETO_CHECKS, Checklist, Item, Veto
from calendars.expand import OrgFacts, Window, applies, period_label
from calendars.model import OrgKind, Profile, Role
from obligations import history, planner, render, roster
from obligations.duelist import TASK_STATUS_LABELS
from obligations.errors import NotFound, UserError
from obligations.models import (
    Completion,
    CompletionTask,
    Member,
    Organization,
    Position,
    Task,
)
from obligations.queries import organization
from obligations.render import FreeText

# Period states: done by as_of; overdue (due before as_of, not done); pending (not yet due); waived (免于执行).
STATUS_LABELS = {
    "done": "已开展",
    "overdue": "逾期未开展",
    "pending": "尚未到期",
    "waived": TASK_STATUS_LABELS["waived"],
}
PASS_LABELS = {
    "vetoed": "一票否决",
    "reached": "可计算部分已达合格线",
    "unreachable": "已无法达到合格线",
    "undetermined": "取决于人工评定",
    "unknown": "无法判断（无评估表分值）",
}


@dataclass(frozen=True)
class Evidence:
    """A completion (台账记录) that proves a period."""

    id: int
    held_on: dt.date
    topic: str | None


@dataclass(frozen=True)
class PeriodCheck:
    org: str
    org_name: str
    period: str
    due: dt.date
    status: str  # done | overdue | pending | waived
    task_id: int | None  # None: the model expects the period but no task was ever planned for it
    completions: tuple[Evidence, ...] = ()
    profile: str = ""  # the profile the period is owed under (history.owed_profile)

    @property
    def label(self) -> str:
        return period_label(self.period)


@dataclass(frozen=True)
class Basis:
    """A profile the organization followed during the year, from `start` to `end`, and the rule as it defines
    it (title and source None: the profile has no such rule, so nothing of it falls due then)."""

    profile: str
    start: dt.date
    end: dt.date
    title: str | None
    source: str | None
    cadence: str | None


@dataclass(frozen=True)
class Tally:
    """One rule's periods in the year for an organization (or each of its 党小组)."""

    rule: str
    title: str
    source: str
    periods: tuple[PeriodCheck, ...]
    not_applicable: str | None = None  # why the organization has no period of this rule in the year
    groups: int | None = None  # counted over this many 党小组
    bases: tuple[Basis, ...] = ()  # the profiles in force during the year, oldest first

    @property
    def split(self) -> bool:
        """The year falls under more than one profile: each period is owed under its own."""
        return len(self.bases) > 1

    @property
    def done(self) -> int:
        return sum(1 for period in self.periods if period.status == "done")

    @property
    def pending(self) -> int:
        return sum(1 for period in self.periods if period.status == "pending")

    @property
    def expected(self) -> int:
        return sum(1 for period in self.periods if period.status != "waived")

    @property
    def missing(self) -> list[PeriodCheck]:
        return [period for period in self.periods if period.status in ("overdue", "pending")]

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.done, self.expected) if self.expected else None


@dataclass(frozen=True)
class ItemResult:
    item: Item
    status: str  # scored | not_applicable | manual | rate (a checklist without points)
    tally: Tally | None = None
    related: tuple[Tally, ...] = ()

    @property
    def score(self) -> Fraction | None:
        if self.status != "scored" or self.item.points is None or self.tally is None:
            return None
        return self.item.points * Fraction(self.tally.done, self.tally.expected)

    @property
    def attainable(self) -> Fraction | None:
        """The score if every period not yet due is still held on time."""
        if self.status != "scored" or self.item.points is None or self.tally is None:
            return None
        return self.item.points * Fraction(self.tally.done + self.tally.pending, self.tally.expected)


@dataclass(frozen=True)
class VetoResult:
    veto: Veto
    triggered: bool | None  # None: the registry cannot tell, a person must check
    detail: str = ""


@dataclass(frozen=True)
class Scorecard:
    checklist: Checklist
    org: str
    org_name: str
    org_profile: str
    year: int
    as_of: dt.date
    items: tuple[ItemResult, ...]
    vetoes: tuple[VetoResult, ...]
    profiles: tuple[tuple[str, dt.date, dt.date], ...] = ()  # the profiles followed in the year, oldest first

    def _points(self, status: str) -> Fraction:
        return sum((r.item.points or Fraction(0) for r in self.items if r.status == status), Fraction(0))

    @property
    def score(self) -> Fraction:
        return sum((r.score or Fraction(0) for r in self.items), Fraction(0))

    @property
    def attainable(self) -> Fraction:
        return sum((r.attainable or Fraction(0) for r in self.items), Fraction(0))

    @property
    def computable_max(self) -> Fraction:
        return self._points("scored")

    @property
    def unscored_points(self) -> Fraction:
        return self._points("manual")

    @property
    def not_applicable_points(self) -> Fraction:
        return self._points("not_applicable")

    @property
    def vetoed(self) -> bool:
        return any(result.triggered for result in self.vetoes)

    @property
    def pass_status(self) -> str:
        if self.vetoed:
            return "vetoed"
        if not self.checklist.scored:
            return "unknown"
        if self.score >= self.checklist.pass_line:
            return "reached"
        if self.attainable + self.unscored_points < self.checklist.pass_line:
            return "unreachable"
        return "undetermined"

    @property
    def needed_from_unscored(self) -> Fraction | None:
        """What the judged items must still give for the pass line, with the computable part as it stands."""
        if self.pass_status != "undetermined":
            return None
        return self.checklist.pass_line - self.score


# ---------------------------------------------------------------------------------------------------
# Choosing a checklist


def choose_checklist(
    checklists: Mapping[str, Checklist], profile: Profile, wanted: str | None, org_label: str
) -> Checklist:
    """The checklist asked for, or the one for the organization's duty calendar (or one it extends)."""
    if wanted is not None:
        if wanted not in checklists:
            raise _unknown_checklist(checklists, wanted)
        return checklists[wanted]
    for profile_id in profile.chain:
        for checklist in sorted(checklists.values(), key=lambda c: c.id):
            if checklist.profile == profile_id:
                return checklist
    known = "、".join(f"{c.id}（{c.title}）" for c in sorted(checklists.values(), key=lambda c: c.id))
    raise UserError(
        f"{org_label}执行的职责日历 {profile.id} 没有对应的考核细则，请用 --checklist 指定：{known}。",
        exit_code=2,
    )


def _unknown_checklist(checklists: Mapping[str, Checklist], wanted: str) -> NotFound:
    known = "、".join(sorted(checklists))
    return NotFound(f"没有考核细则 {wanted!r}，可选：{known}。")


# ---------------------------------------------------------------------------------------------------
# Scoring


def score(
    session: Session,
    profiles: Mapping[str, Profile],
    checklist: Checklist,
    org_code: str,
    year: int,
    as_of: dt.date,
) -> Scorecard:
    org = organization(session, org_code)
    kind = OrgKind(org.kind)
    if kind not in checklist.applies_to:
        kinds = "、".join(k.label for k in sorted(checklist.applies_to, key=list(OrgKind).index))
        raise UserError(f"《{checklist.title}》适用于{kinds}，{org.name}（{org.code}）是{kind.label}。")
    calendars = _calendars(session, profiles, org)
    results: list[ItemResult] = []
    for item in checklist.items:
        related = tuple(
            _tally(session, profiles, calendars, checklist, org, rule_id, year, as_of)
            for rule_id in item.related
        )
        if item.rule is None:
            results.append(ItemResult(item, "manual", related=related))
            continue
        tally = _tally(session, profiles, calendars, checklist, org, item.rule, year, as_of)
        if tally.not_applicable is not None:
            status = "not_applicable"
        else:
            status = "scored" if item.points is not None else "rate"
        results.append(ItemResult(item, status, tally))
    vetoes = tuple(_veto(session, org, veto) for veto in checklist.vetoes)
    followed = tuple((profile.id, start, end) for start, end, profile in calendars.within(*_year(year)))
    return Scorecard(
        checklist, org.code, org.name, org.effective_profile, year, as_of, tuple(results), vetoes, followed
    )


def _year(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _calendars(session: Session, profiles: Mapping[str, Profile], org: Organization) -> history.Calendars:
    """The profiles the organization followed, each from its date (history is not rewritten)."""
    found = history.calendars_of(session, profiles, org.code, org.effective_profile)
    if found is None:  # the plan brought up to date before scoring refuses this first
        raise UserError(
            f"{org.name}（{org.code}）的职责日历 {org.effective_profile} 不存在，请检查职责日历目录或组织的 profile。",
            exit_code=3,
        )
    return found


def _basis(rule_id: str, profile: Profile, start: dt.date, end: dt.date) -> Basis:
    rule = profile.rules.get(rule_id)
    if rule is None:
        return Basis(profile.id, start, end, None, None, None)
    return Basis(profile.id, start, end, rule.title, rule.source, rule.describe_cadence())


def _tally(
    session: Session,
    profiles: Mapping[str, Profile],
    calendars: history.Calendars,
    checklist: Checklist,
    org: Organization,
    rule_id: str,
    year: int,
    as_of: dt.date,
) -> Tally:
    """The rule's periods in the year, each owed under the profile in force for it (`history.owed_profile`):
    a year split by a change of profile is the sum of its parts, each under its own rule. `calendars` are
    the organization's."""
    window = Window(*_year(year))
    spans = calendars.within(window.start, window.end)
    bases = tuple(_basis(rule_id, profile, start, end) for start, end, profile in spans)
    defining = [profile.rules[rule_id] for _, _, profile in spans if rule_id in profile.rules]
    rule = defining[-1] if defining else None  # as the last profile of the year to hold it defines it
    known = rule or profiles[checklist.profile].rules[rule_id]  # the loader checked it is there
    title, source = known.title, known.source
    if rule is None:
        followed = [basis.profile for basis in bases]
        whose = org.name if followed == [org.effective_profile] else f"{org.name}{year}年"
        every = "均" if len(followed) > 1 else ""
        reason = f"{whose}执行的职责日历 {'、'.join(followed)} {every}没有此项职责"
        return Tally(rule_id, title, source, (), reason, bases=bases)
    groups: list[Organization] | None = None
    targets = [org]
    if OrgKind(org.kind) not in rule.applies_to.kinds and OrgKind.GROUP in rule.applies_to.kinds:
        groups = _groups(session, org.code)
        targets = groups
        if not groups:
            return Tally(
                rule_id, title, source, (), f"{org.name}未设党小组，没有党小组会", groups=0, bases=bases
            )
    periods: list[tuple[Organization, str, dt.date, Task | None, str]] = []
    for target in targets:
        owned = calendars if target is org else _calendars(session, profiles, target)
        expected: dict[str, tuple[dt.date, dt.date, Task | None]] = {}
        for _, occurrence in owned.only(rule_id).expand(_facts(session, target), window):
            if occurrence.subject == target.code:
                expected[occurrence.period] = (occurrence.start, occurrence.due, None)
        tasks = session.exec(
            select(Task).where(
                col(Task.org) == target.code, col(Task.rule) == rule_id, col(Task.subject) == target.code
            )
        ).all()
        for task in tasks:
            # An approved extension moves the due date, not the period into another year.
            if (task.original_due or task.due).year == year:
                expected[task.period] = (task.period_start, task.due, task)
        for key, (start, due, planned) in expected.items():
            owed_on = (planned.original_due or due) if planned else due
            owed = history.owed_profile(owned, rule_id, start, owed_on)
            periods.append((target, key, due, planned, owed.id if owed else target.effective_profile))
    if not periods:
        facts = _facts(session, org)
        if not any(applies(each, facts) for each in defining):
            reason = (
                f"该职责适用于{rule.applies_to.describe()}；{org.name}正式党员 {facts.full_count} 人"
                f"{'，设党小组' if facts.has_groups else ''}"
            )
        else:
            reason = f"{year}年没有该职责的周期"
        counted = len(groups) if groups is not None else None
        return Tally(rule_id, title, source, (), reason, groups=counted, bases=bases)
    evidence = _evidence(session, [task.id for _, _, _, task, _ in periods if task and task.id], as_of)
    checks = [
        _check(target, key, due, task, owed, evidence, as_of)
        for target, key, due, task, owed in sorted(periods, key=lambda p: (p[0].path, p[2], p[1]))
    ]
    exempted = None if any(check.status != "waived" for check in checks) else f"{year}年的各周期均免办"
    counted = len(groups) if groups is not None else None
    return Tally(rule_id, title, source, tuple(checks), exempted, groups=counted, bases=bases)


def _check(
    target: Organization,
    period: str,
    due: dt.date,
    task: Task | None,
    owed: str,
    evidence: Mapping[int, list[Evidence]],
    as_of: dt.date,
) -> PeriodCheck:
    if task is not None and task.status in ("waived", "exempt"):
        status = "waived"
    elif task is not None and task.status == "done" and task.done_on is not None and task.done_on <= as_of:
        status = "done"
    else:
        status = "overdue" if due < as_of else "pending"
    proof = tuple(evidence.get(task.id, ())) if task is not None and task.id is not None else ()
    return PeriodCheck(
        target.code,
        target.name,
        period,
        due,
        status,
        task.id if task else None,
        proof if status != "waived" else (),
        owed,
    )


def _evidence(session: Session, task_ids: list[int], as_of: dt.date) -> dict[int, list[Evidence]]:
    """The active completions of each task, held by `as_of`."""
    found: dict[int, list[Evidence]] = defaultdict(list)
    if not task_ids:
        return found
    rows = session.exec(
        select(
            col(CompletionTask.task_id), col(Completion.id), col(Completion.held_on), col(Completion.topic)
        )
        .join(Completion, col(Completion.id) == col(CompletionTask.completion_id))
        .where(
            col(CompletionTask.task_id).in_(task_ids),
            col(Completion.undone_at).is_(None),
            col(Completion.held_on) <= as_of,
        )
        .order_by(col(Completion.held_on), col(Completion.id))
    ).all()
    for task_id, completion_id, held_on, topic in rows:
        assert completion_id is not None
        found[task_id].append(Evidence(completion_id, held_on, topic))
    return found


def _groups(session: Session, code: str) -> list[Organization]:
    """The active 党小组 of a branch, as the read model sees them."""
    codes = roster.load(session, around=code).groups.get(code, [])
    found = [org for org in (session.get(Organization, group) for group in codes) if org is not None]
    return sorted(found, key=lambda org: org.path)


def _facts(session: Session, org: Organization) -> OrgFacts:
    """What the calendar model needs to know about `org` (a 党小组's members count toward its branch)."""
    return planner.org_facts(session, org.code)


# ---------------------------------------------------------------------------------------------------
# Veto items the registry can answer


def _secretary_vacant(session: Session, org: Organization) -> tuple[bool, str]:
    position = session.exec(
        select(Position).where(col(Position.org) == org.code, col(Position.role) == Role.SECRETARY.value)
    ).first()
    if position is None:
        return True, "名册中没有书记职位"
    if position.member is None:
        since = f"自 {position.vacant_since} 起" if position.vacant_since else ""
        return True, f"书记职位{since}空缺"
    member = session.get(Member, position.member)
    if member is None or not member.active:
        return True, f"书记 {position.member} 已不在名册中"
    return False, f"书记：{member.name}" + (f"（{position.since} 起）" if position.since else "")


VETO_IMPLEMENTATIONS: dict[str, Callable[[Session, Organization], tuple[bool, str]]] = {
    "secretary-vacant": _secretary_vacant,
}
assert set(VETO_IMPLEMENTATIONS) == set(VETO_CHECKS)


def _veto(session: Session, org: Organization, veto: Veto) -> VetoResult:
    if veto.check is None:
        return VetoResult(veto, None, "需人工核实")
    triggered, detail = VETO_IMPLEMENTATIONS[veto.check](session, org)
    return VetoResult(veto, triggered, detail)


# ---------------------------------------------------------------------------------------------------
# Presentation: the stable JSON form and the text a party worker reads


def points(value: Fraction) -> str:
    """2, 1.5, 0.67: exact when it can be, two decimals otherwise."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def number(value: Fraction | None) -> int | float | None:
    if value is None:
        return None
    return value.numerator if value.denominator == 1 else round(float(value), 2)


def summary(card: Scorecard) -> list[str]:
    """The verdict in a few sentences, precise about what is known and what is not."""
    checklist = card.checklist
    line = checklist.pass_line
    lines: list[str] = []
    if not checklist.scored:
        lines.append(
            f"《{checklist.title}》的评估表未收录，分值无法计算，也无法判断能否达到 {points(line)} 分合格线；"
            "以下报告各项职责的完成率。"
        )
    else:
        text = (
            f"可计算部分得分 {points(card.score)}/{points(card.computable_max)}；"
            f"另有 {points(card.unscored_points)} 分需人工评定。"
        )
        not_applicable = [r for r in card.items if r.status == "not_applicable"]
        if not_applicable:
            names = "、".join(r.tally.title if r.tally else r.item.id for r in not_applicable)
            text += (
                f"不适用 {points(card.not_applicable_points)} 分（{names}），不计入可计算满分；"
                f"细则未规定不适用项目如何折算，合格线仍按 {points(line)} 分计。"
            )
        lines.append(text)
    triggered = [result for result in card.vetoes if result.triggered]
    unchecked = [result for result in card.vetoes if result.triggered is None]
    if triggered:
        names = "；".join(f"{r.veto.title}（{r.detail}）" for r in triggered)
        lines.append(f"一票否决：{names}。无论得分多少，均不能确认为合格。")
    elif not checklist.vetoes:
        lines.append("一票否决情形不详（评估表未收录）。")
    else:
        checked = [result for result in card.vetoes if result.triggered is False]
        text = "一票否决：" + ("、".join(f"未发现{r.veto.title}" for r in checked) or "名册无法核查")
        if unchecked:
            text += f"；另有 {len(unchecked)} 项否决情形需人工核实"
        lines.append(text + "。")
    status = card.pass_status
    if status == "reached":
        lines.append(
            f"可计算部分已达到 {points(line)} 分合格线；确认合格还需无一票否决情况"
            + ("（见上，需人工核实）。" if unchecked else "。")
        )
    elif status == "unreachable":
        best = card.attainable + card.unscored_points
        lines.append(
            f"即使尚未到期的周期全部按期开展、人工评定项目全部得满分，最高也只有 {points(best)} 分，"
            f"已无法达到 {points(line)} 分合格线。"
        )
    elif status == "undetermined":
        needed = card.needed_from_unscored
        assert needed is not None
        best_case = points(max(line - card.attainable, Fraction(0)))
        of = f"（共 {points(card.unscored_points)} 分）"
        text = f"能否达到 {points(line)} 分合格线取决于人工评定："
        if needed <= card.unscored_points:
            text += f"人工评定部分至少需得 {points(needed)} 分{of}"
            if card.attainable > card.score:
                text += f"；若尚未到期的周期都按期开展，至少需得 {best_case} 分"
        else:
            text += f"尚未到期的周期须全部按期开展，且人工评定部分至少得 {best_case} 分{of}"
        lines.append(text + "。")
    return lines


def notes(card: Scorecard) -> list[str]:
    found = [card.checklist.note] if card.checklist.note else []
    found.extend(section.discrepancy for section in card.checklist.sections if section.discrepancy)
    followed = [profile for profile, _, _ in card.profiles] or [card.org_profile]
    if len(followed) == 1 and card.checklist.profile != followed[0]:
        whose = card.org_name if followed[0] == card.org_profile else f"{card.org_name}{card.year}年"
        found.append(
            f"{whose}执行的职责日历是 {followed[0]}，而《{card.checklist.title}》依据 "
            f"{card.checklist.profile}：应开展的周期按组织自己的职责日历计算。"
        )
    if len(followed) > 1:
        spans = "、".join(f"{profile}（{start}至{end}）" for profile, start, end in card.profiles)
        found.append(
            f"{card.org_name}{card.year}年更换了职责日历：{spans}。每个周期按其期限（事件按触发日）"
            "所在时段的职责日历计算是否应开展，新的职责日历不追溯此前的周期。"
        )
    return found


def _period_record(period: PeriodCheck) -> dict[str, Any]:
    return {
        "org": period.org,
        "org_name": period.org_name,
        "period": period.period,
        "label": period.label,
        "due": period.due.isoformat(),
        "status": period.status,
        "task_id": period.task_id,
        "completions": [
            {"id": e.id, "held_on": e.held_on.isoformat(), "topic": e.topic} for e in period.completions
        ],
        "profile": period.profile,
    }


def _tally_record(tally: Tally) -> dict[str, Any]:
    return {
        "rule": tally.rule,
        "title": tally.title,
        "source": tally.source,
        "done": tally.done,
        "expected": tally.expected,
        "pending": tally.pending,
        "rate": number(tally.rate),
        "not_applicable": tally.not_applicable,
        "groups": tally.groups,
        "periods": [_period_record(period) for period in tally.periods],
        "profiles": [
            {
                "profile": basis.profile,
                "from": basis.start.isoformat(),
                "until": basis.end.isoformat(),
                "title": basis.title,
                "cadence": basis.cadence,
                "source": basis.source,
            }
            for basis in tally.bases
        ],
    }


def clause(card: Scorecard, item: Item) -> str:
    return f"{card.checklist.source} {item.label}" + (f"；{item.source}" if item.source else "")


def record(card: Scorecard) -> dict[str, Any]:
    """The stable machine form (`score --format json`)."""
    checklist = card.checklist
    return {
        "checklist": checklist.id,
        "checklist_title": checklist.title,
        "source": checklist.source,
        "org": card.org,
        "org_name": card.org_name,
        "year": card.year,
        "as_of": card.as_of.isoformat(),
        "scored": checklist.scored,
        "score": number(card.score) if checklist.scored else None,
        "computable_max": number(card.computable_max) if checklist.scored else None,
        "attainable": number(card.attainable) if checklist.scored else None,
        "unscored_points": number(card.unscored_points) if checklist.scored else None,
        "not_applicable_points": number(card.not_applicable_points) if checklist.scored else None,
        "total": number(checklist.total),
        "items_total": number(checklist.items_total) if checklist.scored else None,
        "pass_line": number(checklist.pass_line),
        "pass_status": card.pass_status,
        "needed_from_unscored": number(card.needed_from_unscored),
        "vetoed": card.vetoed,
        "profiles": [
            {"profile": profile, "from": start.isoformat(), "until": end.isoformat()}
            for profile, start, end in card.profiles
        ],
        "summary": summary(card),
        "notes": notes(card),
        "vetoes": [
            {
                "id": result.veto.id,
                "title": result.veto.title,
                "checked": result.triggered is not None,
                "triggered": result.triggered,
                "detail": result.detail,
            }
            for result in card.vetoes
        ],
        "items": [
            {
                "id": result.item.id,
                "section": result.item.section,
                "requirement": result.item.requirement,
                "standard": result.item.standard,
                "points": number(result.item.points),
                "status": result.status,
                "clause": clause(card, result.item),
                "score": number(result.score),
                "attainable": number(result.attainable),
                "rule": _tally_record(result.tally) if result.tally else None,
                "related": [_tally_record(tally) for tally in result.related],
            }
            for result in card.items
        ],
    }


def _missing_text(tally: Tally) -> str:
    parts = []
    for period in tally.missing:
        where = f"{period.org_name} " if tally.groups is not None else ""
        parts.append(f"{where}{period.label}（{STATUS_LABELS[period.status]}）")
    return "、".join(parts)


def _period_lines(tally: Tally) -> Iterable[str]:
    for period in tally.periods:
        where = f"{period.org_name} " if tally.groups is not None else ""
        under = f"（{period.profile}）" if tally.split else ""
        head = f"    {where}{period.label}{under}  {STATUS_LABELS[period.status]}"
        if period.completions:
            proof = "；".join(
                f"台账记录 {e.id}（{e.held_on}" + (f"，{e.topic}" if e.topic else "") + "）"
                for e in period.completions
            )
            yield f"{head}：{proof}"
        elif period.status in ("overdue", "pending"):
            task = f"，任务 {period.task_id}" if period.task_id is not None else ""
            yield f"{head}（期限 {period.due}{task}）"
        else:
            yield head


def _rule_text(tally: Tally) -> str:
    """The rule's source; for a year split by a change of profile, the rule as each profile defined it."""
    if not tally.split:
        return tally.source
    return "；".join(
        f"{basis.profile}（{basis.start}至{basis.end}）"
        + (f"{basis.cadence}，{basis.source}" if basis.source is not None else "没有此项职责")
        for basis in tally.bases
    )


def _related_text(tally: Tally) -> str:
    if tally.not_applicable:
        return f"{tally.title}：不适用（{tally.not_applicable}）"
    proof = [str(e.id) for period in tally.periods for e in period.completions]
    text = f"{tally.title} 已开展 {tally.done}/{tally.expected}"
    return text + (f"（台账记录 {'、'.join(proof)}）" if proof else "")


def describe(card: Scorecard) -> str:
    """The scorecard as text for the terminal (render.Page): verdict, the scored items with their evidence,
    the rest, the vetoes."""
    checklist = card.checklist
    page = render.Page()
    page.add(
        f"{checklist.title}（{checklist.id}）— {card.org_name}（{card.org}） {card.year}年度，截至 {card.as_of}",
        f"依据：{checklist.source}",
        "",
        *summary(card),
        "",
    )
    numbers = iter("一二三四五")

    def heading(text: str) -> str:
        return f"{next(numbers)}、{text}"

    computed = [r for r in card.items if r.status in ("scored", "rate") and r.tally is not None]
    if computed:
        page.add(heading("按台账计分的项目" if checklist.scored else "可由台账核验的职责（完成率）"))
        rows = []
        for result in computed:
            tally = result.tally
            assert tally is not None
            first = [tally.title]
            if checklist.scored:
                assert result.item.points is not None and result.score is not None
                first += [points(result.item.points), points(result.score)]
            else:
                rate = tally.rate
                first += [f"{float(rate) * 100:.0f}%" if rate is not None else "—"]
            rows.append([*first, f"{tally.done}/{tally.expected}", _missing_text(tally) or "无"])
        headers: list[str | FreeText] = ["分值", "得分"] if checklist.scored else ["完成率"]
        headers = [FreeText("职责"), *headers]
        page.table([*headers, "已开展/应开展", FreeText("缺少的周期")], rows)
        page.add("", "证据")
        for result in computed:
            tally = result.tally
            assert tally is not None
            worth = f"（{points(result.item.points)}分）" if result.item.points is not None else ""
            page.add(f"  ■ {tally.title}{worth}：{result.item.standard}")
            page.add(f"    依据：{clause(card, result.item)}；职责规则 {tally.rule}：{_rule_text(tally)}")
            if result.item.note:
                page.add(f"    说明：{result.item.note}")
            if result.score is not None and result.item.points is not None:
                page.add(
                    f"    得分 = {points(result.item.points)} × {tally.done}/{tally.expected} = {points(result.score)}"
                )
            page.add(*_period_lines(tally))
            if tally.missing:
                where = "党小组编码" if tally.groups is not None else card.org
                page.add(
                    f"    补登记已开展的活动：obligations record --org {where} --rule {tally.rule} --on YYYY-MM-DD"
                )
        page.add("")
    not_applicable = [r for r in card.items if r.status == "not_applicable"]
    if not_applicable:
        page.add(heading("不适用的项目（不计入可计算满分）"))
        for result in not_applicable:
            assert result.tally is not None
            worth = f"（{points(result.item.points)}分）" if result.item.points is not None else ""
            page.add(f"  {result.tally.title}{worth}：{result.tally.not_applicable}")
        page.add("")
    manual = [r for r in card.items if r.status == "manual"]
    if manual:
        page.add(heading(f"需人工评定的项目（共 {points(card.unscored_points)} 分）"))
        for result in manual:
            worth = f"  {points(result.item.points)}分" if result.item.points is not None else ""
            page.add(f"  {result.item.label}：{result.item.standard}{worth}")
            if result.item.note:
                page.add(f"    说明：{result.item.note}")
            for tally in result.related:
                page.add(f"    参考记录：{_related_text(tally)}")
        page.add("")
    page.add(heading("一票否决"))
    if not card.vetoes:
        page.add("  （评估表未收录，否决情形不详）")
    for veto in card.vetoes:
        verdict = {True: "存在", False: "未发现", None: "需人工核实"}[veto.triggered]
        detail = f"（{veto.detail}）" if veto.detail and veto.triggered is not None else ""
        page.add(f"  {veto.veto.title}：{verdict}{detail}")
    found_notes = notes(card)
    if found_notes:
        page.add("", "说明")
        page.add(*(f"  - {note}" for note in found_notes))
    return page.text()
