from __future__ import annotations

import datetime as dt

import pytest

from calendars.expand import MemberFacts, OrgFacts, PositionFacts, Window, expand
from calendars.model import OrgKind, Profile
from calendars.profiles import load_profiles

D = dt.date
YEAR_2026 = Window(D(2026, 1, 1), D(2026, 12, 31))


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return load_profiles()


def _branch(full: int, **facts: object) -> OrgFacts:
    members = tuple(MemberFacts(f"m{i}", "full", D(2010, 7, 1)) for i in range(full))
    return OrgFacts(code="jg.b1", kind=OrgKind.BRANCH, members=members, **facts)  # type: ignore[arg-type]


def _of(occurrences: list, rule: str) -> list:  # type: ignore[type-arg]
    return [occurrence for occurrence in occurrences if occurrence.rule == rule]


def test_a_five_member_branch_has_no_committee_meeting(profiles: dict[str, Profile]) -> None:
    for profile in profiles.values():
        assert _of(expand(profile, _branch(5), YEAR_2026), "committee-meeting") == []


def test_a_nine_member_branch_holds_twelve_committee_meetings_due_at_month_end(
    profiles: dict[str, Profile],
) -> None:
    meetings = _of(expand(profiles["national"], _branch(9), YEAR_2026), "committee-meeting")
    assert [m.period for m in meetings] == [f"2026-{month:02d}" for month in range(1, 13)]
    assert meetings[1].due == D(2026, 2, 28)
    assert meetings[-1].due == D(2026, 12, 31)


def test_seven_full_members_are_the_committee_threshold_and_probationers_do_not_count(
    profiles: dict[str, Profile],
) -> None:
    six_and_two = OrgFacts(
        "b",
        OrgKind.BRANCH,
        members=(
            *(MemberFacts(f"f{i}", "full") for i in range(6)),
            MemberFacts("p1", "probationary"),
            MemberFacts("p2", "probationary"),
        ),
    )
    assert _of(expand(profiles["national"], six_and_two, YEAR_2026), "committee-meeting") == []
    assert len(_of(expand(profiles["national"], _branch(7), YEAR_2026), "committee-meeting")) == 12


def test_wujin_organizational_life_meeting_is_half_yearly_and_the_national_one_yearly(
    profiles: dict[str, Profile],
) -> None:
    wujin = _of(expand(profiles["wujin-2016"], _branch(5), YEAR_2026), "organizational-life-meeting")
    national = _of(expand(profiles["national"], _branch(5), YEAR_2026), "organizational-life-meeting")
    assert [(o.period, o.due) for o in wujin] == [("2026-H1", D(2026, 6, 30)), ("2026-H2", D(2026, 12, 31))]
    assert [(o.period, o.due) for o in national] == [("2026", D(2026, 12, 31))]


@pytest.mark.parametrize(
    "profile_id", ["national", "haimen-2019", "luoyang-2020", "suzhou-2020", "wujin-2016"]
)
def test_a_term_elected_2023_11_20_in_a_three_year_profile_ends_2026_11_20(
    profiles: dict[str, Profile], profile_id: str
) -> None:
    org = _branch(9, elected_on=D(2023, 11, 20))
    (election,) = _of(expand(profiles[profile_id], org, YEAR_2026), "term-election")
    assert (election.period, election.start, election.due) == (
        "2023-11-20/P3Y",
        D(2023, 11, 20),
        D(2026, 11, 20),
    )


def test_a_wujin_branch_may_choose_a_two_year_term_but_not_a_four_year_one(
    profiles: dict[str, Profile],
) -> None:
    window = Window(D(2025, 1, 1), D(2027, 12, 31))
    two = _of(
        expand(profiles["wujin-2016"], _branch(9, elected_on=D(2023, 11, 20), term_years=2), window),
        "term-election",
    )
    four = _of(
        expand(profiles["wujin-2016"], _branch(9, elected_on=D(2023, 11, 20), term_years=4), window),
        "term-election",
    )
    national_two = _of(
        expand(profiles["national"], _branch(9, elected_on=D(2023, 11, 20), term_years=2), window),
        "term-election",
    )
    assert [o.due for o in two] == [D(2025, 11, 20)]
    assert [o.due for o in four] == [D(2026, 11, 20)]
    assert [o.due for o in national_two] == [D(2026, 11, 20)]


def test_a_committee_term_is_five_years(profiles: dict[str, Profile]) -> None:
    jg = OrgFacts("jg", OrgKind.COMMITTEE, elected_on=D(2022, 3, 10))
    (election,) = _of(
        expand(profiles["national"], jg, Window(D(2026, 10, 1), D(2027, 12, 31))), "term-election"
    )
    assert election.due == D(2027, 3, 10)


def test_an_overdue_term_election_stays_outstanding_in_a_later_window(profiles: dict[str, Profile]) -> None:
    org = _branch(9, elected_on=D(2020, 5, 1))
    (election,) = _of(expand(profiles["national"], org, YEAR_2026), "term-election")
    assert election.due == D(2023, 5, 1)


def test_a_vacancy_must_be_filled_within_six_months_and_stays_due_while_vacant(
    profiles: dict[str, Profile],
) -> None:
    org = _branch(9, positions=(PositionFacts("deputy_secretary", vacant_since=D(2026, 6, 1)),))
    (fill,) = _of(expand(profiles["national"], org, YEAR_2026), "vacancy-fill")
    assert (fill.subject, fill.period, fill.due) == (
        "jg.b1",
        "vacancy:deputy_secretary:2026-06-01",
        D(2026, 12, 1),
    )
    later = _of(expand(profiles["national"], org, Window(D(2027, 1, 1), D(2027, 12, 31))), "vacancy-fill")
    assert [o.due for o in later] == [D(2026, 12, 1)]
    not_yet = _of(expand(profiles["national"], org, Window(D(2025, 1, 1), D(2025, 12, 31))), "vacancy-fill")
    assert not_yet == []


def test_a_group_leader_vacancy_is_not_a_committee_seat(profiles: dict[str, Profile]) -> None:
    org = _branch(9, positions=(PositionFacts("group_leader", vacant_since=D(2026, 6, 1)),))
    assert _of(expand(profiles["national"], org, YEAR_2026), "vacancy-fill") == []


def test_a_new_secretary_is_trained_within_six_months_end_of_month_safe(profiles: dict[str, Profile]) -> None:
    org = _branch(9, positions=(PositionFacts("secretary", member="m1", since=D(2026, 8, 31)),))
    (training,) = _of(
        expand(profiles["national"], org, Window(D(2026, 9, 1), D(2027, 12, 31))), "new-secretary-training"
    )
    assert (training.subject, training.due) == ("m1", D(2027, 2, 28))
    # An appointment long past ages out: a secretary since 2015 is not owed a training task in 2026.
    veteran = _branch(9, positions=(PositionFacts("secretary", member="m1", since=D(2015, 3, 1)),))
    assert _of(expand(profiles["national"], veteran, YEAR_2026), "new-secretary-training") == []


def test_probation_review_falls_due_a_year_after_probation_starts(profiles: dict[str, Profile]) -> None:
    org = OrgFacts(
        "b",
        OrgKind.BRANCH,
        members=(
            MemberFacts("p1", "probationary", D(2025, 12, 15), probation_start=D(2025, 12, 15)),
            MemberFacts("f1"),
        ),
    )
    (review,) = _of(expand(profiles["national"], org, YEAR_2026), "probation-review")
    assert (review.subject, review.period, review.due) == ("p1", "probation:2025-12-15", D(2026, 12, 15))


def test_political_birthdays_follow_the_joining_date_and_start_after_it(profiles: dict[str, Profile]) -> None:
    org = OrgFacts(
        "b",
        OrgKind.BRANCH,
        members=(MemberFacts("leap", "full", D(2000, 2, 29)), MemberFacts("new", "full", D(2026, 7, 1))),
    )
    window = Window(D(2026, 1, 1), D(2028, 12, 31))
    birthdays = [
        (o.subject, o.due) for o in _of(expand(profiles["haimen-2019"], org, window), "political-birthday")
    ]
    assert birthdays == [
        ("leap", D(2026, 2, 28)),
        ("leap", D(2027, 2, 28)),
        ("new", D(2027, 7, 1)),
        ("leap", D(2028, 2, 29)),
        ("new", D(2028, 7, 1)),
    ]


def test_study_hours_are_32_for_members_and_56_for_committee_members(profiles: dict[str, Profile]) -> None:
    org = _branch(3, positions=(PositionFacts("secretary", member="m0", since=D(2024, 1, 1)),))
    hours = {
        o.subject: (o.required, o.unit.value)
        for o in _of(expand(profiles["national"], org, YEAR_2026), "study-hours")
    }
    assert hours == {"m0": (56, "hours"), "m1": (32, "hours"), "m2": (32, "hours")}


def test_a_group_has_its_monthly_meeting_and_no_branch_duties(profiles: dict[str, Profile]) -> None:
    group = OrgFacts("jg.b1.g1", OrgKind.GROUP, full_members=8)
    rules = {o.rule for o in expand(profiles["national"], group, YEAR_2026)}
    assert rules == {"group-meeting"}
    assert len(_of(expand(profiles["national"], group, YEAR_2026), "group-meeting")) == 12


def test_the_lesson_plan_is_due_at_the_end_of_january(profiles: dict[str, Profile]) -> None:
    (plan,) = _of(expand(profiles["wujin-2016"], _branch(5), YEAR_2026), "lesson-plan")
    assert (plan.period, plan.start, plan.due) == ("2026", D(2026, 1, 1), D(2026, 1, 31))


def test_suzhou_assessment_is_due_30_november_except_31_july_2022_and_not_before_2020(
    profiles: dict[str, Profile],
) -> None:
    window = Window(D(2019, 1, 1), D(2023, 12, 31))
    dues = [o.due for o in _of(expand(profiles["suzhou-2020"], _branch(5), window), "standard-assessment")]
    assert dues == [D(2020, 11, 30), D(2021, 11, 30), D(2022, 7, 31), D(2023, 11, 30)]


def test_a_leading_group_gets_its_quota_of_central_group_study_in_luoyang(
    profiles: dict[str, Profile],
) -> None:
    leading = OrgFacts("dz", OrgKind.LEADING_GROUP)
    (study,) = _of(expand(profiles["luoyang-2020"], leading, YEAR_2026), "central-group-study")
    assert (study.required, study.due) == (6, D(2026, 12, 31))
    assert _of(expand(profiles["national"], leading, YEAR_2026), "central-group-study") == []


def test_occurrences_are_sorted_by_due_date_then_rule(profiles: dict[str, Profile]) -> None:
    occurrences = expand(profiles["wujin-2016"], _branch(9, elected_on=D(2024, 1, 5)), YEAR_2026)
    assert occurrences == sorted(occurrences, key=lambda o: (o.due, o.rule, o.subject, o.period))
    assert occurrences[0].due == D(2026, 1, 31)


def test_a_window_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="早于开始日期"):
        Window(D(2026, 2, 1), D(2026, 1, 1))
