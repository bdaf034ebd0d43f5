"""Periods (month, quarter, half-year, year, week, multi-year term) and offsets (7d, 6m, 3y).

A period has a stable key that never changes once issued (`2026-11`, `2026-Q4`, `2026-H2`, `2026`,
`2026-W47`, `2023-11-20/P3Y`), inclusive start and end dates, and tiles time without gaps: the day after
one period's end is the next period's start.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from calendars import recurrence


class Cadence(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"

    @property
    def label(self) -> str:
        return _CADENCE_LABELS[self]

    @property
    def months(self) -> int:
        """Length in months (0 for weeks)."""
        return _CADENCE_MONTHS[self]


_CADENCE_LABELS = {
    Cadence.WEEK: "每周",
    Cadence.MONTH: "每月",
    Cadence.QUARTER: "每季度",
    Cadence.HALF_YEAR: "每半年",
    Cadence.YEAR: "每年",
}
_CADENCE_MONTHS = {
    Cadence.WEEK: 0,
    Cadence.MONTH: 1,
    Cadence.QUARTER: 3,
    Cadence.HALF_YEAR: 6,
    Cadence.YEAR: 12,
}


@dataclass(frozen=True, order=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive
    key: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@lru_cache(maxsize=8192)
def period_of(cadence: Cadence, day: dt.date) -> Period:
    """The period of `cadence` that contains `day`."""
    if cadence is Cadence.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        return _week(monday)
    length = cadence.months
    first_month = (day.month - 1) // length * length + 1
    return _months_period(cadence, dt.date(day.year, first_month, 1))


def periods_overlapping(cadence: Cadence, first: dt.date, last: dt.date) -> tuple[Period, ...]:
    """Every period of `cadence` that shares at least one day with [first, last], in order.

    Cached: planning asks the same question for every organization and rule.
    """
    return _periods_overlapping(cadence, first, last)


@lru_cache(maxsize=1024)
def _periods_overlapping(cadence: Cadence, first: dt.date, last: dt.date) -> tuple[Period, ...]:
    if first > last:
        return ()
    start = period_of(cadence, first).start
    if cadence is Cadence.WEEK:
        return tuple(_week(monday) for monday in recurrence.week_starts(start, last))
    return tuple(
        _months_period(cadence, month_start)
        for month_start in recurrence.month_starts(start, last, step=cadence.months)
    )


def term(elected_on: dt.date, years: int) -> Period:
    """A committee's term: from its election to the same date `years` later (the term-end date)."""
    end = recurrence.shift(elected_on, years=years)
    return Period(start=elected_on, end=end, key=f"{elected_on.isoformat()}/P{years}Y")


_KEY_PATTERNS: list[tuple[re.Pattern[str], Cadence | None]] = [
    (re.compile(r"^(\d{4})-(\d{2})$"), Cadence.MONTH),
    (re.compile(r"^(\d{4})-Q([1-4])$"), Cadence.QUARTER),
    (re.compile(r"^(\d{4})-H([12])$"), Cadence.HALF_YEAR),
    (re.compile(r"^(\d{4})$"), Cadence.YEAR),
    (re.compile(r"^(\d{4})-W(\d{2})$"), Cadence.WEEK),
    (re.compile(r"^(\d{4}-\d{2}-\d{2})/P(\d+)Y$"), None),
]


def parse_key(key: str) -> Period:
    """The period a key names; ValueError when the key is not one this module issues."""
    for pattern, cadence in _KEY_PATTERNS:
        match = pattern.match(key)
        if not match:
            continue
        a, b = (*match.groups(), "")[:2]
        try:
            if cadence is None:
                return term(dt.date.fromisoformat(a), int(b))
            if cadence is Cadence.WEEK:
                return _week(dt.date.fromisocalendar(int(a), int(b), 1))
            if cadence is Cadence.YEAR:
                return period_of(cadence, dt.date(int(a), 1, 1))
            month = int(b) if cadence is Cadence.MONTH else (int(b) - 1) * cadence.months + 1
            return period_of(cadence, dt.date(int(a), month, 1))
        except ValueError:
            break
    raise ValueError(f"无法识别的周期编号：{key!r}")


_QUARTERS = "一二三四"
_HALVES = {"1": "上半年", "2": "下半年"}


def date_name(day: dt.date) -> str:
    """A date as a person writes it: 2026年11月20日."""
    return f"{day.year}年{day.month}月{day.day}日"


def period_name(key: str) -> str:
    """A period key as a person reads it: 2026年11月, 2026年第四季度, 2026年下半年, 2026年, 2026年第47周,
    2023年11月20日起3年任期. The one place where a period is named; a key this module does not issue is
    returned unchanged (event keys are named by `calendars.expand.period_label`)."""
    for pattern, cadence in _KEY_PATTERNS:
        match = pattern.match(key)
        if not match:
            continue
        a, b = (*match.groups(), "")[:2]
        if cadence is None:
            try:
                start = dt.date.fromisoformat(a)
            except ValueError:
                return key
            return f"{date_name(start)}起{int(b)}年任期"
        if cadence is Cadence.MONTH:
            return f"{a}年{int(b)}月"
        if cadence is Cadence.QUARTER:
            return f"{a}年第{_QUARTERS[int(b) - 1]}季度"
        if cadence is Cadence.HALF_YEAR:
            return f"{a}年{_HALVES[b]}"
        if cadence is Cadence.WEEK:
            return f"{a}年第{int(b)}周"
        return f"{a}年"
    return key


def _months_period(cadence: Cadence, start: dt.date) -> Period:
    end = recurrence.month_end(start, cadence.months - 1)
    year = start.year
    index = (start.month - 1) // cadence.months + 1
    if cadence is Cadence.MONTH:
        key = f"{year}-{start.month:02d}"
    elif cadence is Cadence.QUARTER:
        key = f"{year}-Q{index}"
    elif cadence is Cadence.HALF_YEAR:
        key = f"{year}-H{index}"
    else:
        key = f"{year}"
    return Period(start=start, end=end, key=key)


def _week(monday: dt.date) -> Period:
    iso_year, iso_week, _ = monday.isocalendar()
    return Period(start=monday, end=monday + dt.timedelta(days=6), key=f"{iso_year}-W{iso_week:02d}")


@dataclass(frozen=True)
class Offset:
    """A signed calendar distance: `7d`, `2w`, `6m`, `1y`, `-1d`, `+14d`."""

    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0

    _PATTERN = re.compile(r"^([+-]?)(\d+)([dwmy])$")

    @classmethod
    def parse(cls, text: str) -> Offset:
        return _parse_offset(text)

    @classmethod
    def _parse(cls, text: str) -> Offset:
        match = cls._PATTERN.match(text.strip().lower())
        if not match:
            raise ValueError(f"无法识别的时长 {text!r}（应写作 7d、2w、6m、1y，可带 + 或 - 号）")
        sign = -1 if match.group(1) == "-" else 1
        amount = sign * int(match.group(2))
        unit = {"d": "days", "w": "weeks", "m": "months", "y": "years"}[match.group(3)]
        return cls(**{unit: amount})

    def after(self, day: dt.date) -> dt.date:
        return recurrence.shift(day, years=self.years, months=self.months, weeks=self.weeks, days=self.days)

    def before(self, day: dt.date) -> dt.date:
        return recurrence.shift(
            day, years=-self.years, months=-self.months, weeks=-self.weeks, days=-self.days
        )

    def __str__(self) -> str:
        for amount, unit in ((self.years, "y"), (self.months, "m"), (self.weeks, "w"), (self.days, "d")):
            if amount:
                return f"{amount}{unit}"
        return "0d"

    @property
    def label(self) -> str:
        """Chinese wording, e.g. 6个月, 7天."""
        for amount, unit in (
            (self.years, "年"),
            (self.months, "个月"),
            (self.weeks, "周"),
            (self.days, "天"),
        ):
            if amount:
                return f"{abs(amount)}{unit}"
        return "0天"


@lru_cache(maxsize=256)
def _parse_offset(text: str) -> Offset:
    return Offset._parse(text)
