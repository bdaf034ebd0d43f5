"""Read-side queries: an organization, its members, what it looks like (the due list is in obligations.duelist)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from calendars.model import OrgKind, Profile
from calendars.periods import term
from obligations import roster
from obligations.duelist import no_such_organization
from obligations.models import Member, Organization, Position
from obligations.roster import Headcount


def organization(session: Session, code: str) -> Organization:
    org = session.get(Organization, code)
    if org is None or not org.active:
        raise no_such_organization(session, code)
    return org


def branch_of(session: Session, member: Member) -> Organization:
    """The organization whose 支部大会 a member belongs to: their own, or the branch (or general branch) of
    the 党小组 they sit in (the read model's rule, roster.Roster.branch_of)."""
    return organization(session, roster.load(session, around=member.org).branch_of(member.org))


def members_of_branch(session: Session, branch: Organization) -> list[Member]:
    """The branch's active members, those of its 党小组 included, by id."""
    return sorted(roster.voting_member_rows(session, branch.code).values(), key=lambda member: member.id)


@dataclass(frozen=True)
class OrgView:
    org: Organization
    children: list[Organization]
    members: list[Member]
    positions: Sequence[tuple[Position, Member | None]]
    term_end: dt.date | None
    headcount: Headcount  # its own members and its 党小组's
    advice: list[str]  # the shape advisories of its profile that it meets, each with its clause


def org_view(session: Session, profiles: Mapping[str, Profile], code: str) -> OrgView:
    org = organization(session, code)
    children = list(
        session.exec(
            select(Organization)
            .where(col(Organization.parent) == code, col(Organization.active).is_(True))
            .order_by(col(Organization.code))
        )
    )
    members = list(
        session.exec(
            select(Member)
            .where(col(Member.org) == code, col(Member.active).is_(True))
            .order_by(col(Member.id))
        )
    )
    positions = list(
        session.exec(
            select(Position, Member)
            .outerjoin(Member, col(Member.id) == col(Position.member))
            .where(col(Position.org) == code)
            .order_by(col(Position.id))
        )
    )
    registry = roster.load(session, around=code, inactive=True)
    return OrgView(
        org,
        children,
        members,
        positions,
        term_end(org, profiles),
        registry.headcount(code),
        registry.advice(code, profiles),
    )


def term_end(org: Organization, profiles: Mapping[str, Profile]) -> dt.date | None:
    profile = profiles.get(org.effective_profile)
    rule = profile.rules.get("term-election") if profile else None
    if rule is None or org.elected_on is None:
        return None
    years = rule.term_for(OrgKind(org.kind), org.term_years)
    if years is None:
        return None
    return term(org.elected_on, years).end


def all_orgs(session: Session) -> list[Organization]:
    return list(
        session.exec(
            select(Organization).where(col(Organization.active).is_(True)).order_by(col(Organization.path))
        )
    )


def headcounts(session: Session, profiles: Mapping[str, Profile]) -> dict[str, tuple[Headcount, list[str]]]:
    """Every active organization's members (a branch's 党小组 included) and the shape advisories it meets."""
    registry = roster.load(session)
    return {code: (registry.headcount(code), registry.advice(code, profiles)) for code in registry.orgs}
