"""What the member workflows (转正, 民主评议, 党费) share: checking the member ids a person typed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence

from sqlmodel import Session

from calendars.model import OrgKind
from calendars.text import control_problem, length_problem, shown
from obligations.errors import UserError
from obligations.models import Member, Organization
from obligations.queries import organization

MEMBER_ID_MAX = 100  # Member.id's column
MAX_MEMBERS = 10_000  # one record names at most a large branch's roll; more is a slip


def recording_branch(session: Session, code: str) -> Organization:
    """The organization a member record names: a branch (or any organization with members of its own), never
    a 党小组, which is part of its branch and keeps no roll of its own."""
    org = organization(session, code)
    if org.kind == OrgKind.GROUP.value:
        raise UserError(f"{org.name}（{org.code}）是党小组，属于其所在支部：请用 --org {org.parent} 登记。")
    return org


def member_problems(ids: Sequence[str], members: Mapping[str, Member], branch: Organization) -> list[str]:
    """Why these ids cannot be recorded for the branch: unreadable, too long, named twice, or not among the
    branch's active members (its 党小组 included)."""
    problems: list[str] = []
    if len(ids) > MAX_MEMBERS:
        return [f"一次最多登记 {MAX_MEMBERS} 名党员，而不是 {len(ids)} 名。"]
    for member_id in ids:
        problem = control_problem(member_id) or length_problem(member_id, MEMBER_ID_MAX)
        if problem:
            problems.append(f"党员编号 {shown(member_id)!r} {problem}。")
        elif member_id not in members:
            problems.append(f"{member_id} 不是{branch.name}（{branch.code}）的在册党员。")
    twice = sorted(member for member, count in Counter(ids).items() if count > 1)
    if twice:
        problems.append(f"{'、'.join(map(shown, twice))} 被重复填写。")
    return problems
