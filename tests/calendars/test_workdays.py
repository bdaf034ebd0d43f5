from __future__ import annotations

import datetime as dt

import pytest

from calendars.workdays import CalendarConfigError, WorkCalendar, arrangements_from_config

D = dt.date

# 国务院办公厅关于2026年部分节假日安排的通知: the Saturdays and Sundays worked in 2026.
MAKEUP_DAYS_2026 = [
    D(2026, 1, 4),
    D(2026, 2, 14),
    D(2026, 2, 28),
    D(2026, 5, 9),
    D(2026, 9, 20),
    D(2026, 10, 10),
]


@pytest.mark.parametrize("day", MAKEUP_DAYS_2026)
def test_2026_makeup_weekend_days_are_working_days(day: dt.date) -> None:
    assert day.weekday() >= 5
    assert WorkCalendar().is_workday(day)


@pytest.mark.parametrize(
    "day",
    [
        D(2026, 10, 1),
        D(2026, 10, 3),
        D(2026, 10, 5),
        D(2026, 10, 7),
        D(2026, 2, 17),
        D(2026, 2, 23),
        D(2026, 1, 2),
    ],
)
def test_2026_holidays_are_rest_days(day: dt.date) -> None:
    assert not WorkCalendar().is_workday(day)


def test_ordinary_weekdays_and_weekends() -> None:
    calendar = WorkCalendar()
    assert calendar.is_workday(D(2026, 11, 20))  # a Friday
    assert not calendar.is_workday(D(2026, 11, 21))  # a Saturday


def test_next_workday_skips_the_national_day_week() -> None:
    calendar = WorkCalendar()
    assert calendar.next_workday(D(2026, 10, 1)) == D(2026, 10, 8)
    assert calendar.next_workday(D(2026, 10, 9)) == D(2026, 10, 9)
    assert calendar.next_workday(D(2026, 10, 9), inclusive=False) == D(2026, 10, 10)  # the makeup Saturday


def test_workdays_between_is_half_open_and_signed() -> None:
    calendar = WorkCalendar()
    # 10-08 Thu, 10-09 Fri, 10-10 makeup Sat; 10-11 is a Sunday.
    assert calendar.workdays_between(D(2026, 10, 1), D(2026, 10, 12)) == 3
    assert calendar.workdays_between(D(2026, 10, 12), D(2026, 10, 1)) == -3
    assert calendar.workdays_between(D(2026, 11, 16), D(2026, 11, 16)) == 0
    assert calendar.workdays_between(D(2026, 11, 16), D(2026, 11, 23)) == 5


def test_a_declared_2027_arrangement_is_honoured() -> None:
    declared = arrangements_from_config(
        {
            "2027": {
                "holidays": ["2027-01-01", "2027-02-05..2027-02-11"],
                "workdays": ["2027-02-14"],
                "source": "国务院办公厅通知（测试用）",
            }
        }
    )
    warnings: list[str] = []
    calendar = WorkCalendar(declared, warn=warnings.append)
    assert calendar.knows(2027)
    assert not calendar.is_workday(D(2027, 2, 8))  # a Monday inside the declared holiday
    assert calendar.is_workday(D(2027, 2, 14))  # a Sunday declared as a makeup working day
    assert not calendar.is_workday(D(2027, 2, 13))  # an ordinary Saturday
    assert calendar.next_workday(D(2027, 2, 5)) == D(2027, 2, 12)
    assert warnings == []


def test_a_declared_year_replaces_the_library_by_default_and_extends_it_on_request() -> None:
    replaced = WorkCalendar(arrangements_from_config({"2026": {"holidays": ["2026-11-23"]}}))
    assert not replaced.is_workday(D(2026, 11, 23))
    assert not replaced.is_workday(D(2026, 10, 10))  # the library's makeup Saturday is gone
    assert replaced.is_workday(D(2026, 10, 1))
    extended = WorkCalendar(
        arrangements_from_config({"2026": {"holidays": ["2026-11-23"], "mode": "extend"}})
    )
    assert not extended.is_workday(D(2026, 11, 23))
    assert extended.is_workday(D(2026, 10, 10))
    assert not extended.is_workday(D(2026, 10, 1))


def test_an_unknown_year_warns_once_and_falls_back_to_monday_to_friday() -> None:
    warnings: list[str] = []
    calendar = WorkCalendar(warn=warnings.append)
    assert not calendar.knows(2035)
    assert calendar.is_workday(D(2035, 10, 1))  # National Day, but nobody knows 2035's arrangement
    assert not calendar.is_workday(D(2035, 10, 6))  # a Saturday
    assert calendar.next_workday(D(2035, 10, 6)) == D(2035, 10, 8)
    assert len(warnings) == 1
    assert "2035" in warnings[0] and "[calendar.2035]" in warnings[0]


def test_a_year_whose_festivals_the_library_computes_but_whose_swaps_it_lacks_is_unknown() -> None:
    # holidays computes 2027's Spring Festival, but the State Council had not published 2027's 调休.
    warnings: list[str] = []
    calendar = WorkCalendar(warn=warnings.append)
    assert calendar.is_workday(D(2027, 2, 8))
    assert warnings and "2027" in warnings[0]


def test_every_problem_in_a_declared_arrangement_is_reported_at_once() -> None:
    with pytest.raises(CalendarConfigError) as caught:
        arrangements_from_config(
            {
                "2027": {
                    "holidays": ["2027-02-30", "2027-02-11..2027-02-05", "2028-01-01", "2027-03-01"],
                    "workdays": ["2027-03-01"],
                    "mode": "merge",
                    "typo": 1,
                },
                "next": {},
            },
            where="/etc/obligations/config.toml",
        )
    message = str(caught.value)
    assert "/etc/obligations/config.toml" in message
    assert "[calendar.2027] holidays 中的 '2027-02-30'" in message
    assert "'2027-02-11..2027-02-05'" in message
    assert "2028-01-01 不在 2027 年" in message
    assert "2027-03-01 同时列为放假和上班" in message
    assert "mode = 'merge' 无效" in message
    assert "未知的键 typo" in message
    assert "[calendar.next]" in message
