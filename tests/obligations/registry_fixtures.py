"""The registry of the planner issue: 机关党委 jg with branches jg.b1 (national) and jg.b2 (wujin-2016)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from calendars.model import OrgKind
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry

D = dt.date


JOINED = D(2012, 7, 1)


def member(member_id: str, org: str, status: str = "full", joined: dt.date = JOINED) -> MemberRecord:
    return MemberRecord(
        id=member_id,
        name=f"党员{member_id}",
        org=org,
        status=status,
        joined_on=joined,
        probation_start=joined if status == "probationary" else None,
        full_on=None,
        email=f"{member_id}@example.org",
        wecom=member_id,
        mobile=None,
    )


def issue_registry() -> Registry:
    orgs = (
        OrgRecord("jg", "机关党委", OrgKind.COMMITTEE, None, "national", D(2022, 3, 10), None),
        OrgRecord("jg.b1", "第一党支部", OrgKind.BRANCH, "jg", "national", D(2023, 11, 20), None),
        OrgRecord("jg.b1.g1", "第一党小组", OrgKind.GROUP, "jg.b1", None, None, None),
        OrgRecord("jg.b2", "第二党支部", OrgKind.BRANCH, "jg", "wujin-2016", D(2024, 4, 1), None),
    )
    members = (
        member("a1", "jg"),
        member("a2", "jg"),
        # jg.b1: 7 members of its own and 2 in its 党小组 — 9 full members, so it has a 支委会.
        *(member(f"b1m{i}", "jg.b1") for i in range(1, 8)),
        member("g1m1", "jg.b1.g1"),
        member("g1m2", "jg.b1.g1"),
        *(member(f"b2m{i}", "jg.b2") for i in range(1, 6)),
    )
    positions = (
        PositionRecord("jg", "secretary", "a1", D(2022, 3, 10), None),
        PositionRecord("jg.b1", "secretary", "b1m1", D(2023, 11, 20), None),
        PositionRecord("jg.b1", "deputy_secretary", None, None, D(2026, 6, 1)),
        PositionRecord("jg.b1", "organization", "b1m2", D(2023, 11, 20), None),
        PositionRecord("jg.b1.g1", "group_leader", "g1m1", D(2023, 12, 1), None),
        PositionRecord("jg.b2", "secretary", "b2m1", D(2024, 4, 1), None),
    )
    return Registry(orgs, members, positions)


def without_members(registry: Registry, *member_ids: str) -> Registry:
    return replace(registry, members=tuple(m for m in registry.members if m.id not in member_ids))
