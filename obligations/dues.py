"""党费: who paid for which month, and the members whose dues have lapsed for six months.

The branch's 组织委员 records, month by month, the members who paid (003 二(二)3, 二(四)3: 记录党员交纳党费情况).
A member who pays no dues for six consecutive months is treated as having left the Party of their own accord
(《中国共产党章程》第九条: 自行脱党; 中组发〔2008〕3号): the 支部大会 must decide and report to the parent. This
module derives that fact (`Member.dues_lapsed_from`, the first of the six months) and the planner turns it into
a `dues-lapse` task for the branch secretary, reminded and escalated like any other.

A branch's dues are tracked from the first month it recorded any payment: before that (or before a member
joined) nothing is owed, so a newly imported registry does not make every member lapse six months later.
A month counts as unpaid once it has ended. Paying a month of the gap afterwards (补交) breaks the run, and the
task that was not yet acted on is withdrawn by the next plan.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from calendars.instants import FOUNDING, LATEST_YEAR
from calendars.model import OrgKind
from obligations import planner, planstate
from obligations.errors import LedgerError
from obligations.members import member_id_problem, member_problems, read_table, recording_branch
from obligations.models import DuesPayment, Member, Organization
from obligations.queries import members_of_branch, organization

LAPSE_MONTHS = 6  # 党章 第九条: 连续六个月不交纳党费
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")


def parse_month(text: str) -> tuple[int, int]:
    """2026-11 -> (2026, 11); ValueError with the reason in Chinese."""
    match = _MONTH.fullmatch(text.strip())
    if not match:
        raise ValueError(f"月份应写作 2026-11，而不是 {text!r}")
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 12:
        raise ValueError(f"月份 {text!r} 无效：月应在 1–12 之间")
    if (year, month) < (FOUNDING.year, FOUNDING.month) or year > LATEST_YEAR:
        raise ValueError(f"月份 {text!r} 超出范围：应在 {FOUNDING:%Y-%m} 与 {LATEST_YEAR}-12 之间")
    return year, month


def month_key(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}"


def _index(key: str) -> int:
    year, month = int(key[:4]), int(key[5:7])
    return year * 12 + month - 1


def _key(index: int) -> str:
    return month_key(index // 12, index % 12 + 1)


@dataclass(frozen=True)
class Paid:
    months: list[str]
    recorded: int  # payments newly recorded
    already: list[str]  # "member month" already recorded


def pay(
    session: Session,
    org_code: str,
    month: str,
    member_ids: Sequence[str],
    *,
    as_of: dt.date,
    now: dt.datetime,
) -> Paid:
    """Record that these members of the branch paid their dues for `month`. All checks run first; a record
    with any problem writes nothing (exit 6)."""
    branch = recording_branch(session, org_code)
    problems: list[str] = []
    key = _month_problem(month, as_of, problems)
    if not member_ids:
        problems.append("没有指定交纳党费的党员（--member）。")
    members = {member.id: member for member in members_of_branch(session, branch)}
    problems.extend(member_problems(member_ids, members, branch))
    if problems or key is None:
        raise LedgerError(problems)
    return _store(session, [(member, branch.code, key) for member in member_ids], as_of=as_of, now=now)


COLUMNS = {"党员编号": "member", "编号": "member", "member": "member", "月份": "month", "month": "month"}


def import_file(session: Session, path: Path, *, as_of: dt.date, now: dt.datetime) -> Paid:
    """Record the payments of a CSV (党员编号, 月份: one row per member and month, as the 组织委员's spreadsheet
    exports it). Each member's branch is found from the registry; every problem is listed with its row."""
    file = str(path)
    table = read_table(path, COLUMNS, ("member", "month"), "党员编号 和 月份")
    problems: list[str] = []
    entries: list[tuple[str, str, str]] = []
    branches = _branches(session)
    seen: set[tuple[str, str]] = set()
    for number, cells in table:
        member_id, month = cells["member"], cells["month"]
        found: list[str] = []
        key = _month_problem(month, as_of, found)
        problem = member_id_problem(member_id)
        if problem:
            found.append(problem)
        elif member_id not in branches:
            found.append(f"{member_id or '（空）'} 不是在册党员。")
        elif key is not None and (member_id, key) in seen:
            found.append(f"{member_id} {key} 重复出现。")
        problems.extend(f"{file} 第 {number} 行：{message}" for message in found)
        if not found and key is not None:
            seen.add((member_id, key))
            entries.append((member_id, branches[member_id], key))
    if problems:
        raise LedgerError(problems)
    return _store(session, entries, as_of=as_of, now=now)


def _month_problem(month: str, as_of: dt.date, problems: list[str]) -> str | None:
    try:
        year, number = parse_month(month)
    except ValueError as error:
        problems.append(f"{error}。")
        return None
    if (year, number) > (as_of.year, as_of.month):
        problems.append(
            f"月份 {month_key(year, number)} 尚未到来（今天是 {as_of}）：只能登记已到月份的党费。"
        )
        return None
    return month_key(year, number)


def _branches(session: Session) -> dict[str, str]:
    """Every active member's branch: their organization, or the branch of their 党小组."""
    parents = dict(
        session.execute(
            select(col(Organization.code), col(Organization.parent)).where(
                col(Organization.kind) == OrgKind.GROUP.value
            )
        ).all()
    )
    rows = session.execute(select(col(Member.id), col(Member.org)).where(col(Member.active).is_(True)))
    return {member: parents.get(org) or org for member, org in rows}


def _store(
    session: Session, entries: Sequence[tuple[str, str, str]], *, as_of: dt.date, now: dt.datetime
) -> Paid:
    """Insert the (member, branch, month) payments not recorded yet, then derive the branches' lapses."""
    stored: set[tuple[str, str]] = set()
    ids = sorted({member for member, _, _ in entries})
    for start in range(0, len(ids), planner.CHUNK):
        batch = ids[start : start + planner.CHUNK]
        query = select(col(DuesPayment.member), col(DuesPayment.month)).where(
            col(DuesPayment.member).in_(batch)
        )
        stored.update((member, month) for member, month in session.execute(query))
    already = [f"{member} {month}" for member, _, month in entries if (member, month) in stored]
    fresh = [(member, org, month) for member, org, month in entries if (member, month) not in stored]
    for member, org, month in fresh:
        session.add(DuesPayment(member=member, org=org, month=month, recorded_at=now))
    session.flush()
    # A branch's first record starts its tracking for every member, not only for those who paid.
    branches = sorted({org for _, org, _ in entries})
    everyone = [m.id for code in branches for m in members_of_branch(session, organization(session, code))]
    derive_lapses(session, as_of, only=everyone)
    return Paid(sorted({month for _, _, month in entries}), len(fresh), already)


@dataclass(frozen=True)
class DuesRow:
    member: str
    name: str
    paid: tuple[str, ...]  # months paid within the shown range
    unpaid_run: int  # consecutive ended months unpaid, up to the last ended month
    lapsed_from: str | None  # first month of six unpaid ones (自行脱党 procedure), if any


def status(session: Session, org_code: str, as_of: dt.date, months: int = 12) -> list[DuesRow]:
    """Each member of the branch: the months paid in the last `months` months, and the current unpaid run."""
    branch = recording_branch(session, org_code)
    members = members_of_branch(session, branch)
    history = _history(session, [member.id for member in members])
    first = _first_months(session, [branch.code]).get(branch.code)
    current = as_of.year * 12 + as_of.month - 1
    shown = {_key(index) for index in range(current - months + 1, current + 1)}
    rows = []
    for member in members:
        paid = history.get(member.id, set())
        run = _unpaid_run(paid, _owed_from(first, member), current)
        rows.append(
            DuesRow(
                member.id,
                member.name,
                tuple(sorted(paid & shown)),
                run,
                member.dues_lapsed_from.strftime("%Y-%m") if member.dues_lapsed_from else None,
            )
        )
    return rows


def months_of_year(
    session: Session, branch_code: str, members: Sequence[Member], year: int, as_of: dt.date
) -> dict[str, tuple[tuple[int, ...], tuple[int, ...]]]:
    """Each member's months of `year` (1–12) paid, and those unpaid: ended before `as_of`'s month and owed
    (from the branch's first recorded month and the member's joining), as `status` counts them."""
    history = _history(session, [member.id for member in members])
    first = _first_months(session, [branch_code]).get(branch_code)
    current = as_of.year * 12 + as_of.month - 1
    found: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
    for member in members:
        paid = history.get(member.id, set())
        owed = _owed_from(first, member)
        found[member.id] = (
            tuple(month for month in range(1, 13) if month_key(year, month) in paid),
            tuple(
                month
                for month in range(1, 13)
                if owed is not None
                and owed <= year * 12 + month - 1 < current
                and month_key(year, month) not in paid
            ),
        )
    return found


def derive_lapses(session: Session, as_of: dt.date, *, only: Iterable[str] | None = None) -> None:
    """Bring `Member.dues_lapsed_from` up to date as of `as_of` and mark the organizations whose facts changed.

    Without `only`, runs when a month has ended since the last time (a month's end is what makes a run
    longer) or the registry changed (a member joined or moved); with `only`, for those members after their
    payments changed."""
    state = planner.plan_state(session)
    month = planstate.dues_month(as_of)
    if only is None and planstate.dues_current(state, as_of):
        return
    if state.dues_checked != month:
        only = None  # the stored facts are all of one month: derive everyone's for this one
    if planstate.nothing_to_derive(session):
        return  # no branch keeps dues records: nothing to derive, and nothing written (a read stays a read)
    first_months = _first_months(session, None)
    groups = dict(
        session.execute(
            select(col(Organization.code), col(Organization.parent)).where(
                col(Organization.kind) == OrgKind.GROUP.value
            )
        ).all()
    )
    query = select(Member).where(col(Member.active).is_(True))
    if only is not None:
        query = query.where(col(Member.id).in_(list(only)))
    else:
        tracked = list(first_months) + [group for group, parent in groups.items() if parent in first_months]
        query = query.where(col(Member.org).in_(tracked) | col(Member.dues_lapsed_from).is_not(None))
    members = list(session.exec(query).all())
    history = _history(session, [member.id for member in members])
    current = as_of.year * 12 + as_of.month - 1
    changed: list[str] = []
    for member in members:
        first = first_months.get(groups.get(member.org) or member.org)
        lapsed = _lapse(history.get(member.id, set()), _owed_from(first, member), current)
        if lapsed != member.dues_lapsed_from:
            session.execute(update(Member).where(col(Member.id) == member.id).values(dues_lapsed_from=lapsed))
            changed.append(member.org)
    if only is None:
        state.dues_checked = month
        session.add(state)
    planner.registry_changed(session, changed)


def _history(session: Session, ids: Sequence[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(ids), planner.CHUNK):
        batch = list(ids[start : start + planner.CHUNK])
        for member, month in session.execute(
            select(col(DuesPayment.member), col(DuesPayment.month)).where(col(DuesPayment.member).in_(batch))
        ):
            found[member].add(month)
    return found


def _first_months(session: Session, codes: Sequence[str] | None) -> Mapping[str, str]:
    """The first month each branch recorded dues for: its tracking of dues starts there."""
    query = select(col(DuesPayment.org), func.min(col(DuesPayment.month))).group_by(col(DuesPayment.org))
    if codes is not None:
        query = query.where(col(DuesPayment.org).in_(list(codes)))
    return dict(session.execute(query).all())


def _owed_from(first: str | None, member: Member) -> int | None:
    """The first month the member owes dues in the branch's records: none before the branch kept records."""
    if first is None:
        return None
    start = _index(first)
    if member.joined_on is not None:
        start = max(start, member.joined_on.year * 12 + member.joined_on.month - 1)
    return start


def _unpaid_run(paid: set[str], owed_from: int | None, current: int) -> int:
    """How many ended months, back from the last one, are unpaid."""
    if owed_from is None:
        return 0
    run = 0
    for index in range(current - 1, owed_from - 1, -1):
        if _key(index) in paid:
            break
        run += 1
    return run


def _lapse(paid: set[str], owed_from: int | None, current: int) -> dt.date | None:
    """The first month of the latest run of six or more ended, unpaid months."""
    if owed_from is None:
        return None
    run_end: int | None = None
    for index in range(current - 1, owed_from - 2, -1):
        unpaid = index >= owed_from and _key(index) not in paid
        if unpaid and run_end is None:
            run_end = index
        elif not unpaid and run_end is not None:
            if run_end - index >= LAPSE_MONTHS:
                start = index + 1
                return dt.date(start // 12, start % 12 + 1, 1)
            run_end = None
    return None
