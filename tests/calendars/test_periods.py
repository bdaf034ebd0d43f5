from __future__ import annotations

import datetime as dt

import pytest

from calendars import recurrence
from calendars.expand import duty_name, period_label
from calendars.periods import (
    Cadence,
    Offset,
    Period,
    parse_key,
    period_name,
    period_of,
    periods_overlapping,
    term,
)

D = dt.date


@pytest.mark.parametrize(
    ("cadence", "day", "key", "start", "end"),
    [
        (Cadence.MONTH, D(2026, 11, 21), "2026-11", D(2026, 11, 1), D(2026, 11, 30)),
        (Cadence.MONTH, D(2026, 12, 31), "2026-12", D(2026, 12, 1), D(2026, 12, 31)),
        (Cadence.MONTH, D(2027, 1, 1), "2027-01", D(2027, 1, 1), D(2027, 1, 31)),
        (Cadence.MONTH, D(2024, 2, 29), "2024-02", D(2024, 2, 1), D(2024, 2, 29)),
        (Cadence.MONTH, D(2026, 2, 1), "2026-02", D(2026, 2, 1), D(2026, 2, 28)),
        (Cadence.MONTH, D(2100, 2, 28), "2100-02", D(2100, 2, 1), D(2100, 2, 28)),  # 2100 is not a leap year
        (Cadence.QUARTER, D(2026, 3, 31), "2026-Q1", D(2026, 1, 1), D(2026, 3, 31)),
        (Cadence.QUARTER, D(2026, 4, 1), "2026-Q2", D(2026, 4, 1), D(2026, 6, 30)),
        (Cadence.QUARTER, D(2026, 11, 21), "2026-Q4", D(2026, 10, 1), D(2026, 12, 31)),
        (Cadence.HALF_YEAR, D(2026, 6, 30), "2026-H1", D(2026, 1, 1), D(2026, 6, 30)),
        (Cadence.HALF_YEAR, D(2026, 7, 1), "2026-H2", D(2026, 7, 1), D(2026, 12, 31)),
        (Cadence.YEAR, D(2026, 12, 31), "2026", D(2026, 1, 1), D(2026, 12, 31)),
        (Cadence.YEAR, D(2024, 2, 29), "2024", D(2024, 1, 1), D(2024, 12, 31)),
        (Cadence.WEEK, D(2026, 11, 21), "2026-W47", D(2026, 11, 16), D(2026, 11, 22)),
        (Cadence.WEEK, D(2027, 1, 1), "2026-W53", D(2026, 12, 28), D(2027, 1, 3)),  # ISO year, not calendar
    ],
)
def test_period_of_gives_key_and_inclusive_bounds(
    cadence: Cadence, day: dt.date, key: str, start: dt.date, end: dt.date
) -> None:
    period = period_of(cadence, day)
    assert (period.key, period.start, period.end) == (key, start, end)
    assert day in period
    assert parse_key(key) == period


def test_leap_february_has_29_days_and_a_common_one_28() -> None:
    assert period_of(Cadence.MONTH, D(2028, 2, 10)).days == 29
    assert period_of(Cadence.MONTH, D(2027, 2, 10)).days == 28
    assert period_of(Cadence.YEAR, D(2028, 6, 1)).days == 366
    assert period_of(Cadence.QUARTER, D(2028, 1, 1)).days == 91  # 31 + 29 + 31


@pytest.mark.parametrize(
    ("start", "offset", "expected"),
    [
        (D(2026, 8, 31), "6m", D(2027, 2, 28)),  # end-of-month safe
        (D(2023, 8, 31), "6m", D(2024, 2, 29)),  # into a leap February
        (D(2024, 2, 29), "1y", D(2025, 2, 28)),
        (D(2024, 2, 29), "4y", D(2028, 2, 29)),
        (D(2026, 6, 1), "6m", D(2026, 12, 1)),
        (D(2023, 11, 20), "3y", D(2026, 11, 20)),
        (D(2026, 12, 25), "+14d", D(2027, 1, 8)),
        (D(2026, 12, 1), "2w", D(2026, 12, 15)),
        (D(2026, 3, 31), "-1m", D(2026, 2, 28)),
    ],
)
def test_offsets_are_calendar_arithmetic(start: dt.date, offset: str, expected: dt.date) -> None:
    assert Offset.parse(offset).after(start) == expected


def test_offset_before_is_the_mirror_of_after() -> None:
    assert Offset.parse("6m").before(D(2027, 2, 28)) == D(2026, 8, 28)
    assert Offset.parse("7d").before(D(2026, 12, 1)) == D(2026, 11, 24)


@pytest.mark.parametrize("text", ["", "6", "6 months", "m6", "1.5y", "7h"])
def test_malformed_offsets_are_refused_in_chinese(text: str) -> None:
    with pytest.raises(ValueError, match="无法识别的时长"):
        Offset.parse(text)


def test_term_ends_on_the_anniversary_of_the_election() -> None:
    three = term(D(2023, 11, 20), 3)
    assert (three.key, three.start, three.end) == ("2023-11-20/P3Y", D(2023, 11, 20), D(2026, 11, 20))
    assert parse_key(three.key) == three
    assert term(D(2024, 2, 29), 5).end == D(2029, 2, 28)


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "2026-H3", "26", "2026-W54", "2026-02-30/P3Y", "x"])
def test_unknown_period_keys_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="无法识别的周期编号"):
        parse_key(key)


def test_periods_overlapping_starts_with_the_period_holding_the_first_day() -> None:
    found = list(periods_overlapping(Cadence.QUARTER, D(2026, 11, 21), D(2027, 4, 1)))
    assert [period.key for period in found] == ["2026-Q4", "2027-Q1", "2027-Q2"]
    assert list(periods_overlapping(Cadence.MONTH, D(2026, 5, 2), D(2026, 5, 1))) == []


def test_anniversary_of_29_february_falls_on_28_february_in_common_years() -> None:
    days = [recurrence.anniversary_in(D(2000, 2, 29), year) for year in range(2026, 2030)]
    assert days == [D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29), D(2029, 2, 28)]
    assert recurrence.anniversary_in(D(1990, 7, 1), 2026) == D(2026, 7, 1)


def test_month_end_clamps_to_the_month_length() -> None:
    assert recurrence.month_end(D(2026, 1, 15)) == D(2026, 1, 31)
    assert recurrence.month_end(D(2026, 1, 1), 1) == D(2026, 2, 28)
    assert recurrence.month_end(D(2027, 12, 1), 2) == D(2028, 2, 29)


def test_month_starts_refuses_a_mid_month_start() -> None:
    with pytest.raises(ValueError):
        list(recurrence.month_starts(D(2026, 1, 31), D(2026, 12, 31)))


def test_period_contains_only_dates_inside() -> None:
    period = Period(D(2026, 1, 1), D(2026, 1, 31), "2026-01")
    assert D(2026, 1, 31) in period
    assert D(2026, 2, 1) not in period
    assert "2026-01-05" not in period


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("2026-11", "2026年11月"),
        ("2026-01", "2026年1月"),
        ("2026-Q4", "2026年第四季度"),
        ("2026-Q1", "2026年第一季度"),
        ("2026-H2", "2026年下半年"),
        ("2026-H1", "2026年上半年"),
        ("2026", "2026年"),
        ("2026-W47", "2026年第47周"),
        ("2023-11-20/P3Y", "2023年11月20日起3年任期"),
    ],
)
def test_every_period_is_named_in_chinese(key: str, name: str) -> None:
    """Issue 10 §6: one function names a period for every message, table and export."""
    assert period_name(key) == name


def test_event_keys_name_the_seat_or_the_event_and_its_date() -> None:
    assert period_label("vacancy:deputy_secretary:2026-06-01") == "副书记空缺（2026年6月1日起）"
    assert period_label("probation:2025-09-01") == "预备期（2025年9月1日起）"
    assert period_label("2026-Q4") == "2026年第四季度"
    assert duty_name("支部党员大会", "2026-Q4") == "支部党员大会（2026年第四季度）"
    assert duty_name("党员政治生日", "2026", "张三") == "党员政治生日·张三（2026年）"
