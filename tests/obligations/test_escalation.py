"""Escalation ladders, office hours with 调休, and who receives a step (with stand-ins for vacant seats)."""

from __future__ import annotations

import datetime as dt

import pytest

from calendars.instants import PARTY_TIME
from calendars.ladder import OfficeHours, current_step, first_remind_on, next_remind_on
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from obligations.escalation import (
    Receiver,
    Seat,
    Seats,
)

D = dt.date
RULES = load_profiles()["national"].rules
MONTHLY = RULES["committee-meeting"]  # default ladder: -7d, -1d, +1d, +14d
ELECTION = RULES["term-election"]  # long ladder: -6m, -3m, -1m, +1d, +14d


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARTY_TIME)


def test_the_default_ladder_for_a_monthly_duty() -> None:
    due = D(2026, 11, 30)
    assert first_remind_on(MONTHLY, due) == D(2026, 11, 23)
    assert current_step(MONTHLY, due, D(2026, 11, 22)) is None
    step, day = current_step(MONTHLY, due, D(2026, 11, 23)) or (None, None)
    assert (step and step.name, day) == ("upcoming", D(2026, 11, 23))
    assert step is not None and step.notify == ("responsible",)
    assert next_remind_on(MONTHLY, due, D(2026, 11, 23)) == D(2026, 11, 29)
    overdue = current_step(MONTHLY, due, D(2026, 12, 1))
    assert overdue is not None and overdue[0].name == "overdue"
    assert overdue[0].notify == ("responsible", "secretary", "parent.secretary")
    escalated = current_step(MONTHLY, due, D(2026, 12, 14))
    assert escalated is not None and escalated[0].notify[-1] == "grandparent.secretary"
    assert next_remind_on(MONTHLY, due, D(2026, 12, 14)) is None


def test_after_downtime_only_the_latest_step_is_current() -> None:
    # Nothing ran for a month: on 12-20 only the escalated step (12-14) is current, not the four before it.
    step = current_step(MONTHLY, D(2026, 11, 30), D(2026, 12, 20))
    assert step is not None and step[0].name == "escalated"


def test_a_term_election_is_reminded_six_three_and_one_month_ahead() -> None:
    due = D(2026, 11, 20)
    assert first_remind_on(ELECTION, due) == D(2026, 5, 20)
    names = []
    day = first_remind_on(ELECTION, due)
    while day is not None:
        step = current_step(ELECTION, due, day)
        assert step is not None
        names.append((step[0].name, day))
        day = next_remind_on(ELECTION, due, day)
    assert names == [
        ("six-months", D(2026, 5, 20)),
        ("three-months", D(2026, 8, 20)),
        ("one-month", D(2026, 10, 20)),
        ("overdue", D(2026, 11, 21)),
        ("escalated", D(2026, 12, 4)),
    ]


HOURS = OfficeHours.parse("08:30-18:00", WorkCalendar())


@pytest.mark.parametrize(
    ("instant", "open_"),
    [
        (at(D(2026, 11, 20), 8, 29), False),
        (at(D(2026, 11, 20), 8, 30), True),
        (at(D(2026, 11, 20), 17, 59), True),
        (at(D(2026, 11, 20), 18, 0), False),
        (at(D(2026, 11, 21), 10, 0), False),  # an ordinary Saturday
        (at(D(2026, 10, 3), 10, 0), False),  # National Day holiday
        (at(D(2026, 10, 10), 10, 0), True),  # 调休: a working Saturday
        (dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC), True),  # 09:00 in Shanghai
    ],
)
def test_office_hours_follow_the_chinese_working_calendar(instant: dt.datetime, open_: bool) -> None:
    assert HOURS.is_open(instant) is open_


def test_a_step_due_at_night_or_on_a_holiday_waits_for_the_next_working_morning() -> None:
    assert HOURS.next_opening(at(D(2026, 9, 30), 19, 0)) == at(D(2026, 10, 8), 8, 30)
    assert HOURS.next_opening(at(D(2026, 10, 9), 18, 30)) == at(D(2026, 10, 10), 8, 30)
    assert HOURS.next_opening(at(D(2026, 11, 20), 7, 0)) == at(D(2026, 11, 20), 8, 30)
    assert HOURS.next_opening(at(D(2026, 11, 20), 9, 0)) == at(D(2026, 11, 20), 9, 0)


@pytest.mark.parametrize("text", ["8:30", "18:00-08:30", "25:00-26:00", "morning"])
def test_bad_office_hours_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="办公时间"):
        OfficeHours.parse(text, WorkCalendar())


SEATS = Seats(
    {
        "gw": Seat("gw", "工委", None),
        "jg": Seat("jg", "机关党委", "gw"),
        "jg.b1": Seat("jg.b1", "第一党支部", "jg"),
        "jg.b1.g1": Seat("jg.b1.g1", "第一党小组", "jg.b1"),
        "jg.b2": Seat("jg.b2", "第二党支部", "jg"),
    },
    {
        ("gw", "secretary"): "gw-sec",
        ("jg", "secretary"): "jg-sec",
        ("jg.b1", "secretary"): "b1-sec",
        ("jg.b1", "deputy_secretary"): "b1-dep",
        ("jg.b1.g1", "group_leader"): "g1-lead",
        ("jg.b2", "deputy_secretary"): "b2-dep",
    },
)


def test_an_overdue_step_climbs_to_the_parent_and_then_the_grandparent_secretary() -> None:
    notify = ("responsible", "secretary", "parent.secretary", "grandparent.secretary")
    assert [r.member for r in SEATS.receivers("jg.b1", "secretary", "jg.b1", notify)] == [
        "b1-sec",
        "jg-sec",
        "gw-sec",
    ]


def test_a_vacant_responsible_seat_falls_to_the_secretary_and_the_message_says_so() -> None:
    (receiver,) = SEATS.receivers("jg.b1", "organization", "jg.b1", ("responsible",))
    assert receiver == Receiver("b1-sec", "第一党支部组织委员空缺，由书记代收")


def test_a_vacant_secretary_falls_to_the_deputy_then_the_parent_secretary() -> None:
    assert SEATS.holder("jg.b2", "secretary") == Receiver("b2-dep", "第二党支部书记空缺，由副书记代收")
    lonely = Seats(
        {"x": Seat("x", "某支部", "jg"), "jg": Seat("jg", "机关党委", None)}, {("jg", "secretary"): "jg-sec"}
    )
    assert lonely.holder("x", "organization") == Receiver(
        "jg-sec", "某支部组织委员空缺，由上级机关党委书记代收"
    )


def test_a_group_meeting_goes_to_the_group_leader_and_escalates_to_the_branch() -> None:
    receivers = SEATS.receivers("jg.b1.g1", "group_leader", "jg.b1.g1", ("responsible", "parent.secretary"))
    assert [r.member for r in receivers] == ["g1-lead", "b1-sec"]


def test_a_member_duty_goes_to_the_member_and_each_person_is_notified_once() -> None:
    receivers = SEATS.receivers("jg.b1", "member", "b1-sec", ("responsible", "secretary"))
    assert [r.member for r in receivers] == ["b1-sec"]
