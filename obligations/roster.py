"""The registry as the rest of the application reads it: organizations → members (a 党小组's included in its
branch) → positions → 班子成员, loaded in three queries for the whole registry or one organization's
neighbourhood.

The rules of who counts where live here, once:
- a 党小组 is part of its branch: its members are members of the branch for every count and decision — the
  党员大会's quorum, ≥7 full members → 支委会, the size advisories, the 支部大会 that decides a 转正 (a record of
  a group may name any member of the branch, and its quorum is the branch's);
- a 班子成员 (56 学时, the 班子成员's yearly 集中培训) is whoever holds a committee seat (`COMMITTEE_ROLES`) of a
  branch, general branch, 党委 or 党组, wherever that person sits; a 党小组长 without such a seat is not;
- a 党小组 has no committee of its own: a duty of a group held by a committee role (a group member's 转正
  discussion, their political birthday) is held by its branch's officer (`seats`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlmodel import Session, col

from calendars.expand import MemberFacts, OrgFacts, PositionFacts
from calendars.model import COMMITTEE_ROLES, OrgKind, Profile
from obligations import escalation
from obligations.models import Member, Organization, Position


@dataclass
class OrgRow:
    code: str
    name: str
    kind: str
    parent: str | None
    path: str
    effective_profile: str
    elected_on: dt.date | None
    term_years: int | None
    tracked_from: dt.date | None  # 跟踪起始: nothing routine is owed before it
    dirty: bool
    active: bool


@dataclass(frozen=True)
class Headcount:
    """An organization's members as the documents count them: a branch's 党小组 included."""

    full: int
    probationary: int
    in_groups: int  # of which in its 党小组

    @property
    def total(self) -> int:
        return self.full + self.probationary

    def describe(self) -> str:
        """25（其中党小组 9）"""
        return f"{self.total}（其中党小组 {self.in_groups}）" if self.in_groups else str(self.total)


def seats(
    orgs: Iterable[tuple[str, str, str, str | None]], holders: Mapping[tuple[str, str], str]
) -> escalation.Seats:
    """Who holds which seat, from (code, name, kind, parent) rows and (org, role) -> member: a 党小组's
    committee roles are its branch's."""
    rows = list(orgs)
    found = dict(holders)
    for code, _name, kind, parent in rows:
        if kind != OrgKind.GROUP.value or parent is None:
            continue
        for role in COMMITTEE_ROLES:
            holder = holders.get((parent, role))
            if holder and (code, role) not in found:
                found[(code, role)] = holder
    return escalation.Seats(
        {code: escalation.Seat(code, name, parent) for code, name, _, parent in rows}, found
    )


class Roster:
    """Organizations, their members and positions, indexed for counting and planning."""

    def __init__(
        self,
        orgs: dict[str, OrgRow],
        members: Mapping[str, list[MemberFacts]],
        positions: Mapping[str, list[PositionFacts]],
    ) -> None:
        self.orgs = orgs
        self.members = members  # by the organization they sit in
        self.positions = positions
        self.groups: dict[str, list[str]] = defaultdict(list)
        for code, org in orgs.items():
            if org.kind == OrgKind.GROUP.value and org.parent:
                self.groups[org.parent].append(code)
        self._people: dict[str, MemberFacts] | None = None
        self._assignees: dict[tuple[str, str], str | None] = {}
        holders = {
            (code, position.role): position.member
            for code, held in positions.items()
            for position in held
            if position.member
        }
        self.seats = seats(((code, org.name, org.kind, org.parent) for code, org in orgs.items()), holders)

    # -- loading

    @classmethod
    def load(cls, session: Session, around: str | None = None, *, inactive: bool = False) -> Roster:
        """The whole active registry, or what deciding for the organization `around` needs: its ancestors
        (for assignees), its 党小组 (or, for a group, its branch's other groups), their members, and the
        holders of their seats wherever they sit. `inactive` keeps pruned organizations (for history)."""
        org_query = select(
            col(Organization.code),
            col(Organization.name),
            col(Organization.kind),
            col(Organization.parent),
            col(Organization.path),
            col(Organization.effective_profile),
            col(Organization.elected_on),
            col(Organization.term_years),
            col(Organization.tracked_from),
            col(Organization.dirty),
            col(Organization.active),
        )
        if not inactive:
            org_query = org_query.where(col(Organization.active).is_(True))
        if around is not None:
            row = session.get(Organization, around)
            ancestors = [code for code in (row.path.strip("/").split("/") if row else []) if code]
            parents = [around]
            if row is not None and row.kind == OrgKind.GROUP.value and row.parent:
                parents.append(row.parent)
            org_query = org_query.where(
                or_(col(Organization.code).in_(ancestors), col(Organization.parent).in_(parents))
            )
        orgs = {row.code: OrgRow(*row) for row in session.execute(org_query)}
        codes = list(orgs)
        position_query = select(
            col(Position.org),
            col(Position.role),
            col(Position.member),
            col(Position.since),
            col(Position.vacant_since),
        )
        member_query = select(
            col(Member.org),
            col(Member.id),
            col(Member.status),
            col(Member.joined_on),
            col(Member.probation_start),
            col(Member.staff_since),
            col(Member.probation_until),
            col(Member.dues_lapsed_from),
            col(Member.unqualified_on),
        ).where(col(Member.active).is_(True))
        if around is not None:
            sitting = select(col(Member.id)).where(col(Member.org).in_(codes))
            position_query = position_query.where(
                or_(col(Position.org).in_(codes), col(Position.member).in_(sitting))
            )
            holding = select(col(Position.member)).where(col(Position.org).in_(codes))
            member_query = member_query.where(or_(col(Member.org).in_(codes), col(Member.id).in_(holding)))
        positions: dict[str, list[PositionFacts]] = defaultdict(list)
        officers: set[str] = set()
        for org, *facts in session.execute(position_query):
            position = PositionFacts(*facts)
            positions[org].append(position)
            if position.member and position.role in COMMITTEE_ROLES:
                officers.add(position.member)
        members: dict[str, list[MemberFacts]] = defaultdict(list)
        for org, member_id, status, joined_on, probation_start, staff_since, *events in session.execute(
            member_query
        ):
            probation_until, dues_lapsed_from, unqualified_on = events
            members[org].append(
                MemberFacts(
                    member_id,
                    status,
                    joined_on,
                    probation_start,
                    staff_since,
                    member_id in officers,
                    probation_until=probation_until,
                    dues_lapsed_from=dues_lapsed_from,
                    unqualified_on=unqualified_on,
                )
            )
        return cls(orgs, members, positions)

    # -- who counts where

    def branch_of(self, code: str) -> str:
        """The organization whose members decide for `code`: a 党小组's branch, else itself."""
        org = self.orgs.get(code)
        if org is not None and org.kind == OrgKind.GROUP.value and org.parent:
            return org.parent
        return code

    def members_of(self, code: str) -> list[MemberFacts]:
        """The members of `code` for every count and decision: its own and its 党小组's."""
        found = list(self.members.get(code, ()))
        for group in self.groups.get(code, ()):
            found.extend(self.members.get(group, ()))
        return found

    def voting_members(self, code: str) -> list[MemberFacts]:
        """Who a meeting held for `code` is counted against: the branch's members (a 党小组's duty such as a
        group member's 转正 is decided by its 支部大会)."""
        return self.members_of(self.branch_of(code))

    def headcount(self, code: str) -> Headcount:
        full = probationary = in_groups = 0
        for group in self.groups.get(code, ()):
            in_groups += len(self.members.get(group, ()))
        for member in self.members_of(code):
            if member.status == "full":
                full += 1
            else:
                probationary += 1
        return Headcount(full, probationary, in_groups)

    def full_count(self, code: str) -> int:
        return sum(1 for member in self.members_of(code) if member.status == "full")

    def is_officer(self, member: str) -> bool:
        """A 班子成员: holds a committee seat somewhere (not only a 党小组长's)."""
        found = self._person(member)
        return bool(found and found.officer)

    def officers_of(self, code: str) -> tuple[MemberFacts, ...]:
        """The 班子成员 of `code`'s committee, wherever they sit (active members only)."""
        found: dict[str, MemberFacts] = {}
        for position in self.positions.get(code, ()):
            if position.member and position.role in COMMITTEE_ROLES:
                person = self._person(position.member)
                if person is not None:
                    found.setdefault(person.id, person)
        return tuple(found.values())

    def _person(self, member: str) -> MemberFacts | None:
        if self._people is None:
            self._people = {m.id: m for held in self.members.values() for m in held}
        return self._people.get(member)

    # -- what the calendar model and the advisories see

    def facts(self, code: str) -> OrgFacts:
        org = self.orgs[code]
        return OrgFacts(
            code=code,
            kind=OrgKind(org.kind),
            members=tuple(self.members.get(code, ())),
            positions=tuple(self.positions.get(code, ())),
            has_groups=bool(self.groups.get(code)),
            elected_on=org.elected_on,
            term_years=org.term_years,
            full_members=self.full_count(code),
            officers=self.officers_of(code),
        )

    def advice(self, code: str, profiles: Mapping[str, Profile]) -> list[str]:
        """The shape advisories of `code`'s profile that it meets, each with its count and clause."""
        org = self.orgs.get(code)
        profile = profiles.get(org.effective_profile) if org else None
        if org is None or profile is None:
            return []
        count = self.headcount(code)
        return profile.shape_advice(OrgKind(org.kind), count.total, count.full, bool(self.groups.get(code)))

    def assignee(self, code: str, responsible: str, subject: str) -> str | None:
        """The member who holds the duty; a vacant seat falls as the reminders' does (escalation.Seats)."""
        if responsible == "member":
            return subject
        key = (code, responsible)
        if key not in self._assignees:  # asked once per occurrence: millions of times for a city
            found = self.seats.receivers(code, responsible, subject, ("responsible",))
            self._assignees[key] = found[0].member if found else None
        return self._assignees[key]


def load(session: Session, around: str | None = None, *, inactive: bool = False) -> Roster:
    return Roster.load(session, around, inactive=inactive)


def voting_member_rows(session: Session, code: str) -> dict[str, Member]:
    """The active members a record of `code` may name and its quorum counts, as rows: its branch's, 党小组
    included (a group member's 转正 is decided by the 支部大会, where the branch's other members vote)."""
    ids = [member.id for member in load(session, around=code, inactive=True).voting_members(code)]
    found: dict[str, Member] = {}
    for start in range(0, len(ids), 500):  # IN (...) lists within both drivers' parameter limits
        for member in session.scalars(select(Member).where(col(Member.id).in_(ids[start : start + 500]))):
            found[member.id] = member
    return found
