"""calendars.instants: the one parser of typed date-times — Beijing time without an offset, ISO 8601 with one."""

from __future__ import annotations

import datetime as dt

import pytest

from calendars.instants import PARTY_TIME, InstantError, parse_day, parse_instant


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", dt.datetime(2026, 11, 23, 9, 0)),
        ("2026-11-23 09:30", dt.datetime(2026, 11, 23, 9, 30)),
        ("2026-11-23T09:30", dt.datetime(2026, 11, 23, 9, 30)),
        ("2026-11-23 09:30:15", dt.datetime(2026, 11, 23, 9, 30, 15)),
        ("2026-11-23T09:30:15.250", dt.datetime(2026, 11, 23, 9, 30, 15, 250000)),
        ("  2026-11-23T09:30  ", dt.datetime(2026, 11, 23, 9, 30)),
        ("2026-10-03T10:00:00+08:00", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-03T10:00:00+0800", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-03T10:00+08", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-03T02:00:00Z", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-03T02:00:00z", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-03 02:00Z", dt.datetime(2026, 10, 3, 10, 0)),
        ("2026-10-02T20:00:00-04:00", dt.datetime(2026, 10, 3, 8, 0)),
        ("2026-10-03T05:15:00+05:45", dt.datetime(2026, 10, 3, 7, 30)),
    ],
)
def test_beijing_times_and_iso_8601_with_any_offset_form_are_one_instant(
    text: str, expected: dt.datetime
) -> None:
    parsed = parse_instant(text)
    assert parsed.tzinfo is PARTY_TIME
    assert parsed == expected.replace(tzinfo=PARTY_TIME)


def test_a_bare_date_is_the_hour_the_caller_chooses() -> None:
    assert parse_instant("2026-11-01", bare_date=dt.time(0)) == dt.datetime(2026, 11, 1, tzinfo=PARTY_TIME)
    assert parse_instant("2026-11-01").hour == 9


@pytest.mark.parametrize(
    "text",
    [
        "2026-13-01",
        "2026-02-29",
        "yesterday",
        "",
        "2026-11-23 9am",
        "2026-11-23 9:00",
        "23.11.2026",
        "2026-11-23T25:00",
        "2026-11-23T09:00+24:00",
        "2026-11-23T09:00+08:60",
        "2026-11-23T09:00 +08:00",
        "2026-11-23+08:00",
        "2026-11-23T09:00:00.1234567",
    ],
)
def test_anything_else_is_one_chinese_message_naming_the_forms(text: str) -> None:
    with pytest.raises(InstantError) as raised:
        parse_instant(text)
    assert str(raised.value) == (
        f'无法识别的时间 {text!r}：应写作 2026-11-23、"2026-11-23 09:00"（北京时间）或 '
        "2026-11-23T01:00:00Z、2026-11-23T09:00:00+08:00。"
    )


@pytest.mark.parametrize("text", ["9999-12-31", "9999-12-31T23:59Z", "1900-01-01", "2200-12-31T20:00:00Z"])
def test_a_year_outside_the_calendars_is_refused_without_overflowing(text: str) -> None:
    with pytest.raises(InstantError, match="超出范围：年份应在 1921–2200 之间"):
        parse_instant(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23", dt.date(2026, 11, 23)),
        ("2026-11-23 19:00", dt.date(2026, 11, 23)),
        ("2026-11-23T19:00:00+08:00", dt.date(2026, 11, 23)),
        ("2026-11-23T16:30:00Z", dt.date(2026, 11, 24)),  # already the 24th in Beijing
        ("2026-11-23T20:00-0500", dt.date(2026, 11, 24)),
    ],
)
def test_a_day_is_a_date_or_the_beijing_date_of_a_date_time(text: str, expected: dt.date) -> None:
    assert parse_day(text) == expected


@pytest.mark.parametrize(
    "text", ["20261123", "2026-W48-1", "2026-327", "2026/11/23", "2026-11-31", "tomorrow"]
)
def test_a_day_refuses_what_fromisoformat_would_take_and_anything_else(text: str) -> None:
    with pytest.raises(InstantError) as raised:
        parse_day(text)
    assert str(raised.value) == (
        f"无法识别的日期 {text!r}：应写作 2026-11-23（也可写带时间的 2026-11-23T09:00:00+08:00，取北京时间的日期）。"
    )


def test_how_early_or_late_a_day_may_be_is_the_callers_to_say() -> None:
    assert parse_day("1900-01-15") == dt.date(1900, 1, 15)  # the ledger says 早于建党
    assert parse_day("9999-12-31") == dt.date(9999, 12, 31)  # a waiver says 晚 5 年以上
    with pytest.raises(InstantError, match="超出范围"):
        parse_day("9999-12-31T23:00:00-05:00")  # beyond what a datetime holds in Beijing
