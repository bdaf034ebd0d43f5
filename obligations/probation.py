"""The 转正 discussion: the 支部大会 decides on a probationary member when the probation ends (党章 第七条).

《中国共产党章程》第七条: the probation is one year; when it ends the branch discusses promptly whether the member
becomes a full member (转正), has the probation extended (延长预备期, at most one year) or loses the status
(取消预备党员资格); the decision is the 支部大会's. The party age of a full member counts from the day the
probation ended, so 转正 takes effect on that day (`full_on`), whatever day the meeting was held.

- The discussion is held once the probation has ended, never before: 党章 第七条 and 《中国共产党发展党员工作
  细则》(2014) 第三十二条 both say 「预备党员预备期满，党支部应当及时讨论」 — the end is what calls the meeting,
  and 及时 bounds how late it may be, not how early. The member's written application (转正申请) may come in
  the month before the end, as local guidance asks, but the 支部大会 judges the whole year of probation and a
  meeting before its last day would judge a probation not yet served (organization departments' guidance says
  the same: 转正支部大会的召开时间不得早于预备期结束). So the earliest accepted date is the day the
  probation ends (the day 转正 takes effect, 党龄从预备期满之日算起); a day earlier is refused.
- The record is a 支部党员大会 of the member's branch — a member of a 党小组 belongs to its branch — checked like
  any 党员大会 (more than half of the full members present; 预备党员 have no vote). It counts for the member's
  `probation-review` task and for the branch's quarterly `general-meeting`.
- 延长预备期: the new end is 6 to 12 months after the one-year end (DOMAIN.md; 党章 第七条: 不能超过一年); a
  later extension may move it, never beyond a year. The planner opens a new review due at the new end.
- 取消资格: the member leaves the roll (inactive, their history kept) and any seat they held falls vacant.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import update
from sqlmodel import Session, col, select

from calendars import recurrence
from calendars.model import Profile
from calendars.text import shown
from obligations import audit, ledger, planner
from obligations.errors import LedgerError, NotFound, UserError
from obligations.members import member_id_problem
from obligations.models import Member, Position, ProbationDecision, Task
from obligations.queries import branch_of

RULE = "probation-review"
MEETING = "general-meeting"  # the 支部大会 that decides
PROBATION_MONTHS = 12  # 党章 第七条: 预备期为一年
EXTENSION_MONTHS = (6, 12)  # 延长预备期: at least six months, at most one year

OUTCOMES = {"full": "转正", "extended": "延长预备期", "cancelled": "取消预备党员资格"}
_BY_LABEL = {
    "转正": "full",
    "延长": "extended",
    "延长预备期": "extended",
    "取消": "cancelled",
    "取消资格": "cancelled",
}


def outcome_of(text: str) -> str:
    value = text.strip()
    if value in OUTCOMES:
        return value
    if value in _BY_LABEL:
        return _BY_LABEL[value]
    raise UserError(f"讨论结果应为 转正、延长 或 取消，而不是 {shown(text)!r}。", exit_code=2)


@dataclass(frozen=True)
class Probation:
    start: dt.date
    end: dt.date  # the one-year end
    current_end: dt.date  # the end now in force (the extended one, if any)
    task_period: str  # the period key of the review task due at current_end


def probation_of(member: Member) -> Probation:
    if member.status != "probationary" or member.probation_start is None:
        raise UserError(f"{member.name}（{member.id}）不是预备党员，或未登记预备期开始日期。")
    end = recurrence.shift(member.probation_start, months=PROBATION_MONTHS)
    if member.probation_until is not None:
        return Probation(
            member.probation_start,
            end,
            member.probation_until,
            f"probation-extended:{member.probation_until}",
        )
    return Probation(member.probation_start, end, end, f"probation:{member.probation_start.isoformat()}")


@dataclass(frozen=True)
class Decision:
    decision: ProbationDecision
    member: Member
    recorded: ledger.Recorded


def decide(
    session: Session,
    profiles: Mapping[str, Profile],
    member_id: str,
    outcome: str,
    activity: ledger.Activity,
    *,
    until: dt.date | None,
    as_of: dt.date,
    now: dt.datetime,
    attachments_dir: Path,
    actor: audit.Actor | None = None,
) -> Decision:
    """Record the 支部大会's decision on a probationary member and apply it to the registry; `actor` is who
    records it (kept on the meeting's record and in the audit log)."""
    problem = member_id_problem(member_id)
    if problem:
        raise UserError(problem)
    member = session.get(Member, member_id)
    if member is None or not member.active:
        raise NotFound(f"没有在册党员 {member_id!r}。可用 obligations org show 查看党员编号。")
    kind = outcome_of(outcome)
    probation = probation_of(member)
    problems = _problems(probation, kind, activity.held_on, until)
    if problems:
        raise LedgerError(problems)
    branch = branch_of(session, member)
    review = session.exec(
        select(Task).where(
            col(Task.rule) == RULE, col(Task.subject) == member.id, col(Task.period) == probation.task_period
        )
    ).first()
    if review is None:
        raise UserError(
            f"没有找到{member.name}（{member.id}）预备期满（{probation.current_end}）的转正讨论任务："
            f"请检查其组织的职责日历是否含规则 {RULE}。"
        )
    decided = session.exec(
        select(ProbationDecision).where(
            col(ProbationDecision.member) == member.id,
            col(ProbationDecision.probation_end) == probation.current_end,
        )
    ).first()
    if decided is not None:
        raise UserError(
            f"{member.name}（{member.id}）预备期满（{probation.current_end}）的转正讨论已于 {decided.decided_on} 登记。"
        )
    tasks = [review]
    if branch.effective_profile in profiles:
        # A branch that owes no 党员大会 of that period (the rule switched off, in the profile of that date):
        # the review stands alone.
        with contextlib.suppress(UserError):
            tasks.append(ledger.task_for(session, profiles, branch.code, MEETING, activity.held_on))
    recorded = ledger.record(
        session,
        profiles,
        tasks,
        activity,
        as_of=as_of,
        now=now,
        attachments_dir=attachments_dir,
        held_by=branch.code,
        actor=actor,
    )
    if recorded.duplicate:  # entered at the same moment by someone else, who committed first
        raise UserError(
            f"{member.name}（{member.id}）的这次转正讨论已登记过（台账记录 {recorded.completion.id}）。"
        )
    decision = ProbationDecision(
        member=member.id,
        org=branch.code,
        decided_on=activity.held_on,
        outcome=kind,
        probation_end=probation.current_end,
        extended_until=until if kind == "extended" else None,
        completion_id=recorded.completion.id,
        recorded_at=now,
    )
    session.add(decision)
    changed = _apply(session, member, kind, probation, until, activity.held_on)
    planner.registry_changed(session, [member.org, *changed])
    return Decision(decision, member, recorded)


def _problems(probation: Probation, kind: str, held_on: dt.date, until: dt.date | None) -> list[str]:
    problems = []
    if held_on < probation.current_end:  # 预备期满，及时讨论: from the day it ends (see the module's note)
        problems.append(
            f"转正讨论日期 {held_on} 过早：预备期 {probation.current_end} 期满，最早可在 {probation.current_end} 讨论"
            f"（《中国共产党章程》第七条、《中国共产党发展党员工作细则》第三十二条：预备党员预备期满，"
            f"党支部应当及时讨论其能否转为正式党员）。"
        )
    if kind != "extended":
        if until is not None:
            problems.append("只有延长预备期才填写 --until。")
        return problems
    shortest = recurrence.shift(probation.end, months=EXTENSION_MONTHS[0])
    longest = recurrence.shift(probation.end, months=EXTENSION_MONTHS[1])
    if until is None:
        problems.append(f"延长预备期须填写新的期满日期（--until，{shortest} 至 {longest} 之间）。")
    elif until > longest:
        problems.append(
            f"延长预备期不能超过一年（《中国共产党章程》第七条）：预备期 {probation.end} 期满，最迟延至 {longest}，而不是 {until}。"
        )
    elif until < shortest:
        problems.append(
            f"延长预备期至少半年：预备期 {probation.end} 期满，新的期满日期应不早于 {shortest}，而不是 {until}。"
        )
    elif until <= probation.current_end:
        problems.append(f"新的期满日期 {until} 应晚于现在的期满日期 {probation.current_end}。")
    return problems


def _apply(
    session: Session, member: Member, kind: str, probation: Probation, until: dt.date | None, held_on: dt.date
) -> list[str]:
    """Change the registry as decided; returns the organizations whose seats changed."""
    seats: list[str] = []
    if kind == "full":
        member.status = "full"
        member.full_on = probation.current_end  # 党章 第七条: 党龄从预备期满转为正式党员之日算起
    elif kind == "extended":
        member.probation_until = until
    else:
        member.active = False
        seats = list(session.exec(select(col(Position.org)).where(col(Position.member) == member.id)).all())
        session.execute(
            update(Position)
            .where(col(Position.member) == member.id)
            .values(member=None, since=None, vacant_since=held_on)
        )
    session.add(member)
    session.flush()
    return seats
