"""民主评议党员: each member's grade for the year, and the members graded 不合格 two years running.

The branch grades every member once a year 优秀、合格、基本合格 or 不合格 (003 二(二)4; 001 (三)7). A member graded
不合格 in two consecutive years is reported to the parent organization for approval of how to deal with them
(001 (十三)29: 对连续两年评定不合格的，按照组织程序报请上级党组织审批处理): the fact is kept on the member
(`Member.unqualified_on`, the day the second grade was decided) and the planner turns it into an
`unqualified-member` task for the branch secretary whose ladder also tells the parent's 组织委员.

A grade recorded again for the same year replaces the earlier one (a correction) and the flag follows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from calendars.instants import FOUNDING
from obligations import planner
from obligations.errors import LedgerError
from obligations.members import member_problems, recording_branch
from obligations.models import Member, MemberAppraisal
from obligations.queries import members_of_branch

# The four grades of 003 二(二)4, as stored and as a person writes them.
GRADES = {
    "excellent": "优秀",
    "qualified": "合格",
    "basically_qualified": "基本合格",
    "unqualified": "不合格",
}
_BY_LABEL = {label: grade for grade, label in GRADES.items()}
UNGRADED = "未评定"  # a member without a grade for the year


def grade_label(grade: str | None) -> str:
    return GRADES[grade] if grade else UNGRADED


UNQUALIFIED = "unqualified"
COLUMNS = {"党员编号": "member", "编号": "member", "member": "member", "等次": "grade", "grade": "grade"}


def grade_of(text: str) -> str:
    """优秀 or excellent -> excellent; ValueError in Chinese for anything else."""
    value = text.strip()
    if value in GRADES:
        return value
    if value in _BY_LABEL:
        return _BY_LABEL[value]
    raise ValueError(f"等次应为 {'、'.join(GRADES.values())} 之一，而不是 {text!r}")


@dataclass(frozen=True)
class Appraised:
    year: int
    recorded: int
    corrected: int
    unchanged: int
    flagged: list[str]  # members graded 不合格 this year and the year before


def record(
    session: Session,
    org_code: str,
    year: int,
    grades: Sequence[tuple[str, str]],
    *,
    decided_on: dt.date,
    as_of: dt.date,
    now: dt.datetime,
) -> Appraised:
    """Record the grades (member id, grade as typed) of the branch's 民主评议 of `year`, decided on
    `decided_on`. Every check runs first; a record with any problem writes nothing (exit 6)."""
    branch = recording_branch(session, org_code)
    problems: list[str] = []
    if not FOUNDING.year <= year <= as_of.year:
        problems.append(f"评议年度 {year} 无效：应在 {FOUNDING.year} 年至今年（{as_of.year}）之间。")
    if decided_on > as_of:
        problems.append(f"评议日期 {decided_on} 在未来（今天是 {as_of}）。")
    elif decided_on.year < year:
        problems.append(f"评议日期 {decided_on} 早于评议年度 {year}。")
    if not grades:
        problems.append("没有填写任何党员的等次（--grade 党员编号:等次）。")
    members = {member.id: member for member in members_of_branch(session, branch)}
    problems.extend(member_problems([member for member, _ in grades], members, branch))
    parsed: dict[str, str] = {}
    for member_id, text in grades:
        try:
            parsed[member_id] = grade_of(text)
        except ValueError as error:
            problems.append(f"{member_id}：{error}。")
    if problems:
        raise LedgerError(problems)
    stored = {
        row.member: row
        for row in session.exec(
            select(MemberAppraisal).where(
                col(MemberAppraisal.year) == year, col(MemberAppraisal.member).in_(list(parsed))
            )
        ).all()
    }
    recorded = corrected = unchanged = 0
    for member_id, grade in parsed.items():
        row = stored.get(member_id)
        if row is None:
            row = MemberAppraisal(
                member=member_id,
                org=branch.code,
                year=year,
                grade=grade,
                decided_on=decided_on,
                recorded_at=now,
            )
            recorded += 1
        elif row.grade == grade and row.decided_on == decided_on:
            unchanged += 1
            continue
        else:
            row.grade, row.decided_on, row.recorded_at, row.org = grade, decided_on, now, branch.code
            corrected += 1
        session.add(row)
    session.flush()
    flagged = _flag(session, [members[member_id] for member_id in parsed])
    return Appraised(
        year, recorded, corrected, unchanged, [m for m in flagged if parsed.get(m) == UNQUALIFIED]
    )


def grades_of(session: Session, org_code: str, year: int) -> list[tuple[Member, str | None]]:
    """Each member of the branch with their grade of `year` (None: not graded yet)."""
    branch = recording_branch(session, org_code)
    members = members_of_branch(session, branch)
    found = dict(
        session.execute(
            select(col(MemberAppraisal.member), col(MemberAppraisal.grade)).where(
                col(MemberAppraisal.year) == year,
                col(MemberAppraisal.member).in_([member.id for member in members]),
            )
        ).all()
    )
    return [(member, found.get(member.id)) for member in members]


def _flag(session: Session, members: Sequence[Member]) -> list[str]:
    """Set each member's `unqualified_on` from their grades: the decision day of the latest 不合格 that
    follows a 不合格 the year before (001 (十三)29), or None. Returns the members flagged now."""
    changed: list[str] = []
    flagged: list[str] = []
    for member in members:
        rows = session.exec(
            select(MemberAppraisal).where(
                col(MemberAppraisal.member) == member.id, col(MemberAppraisal.grade) == UNQUALIFIED
            )
        ).all()
        years = {row.year: row for row in rows}
        second = max((year for year in years if year - 1 in years), default=None)
        on = years[second].decided_on if second is not None else None
        if on is not None:
            flagged.append(member.id)
        if on != member.unqualified_on:
            member.unqualified_on = on
            session.add(member)
            changed.append(member.org)
    session.flush()
    planner.registry_changed(session, changed)
    return flagged
