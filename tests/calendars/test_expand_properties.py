"""Property tests: for any facts and window, expansion stays in the window, tiles periods and is deterministic."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from calendars.expand import MemberFacts, OrgFacts, PositionFacts, Window, expand
from calendars.model import OrgKind, Profile, Role, RuleKind
from calendars.periods import Cadence, parse_key, period_of, periods_overlapping
from calendars.profiles import load_profiles

PROFILES = load_profiles()
dates = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2045, 12, 31))


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2040, 12, 31)))
    length = draw(st.integers(min_value=0, max_value=3 * 366))
    return Window(start, start + dt.timedelta(days=length))


@st.composite
def org_facts(draw: st.DrawFn) -> OrgFacts:
    members = draw(
        st.lists(
            st.builds(
                MemberFacts,
                id=st.text("abcdefgh", min_size=1, max_size=4),
                status=st.sampled_from(["full", "probationary"]),
                joined_on=st.none() | dates,
                probation_start=st.none() | dates,
                staff_since=st.none() | dates,
            ),
            max_size=12,
            unique_by=lambda member: member.id,
        )
    )
    ids = [member.id for member in members]
    positions = draw(
        st.lists(
            st.builds(
                PositionFacts,
                role=st.sampled_from([role.value for role in Role]),
                member=st.none() | (st.sampled_from(ids) if ids else st.none()),
                since=st.none() | dates,
                vacant_since=st.none() | dates,
            ),
            max_size=5,
        )
    )
    return OrgFacts(
        code="org",
        kind=draw(st.sampled_from(list(OrgKind))),
        members=tuple(members),
        positions=tuple(positions),
        has_groups=draw(st.booleans()),
        elected_on=draw(st.none() | dates),
        term_years=draw(st.none() | st.integers(min_value=1, max_value=6)),
        full_members=draw(st.none() | st.integers(min_value=0, max_value=120)),
    )


profile_ids = st.sampled_from(sorted(PROFILES))


@settings(max_examples=150, deadline=None)
@given(profile_id=profile_ids, org=org_facts(), window=windows())
def test_occurrences_lie_inside_the_window(profile_id: str, org: OrgFacts, window: Window) -> None:
    profile = PROFILES[profile_id]
    for occurrence in expand(profile, org, window):
        rule = profile.rules[occurrence.rule]
        assert occurrence.start <= window.end
        if rule.kind is RuleKind.EVENT:
            assert rule.trigger is not None
            assert occurrence.due >= window.start or rule.trigger.persists
        else:
            assert window.start <= occurrence.due <= window.end
            period = parse_key(occurrence.period)
            assert period.start == occurrence.start


@settings(max_examples=150, deadline=None)
@given(profile_id=profile_ids, org=org_facts(), window=windows())
def test_periods_of_a_rule_tile_without_gaps_or_overlaps(
    profile_id: str, org: OrgFacts, window: Window
) -> None:
    profile = PROFILES[profile_id]
    series: dict[tuple[str, str], list[dt.date]] = defaultdict(list)
    for occurrence in expand(profile, org, window):
        if profile.rules[occurrence.rule].kind is not RuleKind.EVENT:
            series[(occurrence.rule, occurrence.subject)].append(occurrence.start)
    for (rule_id, _subject), starts in series.items():
        rule = profile.rules[rule_id]
        assert rule.cadence is not None
        periods = [period_of(rule.cadence, start) for start in sorted(starts)]
        assert len({period.key for period in periods}) == len(periods), "a period appears twice"
        if rule.due == "anniversary" or rule.effective_from or rule.due_exceptions:
            continue  # these skip periods by design (no birthday yet, rule not yet in force)
        for before, after in itertools.pairwise(periods):
            assert after.start == before.end + dt.timedelta(days=1), (rule_id, before, after)


@settings(max_examples=100, deadline=None)
@given(profile_id=profile_ids, org=org_facts(), window=windows())
def test_expansion_is_deterministic_whatever_the_order_of_rules(
    profile_id: str, org: OrgFacts, window: Window
) -> None:
    profile = PROFILES[profile_id]
    reordered = replace(profile, rules=dict(reversed(list(profile.rules.items()))))
    first = expand(profile, org, window)
    assert expand(profile, org, window) == first
    assert expand(reordered, org, window) == first


@settings(max_examples=200, deadline=None)
@given(cadence=st.sampled_from(list(Cadence)), window=windows())
def test_periods_overlapping_cover_the_range_exactly_once(cadence: Cadence, window: Window) -> None:
    periods = list(periods_overlapping(cadence, window.start, window.end))
    assert window.start in periods[0]
    assert window.end in periods[-1]
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end + dt.timedelta(days=1)
    for period in periods:
        assert parse_key(period.key) == period


def test_due_at_period_end_rules_cover_the_whole_window_up_to_the_last_due() -> None:
    profile: Profile = PROFILES["national"]
    org = OrgFacts("b", OrgKind.BRANCH, full_members=9)
    window = Window(dt.date(2026, 11, 21), dt.date(2028, 2, 29))
    meetings = [o for o in expand(profile, org, window) if o.rule == "committee-meeting"]
    assert meetings[0].start <= window.start <= meetings[0].due
    assert meetings[-1].due == dt.date(2028, 2, 29)
