"""The one place that talks to python-dateutil.

Everything else in the project asks this module for recurring dates and calendar arithmetic, so that
rrule's sharp edges (it silently skips dates that do not exist, e.g. the 31st in February) are handled
once, here.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator

from dateutil.relativedelta import relativedelta
from dateutil.rrule import MONTHLY, WEEKLY, rrule


def shift(day: dt.date, *, years: int = 0, months: int = 0, weeks: int = 0, days: int = 0) -> dt.date:
    """Calendar arithmetic that clamps to the end of a shorter month (08-31 + 6 months = 02-28)."""
    moved: dt.date = day + relativedelta(years=years, months=months, weeks=weeks, days=days)
    return moved


def month_end(day: dt.date, months_ahead: int = 0) -> dt.date:
    """The last day of the month `months_ahead` months after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months_ahead
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def anniversary_in(anchor: dt.date, year: int) -> dt.date:
    """`anchor`'s anniversary in `year`; 29 February falls on 28 February in common years."""
    if anchor.month == 2 and anchor.day == 29 and not calendar.isleap(year):
        return dt.date(year, 2, 28)
    return anchor.replace(year=year)


def month_starts(first: dt.date, until: dt.date, step: int = 1) -> Iterator[dt.date]:
    """First days of every `step`-th month from the month of `first` (which must be a 1st) to `until`."""
    if first.day != 1:
        raise ValueError(f"month_starts needs the first day of a month, got {first}")
    for moment in rrule(MONTHLY, interval=step, dtstart=_midnight(first), until=_midnight(until)):
        yield moment.date()


def week_starts(first: dt.date, until: dt.date) -> Iterator[dt.date]:
    """Mondays from the Monday on or before `first` to `until`."""
    monday = first - dt.timedelta(days=first.weekday())
    for moment in rrule(WEEKLY, dtstart=_midnight(monday), until=_midnight(until)):
        yield moment.date()


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)
