"""The per-member facts the member workflows keep, expanded into dated duties (pure)."""

from __future__ import annotations

import datetime as dt

from calendars.expand import MemberFacts, OrgFacts, Window, expand, period_label
from calendars.model import OrgKind
from calendars.profiles import load_profiles

D = dt.date
PROFILES = load_profiles()
WINDOW = Window(D(2025, 1, 1), D(2027, 12, 31))


def _occurrences(
    rule: str, member: MemberFacts, profile: str = "national"
) -> list[tuple[str, str, dt.date, dt.date]]:
    org = OrgFacts("jg.b1", OrgKind.BRANCH, members=(member,))
    found = expand(PROFILES[profile], org, WINDOW)
    return [(o.subject, o.period, o.start, o.due) for o in found if o.rule == rule]


def test_party_constitution_art7_an_extended_probation_is_reviewed_at_its_new_end_only() -> None:
    member = MemberFacts("p1", "probationary", D(2025, 12, 10), D(2025, 12, 10))
    assert _occurrences("probation-review", member) == [
        ("p1", "probation:2025-12-10", D(2025, 12, 10), D(2026, 12, 10))
    ]
    extended = MemberFacts(
        "p1", "probationary", D(2025, 12, 10), D(2025, 12, 10), probation_until=D(2027, 6, 10)
    )
    assert _occurrences("probation-review", extended) == [
        ("p1", "probation-extended:2027-06-10", D(2026, 12, 10), D(2027, 6, 10))
    ]
    assert period_label("probation-extended:2027-06-10") == "延长预备期至 2027-06-10"


def test_party_constitution_art9_a_dues_lapse_is_due_a_month_after_the_sixth_month_ends() -> None:
    member = MemberFacts("m1", "full", D(2010, 7, 1), dues_lapsed_from=D(2026, 6, 1))
    assert _occurrences("dues-lapse", member) == [("m1", "dues:2026-06", D(2026, 12, 1), D(2027, 1, 1))]
    assert _occurrences("dues-lapse", MemberFacts("m2", "full", D(2010, 7, 1))) == []


def test_luoyang_13_29_a_second_unqualified_grade_is_reported_within_a_month() -> None:
    member = MemberFacts("m1", "full", D(2010, 7, 1), unqualified_on=D(2026, 12, 18))
    assert _occurrences("unqualified-member", member, "national") == []  # no national text sets it
    assert _occurrences("unqualified-member", member, "luoyang-2020") == [
        ("m1", "unqualified:2026-12-18", D(2026, 12, 18), D(2027, 1, 18))
    ]
