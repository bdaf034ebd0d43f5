"""Instants as people type them: the one parser of every date-time the CLI and the desk accept.

Party time is Beijing time (Asia/Shanghai); a date-time without an offset is Beijing time. Accepted:

    2026-11-23                          a date: `bare_date` o'clock that day (09:00 for --as-of, 00:00 for --since)
    2026-11-23 09:00   2026-11-23T09:00 a Beijing date-time, optionally with :SS and .ffffff
    …Z  …+08:00  …+0800  …+08           ISO 8601 with UTC (Z) or an offset in any of ISO 8601's three forms

Anything else (9am, 23.11.2026, an hour 25, a date that does not exist) is refused with one Chinese message
that shows the forms; so is a year outside the calendars' range. A day (a record's date, a deadline, a report's
bounds) is read by `parse_day`: the same forms, a date-time standing for its date in Beijing. Pure: never reads
the clock.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

PARTY_TIME = ZoneInfo("Asia/Shanghai")

# The dates a party record can hold: none before the Party's founding (中国共产党成立), none after a far bound
# that stays well inside datetime's range, to which the planner adds years. (Here, not in periods, so that
# reading a date does not load the recurrence rules: the command line's start-up.)
FOUNDING = dt.date(1921, 7, 1)
LATEST_YEAR = 2200

FORMS = '2026-11-23、"2026-11-23 09:00"（北京时间）或 2026-11-23T01:00:00Z、2026-11-23T09:00:00+08:00'
EARLIEST_YEAR = FOUNDING.year

_INSTANT = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[ Tt](?P<time>\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<offset>[Zz]|(?P<sign>[+-])(?P<hours>\d{2})(?::?(?P<minutes>\d{2}))?)?)?"
)


class InstantError(ValueError):
    """A text that is no instant we accept; the message is one Chinese sentence naming the forms."""


class OutOfRange(InstantError):
    """An instant outside the years the calendars know."""


def parse_instant(text: str, *, bare_date: dt.time = dt.time(9)) -> dt.datetime:
    """An aware instant in party time from any accepted form (see the module); InstantError otherwise."""
    local = _parse(text, bare_date, InstantError(f"无法识别的时间 {text!r}：应写作 {FORMS}。"))
    if local is None or not EARLIEST_YEAR <= local.year <= LATEST_YEAR:
        raise OutOfRange(f"时间 {text!r} 超出范围：年份应在 {EARLIEST_YEAR}–{LATEST_YEAR} 之间。")
    return local


DAY_FORMS = "2026-11-23（也可写带时间的 2026-11-23T09:00:00+08:00，取北京时间的日期）"


def parse_day(text: str) -> dt.date:
    """A date from a date or any accepted date-time (its date in Beijing); InstantError otherwise. Stricter than
    dt.date.fromisoformat, which also takes 20261123 and week dates (2026-W48-1). Whether a day is too early
    or too late is the caller's to say (a record before the Party's founding, a deadline decades away)."""
    local = _parse(text, dt.time(0), InstantError(f"无法识别的日期 {text!r}：应写作 {DAY_FORMS}。"))
    if local is None:
        raise OutOfRange(f"日期 {text!r} 超出范围：年份应在 {EARLIEST_YEAR}–{LATEST_YEAR} 之间。")
    return local.date()


def _parse(text: str, bare_date: dt.time, unknown: InstantError) -> dt.datetime | None:
    """The instant in party time; `unknown` raised for a text of no accepted form; None when it is beyond
    what Python's datetime can hold in Beijing time (year 1 or 9999 with an offset)."""
    match = _INSTANT.fullmatch(text.strip())
    if match is None:
        raise unknown
    try:
        day = dt.date.fromisoformat(match["date"])
        clock = dt.time.fromisoformat(match["time"]) if match["time"] else bare_date
        zone = _zone(match)
    except ValueError:
        raise unknown from None
    try:
        return dt.datetime.combine(day, clock, zone).astimezone(PARTY_TIME)
    except OverflowError:
        return None


def _zone(match: re.Match[str]) -> dt.tzinfo:
    if match["offset"] is None:
        return PARTY_TIME
    if match["sign"] is None:
        return dt.UTC
    hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("no such offset")
    offset = dt.timedelta(hours=hours, minutes=minutes)
    return dt.timezone(-offset if match["sign"] == "-" else offset)
