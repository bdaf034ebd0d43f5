"""A realistic demo registry for `obligations init --demo`, dated relative to the day it is loaded.

A department's 机关党委 with three branches (one with a 党小组), about forty members with invented names,
a vacant deputy-secretary seat, a branch term about to expire, a newly appointed secretary and a
probationary member close to the end of probation — so that the first `obligations due` shows real work.

Its history (`settle_history`) is what a branch that keeps its 台账 would have: every past duty recorded, the
党小组 member whose probation ended seven months ago made full by the 支部大会 (probation.decide), last year's
民主评议 grades (appraisal.record) and every month's 党费 (dues.pay) — except, deliberately, one retired member
who has not paid the last two months: late, not lapsed. No member is lapsed (6 months) or graded 不合格.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from pathlib import Path

from sqlmodel import Session, col, select

from calendars import recurrence
from calendars.model import OrgKind, Profile
from obligations import appraisal, dues, ledger, probation, roster
from obligations.errors import UserError
from obligations.models import Member, Organization, Position, ProbationDecision, Task
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry

# Duties the demo leaves undone in their last period, so that the first `obligations due` shows misses.
MISSED = (("jg.b2", "committee-meeting"), ("jg.b3", "theme-party-day"), ("jg.b1", "general-meeting"))
# The 党小组 member whose probation ended seven months before the demo's day: the 支部大会 of 综合处室党支部
# decided 转正 (early enough that the decision's 党员大会 is not the last one, which MISSED leaves undone).
DECIDED = "m20"
DECIDED_MONTHS_AGO = 19  # the probation began 19 months ago, so it ended 7 months ago
# The retired member who has not paid the last LATE_MONTHS months' dues yet (fewer than 6: no 自行脱党 case).
LATE_PAYER = "m40"
LATE_MONTHS = 2
# Last year's 民主评议: every fifth member 优秀, this one 基本合格, the rest 合格 (no 不合格: no flag).
BASICALLY_QUALIFIED = "m12"

NAMES = [
    "王建国",
    "李秀兰",
    "张伟",
    "刘洋",
    "陈静",
    "杨帆",
    "赵磊",
    "黄丽",
    "周强",
    "吴敏",
    "徐涛",
    "孙燕",
    "胡军",
    "朱婷",
    "高峰",
    "林娜",
    "何勇",
    "郭玲",
    "马超",
    "罗欣",
    "梁斌",
    "宋佳",
    "郑凯",
    "谢芳",
    "韩雪",
    "唐亮",
    "冯瑶",
    "于洋",
    "董浩",
    "萧然",
    "程琳",
    "曹阳",
    "袁媛",
    "邓辉",
    "许晴",
    "傅明",
    "沈悦",
    "曾志",
    "彭博",
    "吕薇",
]


def tracking_start(as_of: dt.date) -> dt.date:
    """The demo's history is a year long: its organizations are tracked from the start of last year."""
    return dt.date(as_of.year - 1, 1, 1)


def demo_registry(as_of: dt.date, decided: Collection[str] = ()) -> Registry:
    """The demo as of `as_of`; `decided` are the members the database already made full by a 转正 decision,
    whose registry record says so (as the README asks of a registry re-imported after one), so that loading the
    demo again changes nothing."""

    def ago(years: int = 0, months: int = 0, days: int = 0) -> dt.date:
        return recurrence.shift(as_of, years=-years, months=-months, days=-days)

    # The demo's history is a year long: its organizations are tracked (跟踪起始) from the start of last year,
    # so that every duty of last year is owed, and recorded by settle_history.
    tracked = tracking_start(as_of)
    orgs = (
        OrgRecord(
            "jg",
            "市发展改革委机关党委",
            OrgKind.COMMITTEE,
            None,
            "national",
            ago(years=3, months=8),
            None,
            tracked_from=tracked,
        ),
        # Elected three years ago less 25 days: its term ends within the month.
        OrgRecord(
            "jg.b1",
            "综合处室党支部",
            OrgKind.BRANCH,
            "jg",
            None,
            ago(years=3, days=-25),
            None,
            tracked_from=tracked,
        ),
        OrgRecord(
            "jg.b1.g1", "综合处室第一党小组", OrgKind.GROUP, "jg.b1", None, None, None, tracked_from=tracked
        ),
        OrgRecord(
            "jg.b2",
            "业务处室党支部",
            OrgKind.BRANCH,
            "jg",
            None,
            ago(years=1, months=2),
            None,
            tracked_from=tracked,
        ),
        OrgRecord(
            "jg.b3",
            "离退休干部党支部",
            OrgKind.BRANCH,
            "jg",
            None,
            ago(years=2, months=1),
            None,
            tracked_from=tracked,
        ),
    )
    # (org, how many) in the order the names are handed out; the first of each is its secretary.
    layout = (("jg", 3), ("jg.b1", 11), ("jg.b1.g1", 6), ("jg.b2", 14), ("jg.b3", 6))
    members: list[MemberRecord] = []
    names = iter(NAMES)
    number = 0
    for org, count in layout:
        for index in range(count):
            number += 1
            member_id = f"m{number:02d}"
            joined = ago(years=4 + (number * 7) % 30, months=number % 12, days=(number * 11) % 28)
            probationary = org == "jg.b2" and index == count - 1
            start = ago(months=11) if probationary else None
            full_on = None if probationary else recurrence.shift(joined, years=1)
            status = "probationary" if probationary else "full"
            if member_id == DECIDED:
                start = joined = ago(months=DECIDED_MONTHS_AGO)
                full_on = recurrence.shift(start, months=probation.PROBATION_MONTHS)
                status = "full"
                if member_id not in decided:
                    status, full_on = "probationary", None
            members.append(
                MemberRecord(
                    id=member_id,
                    name=next(names),
                    org=org,
                    status=status,
                    joined_on=joined,
                    probation_start=start,
                    full_on=full_on,
                    email=f"{member_id}@example.org",
                    wecom=member_id,
                    mobile=f"138{number:08d}",
                )
            )
    positions = (
        PositionRecord("jg", "secretary", "m01", ago(years=3, months=8), None),
        PositionRecord("jg", "deputy_secretary", "m02", ago(years=3, months=8), None),
        PositionRecord("jg", "organization", "m03", ago(years=3, months=8), None),
        PositionRecord("jg.b1", "secretary", "m04", ago(years=3), None),
        # Vacant for five months: it must be filled within the month.
        PositionRecord("jg.b1", "deputy_secretary", None, None, ago(months=5)),
        PositionRecord("jg.b1", "organization", "m05", ago(years=3), None),
        PositionRecord("jg.b1", "propaganda", "m06", ago(years=3), None),
        # A branch committee member who sits in the 党小组 is a 班子成员 (56 学时); the group's leader, who holds
        # no committee seat, is an ordinary member (32 学时).
        PositionRecord("jg.b1", "discipline", "m15", ago(years=3), None),
        PositionRecord("jg.b1.g1", "group_leader", "m16", ago(years=2), None),
        # A secretary appointed two months ago: training due within six months of appointment.
        PositionRecord("jg.b2", "secretary", "m21", ago(months=2), None),
        PositionRecord("jg.b2", "deputy_secretary", "m22", ago(years=1, months=2), None),
        PositionRecord("jg.b2", "organization", "m23", ago(years=1, months=2), None),
        PositionRecord("jg.b3", "secretary", "m35", ago(years=2, months=1), None),
    )
    return Registry(orgs, tuple(members), positions)


def decided_members(session: Session) -> set[str]:
    """The members a 转正 decision in the database made full (the demo's, when it was loaded before)."""
    return set(
        session.exec(select(ProbationDecision.member).where(col(ProbationDecision.outcome) == "full")).all()
    )


def check_only_demo(session: Session, demo: Registry) -> None:
    """Refuse to load the demo into a database that holds anything else: the demo must never touch real data.

    The demo is recognised by its organizations' codes and names and its members' ids and names (a real
    registry may well use the code "jg"); a database holding only the demo may load it again (`make run`).
    """
    orgs = {(org.code, org.name) for org in demo.orgs}
    members = {(member.id, member.name) for member in demo.members}
    foreign_orgs = sorted(
        f"{code}（{name}）"
        for code, name in session.execute(select(Organization.code, Organization.name))
        if (code, name) not in orgs
    )
    foreign_members = sum(
        1
        for member_id, name in session.execute(select(Member.id, Member.name))
        if (member_id, name) not in members
    )
    if not foreign_orgs and not foreign_members:
        return
    held = []
    if foreign_orgs:
        shown = "、".join(foreign_orgs[:5]) + ("等" if len(foreign_orgs) > 5 else "")
        held.append(f"{len(foreign_orgs)} 个组织（{shown}）")
    if foreign_members:
        held.append(f"{foreign_members} 名党员")
    raise UserError(
        f"数据库中已有不属于演示数据的 {'和 '.join(held)}，--demo 不会写入这个数据库。"
        "演示请用一个新的数据库（--db 或配置文件 [database] url）；只需升级数据库请去掉 --demo。"
    )


TOPICS = {
    "general-meeting": "讨论支部年度工作和发展党员事项",
    "committee-meeting": "研究本月支部工作安排",
    "group-meeting": "学习讨论近期工作",
    "theme-party-day": "主题党日：重温入党誓词、集中学习",
    "organizational-life-meeting": "年度组织生活会：对照检查、批评与自我批评",
    "member-appraisal": "民主评议党员",
    "dues-collection": "收缴本月党费",
    probation.RULE: "讨论预备党员转正",
}


def _lecturer(session: Session, profiles: Mapping[str, Profile], task: Task, day: dt.date) -> str | None:
    """Who gave a lesson whose rule names the lecturer's seat: the seat's holder or its stand-in on `day`,
    "" when the registry shows no one who could have; None when the rule names no lecturer."""
    org = session.get(Organization, task.org)
    assert org is not None
    rule = profiles[org.effective_profile].rules.get(task.rule)
    if rule is None or rule.record.lecturer is None:
        return None
    seats = session.exec(select(Position).where(col(Position.org) == org.code)).all()
    for seat in seats:
        if seat.member and not ledger.lecturer_problem(
            session, rule.record.lecturer, rule.title, org, day, seat.member
        ):
            return seat.member
    return ""


def settle_history(
    session: Session, profiles: Mapping[str, Profile], as_of: dt.date, now: dt.datetime, attachments: Path
) -> int:
    """Record the demo's past duties in the ledger, as a branch that keeps its 台账 would have them.

    Everything due before `as_of` is recorded as held a few days before its deadline, with all members
    attending, except the last period of each duty in MISSED; theme-party days carry 4 study hours each, and
    last year's study hours are recorded as the yearly training. A 转正 discussion is the 支部大会's decision
    (转正); a 民主评议 records each member's grade; each month's 党费 collection who paid. Returns how many
    records were made.
    """
    cutoff = as_of
    past = (
        select(Task)
        .where(col(Task.status) == "open", col(Task.due) < cutoff)
        .order_by(col(Task.due), col(Task.id))
    )
    tasks = list(session.exec(past))
    last_missed = {(task.org, task.rule): task.id for task in tasks if (task.org, task.rule) in MISSED}
    registry = roster.load(session)
    recorded = 0
    for task in tasks:
        if task.id in last_missed.values() or task.status != "open":
            continue
        if task.subject_kind == "org":
            attendees = [member.id for member in registry.members_of(task.org)]  # 党小组 included
        else:
            attendees = [task.subject]
        held_on = max(task.period_start, min(task.due, as_of) - dt.timedelta(days=3))
        hours = (
            float(task.required_count)
            if task.rule == "study-hours"
            else 4.0
            if task.rule == "theme-party-day"
            else None
        )
        lecturer = _lecturer(session, profiles, task, held_on)
        if lecturer == "":
            continue  # no one in the registry could have given it: the seat changed hands since
        activity = ledger.Activity(
            held_on=held_on,
            place="机关党员活动室",
            form="集中学习" if hours else "会议",
            topic="年度集中学习培训" if task.rule == "study-hours" else TOPICS.get(task.rule, "按计划开展"),
            hours=hours,
            attendees=tuple(attendees) if task.rule != "study-hours" else (),
            lecturer=lecturer,
        )
        if task.rule == probation.RULE:
            # The 支部大会 meets on the day the probation ends (党章 第七条: 预备期满，及时讨论), not before.
            member = session.get(Member, task.subject)
            assert member is not None
            activity = dataclasses.replace(
                activity,
                held_on=probation.probation_of(member).current_end,
                attendees=tuple(member.id for member in registry.voting_members(task.org)),
            )
            probation.decide(
                session,
                profiles,
                task.subject,
                "full",
                activity,
                until=None,
                as_of=as_of,
                now=now,
                attachments_dir=attachments,
            )
            recorded += 1
            continue
        ledger.record(session, profiles, [task], activity, as_of=as_of, now=now, attachments_dir=attachments)
        if task.rule == "member-appraisal":
            _grade(session, registry, task, held_on, as_of, now)
        if task.status == "done" and ledger.task_needs_filing(session, profiles, task):
            filed_on = min(held_on + dt.timedelta(days=7), as_of)  # sent up the week after the meeting
            ledger.file_with_parent(session, profiles, task, on=filed_on, as_of=as_of)
        recorded += 1
    _pay_dues(session, registry, as_of, now)
    return recorded


def _grade(
    session: Session, registry: roster.Roster, task: Task, held_on: dt.date, as_of: dt.date, now: dt.datetime
) -> None:
    """The 民主评议 of the task's year: every member who had joined by then, graded as BASICALLY_QUALIFIED says."""
    year = int(task.period[:4])
    members = [m.id for m in registry.members_of(task.org) if m.joined_on is None or m.joined_on.year <= year]
    grades = [
        (m, "基本合格" if m == BASICALLY_QUALIFIED else "优秀" if number % 5 == 0 else "合格")
        for number, m in enumerate(sorted(members))
    ]
    if grades:
        appraisal.record(session, task.org, year, grades, decided_on=held_on, as_of=as_of, now=now)


def _pay_dues(session: Session, registry: roster.Roster, as_of: dt.date, now: dt.datetime) -> None:
    """Each branch's 党费 of every ended month since the tracking start: every member who had joined by then,
    but LATE_PAYER for the last LATE_MONTHS months. Recorded once: a month already recorded is left alone."""
    start = tracking_start(as_of)
    first, last = start.year * 12 + start.month - 1, as_of.year * 12 + as_of.month - 1
    branches = sorted(code for code, org in registry.orgs.items() if org.kind == OrgKind.BRANCH.value)
    for index in range(first, last):
        year, month = divmod(index, 12)
        late = last - index <= LATE_MONTHS
        for code in branches:
            paid = [
                member.id
                for member in registry.members_of(code)
                if (
                    member.joined_on is None
                    or (member.joined_on.year, member.joined_on.month) <= (year, month + 1)
                )
                and not (late and member.id == LATE_PAYER)
            ]
            if paid:
                dues.pay(session, code, dues.month_key(year, month + 1), paid, as_of=as_of, now=now)
