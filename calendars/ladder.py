"""The escalation ladder's arithmetic: which step falls due on which day, and when messages may go out.

Pure: everything takes the day or the instant it reasons about.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from calendars.instants import PARTY_TIME
from calendars.model import Ladder, LadderStep, Rule
from calendars.workdays import WorkCalendar


def step_dates(rule: Rule, due: dt.date) -> tuple[tuple[LadderStep, dt.date], ...]:
    """The ladder's steps with the day each falls due, in order."""
    return _ladder_dates(rule.ladder, due)


@lru_cache(maxsize=65536)
def _ladder_dates(ladder: Ladder, due: dt.date) -> tuple[tuple[LadderStep, dt.date], ...]:
    # Cached: planning a city asks this for millions of tasks that share a few hundred due dates.
    return tuple(sorted(((step, step.at.after(due)) for step in ladder.steps), key=lambda pair: pair[1]))


def first_remind_on(rule: Rule, due: dt.date) -> dt.date:
    return step_dates(rule, due)[0][1]


def current_step(rule: Rule, due: dt.date, today: dt.date) -> tuple[LadderStep, dt.date] | None:
    """The latest step whose day has come: after downtime only it is sent, never the stale ones before it."""
    reached = [pair for pair in step_dates(rule, due) if pair[1] <= today]
    return reached[-1] if reached else None


def next_remind_on(rule: Rule, due: dt.date, today: dt.date) -> dt.date | None:
    """The first step day after `today`, or None when the ladder is exhausted."""
    for _step, day in step_dates(rule, due):
        if day > today:
            return day
    return None


_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def parse_hours(text: str) -> tuple[dt.time, dt.time]:
    """ "08:30-18:00" -> (opening, closing); ValueError with the reason in Chinese."""
    match = _HOURS.match(text.strip())
    if not match:
        raise ValueError(f"办公时间应写作 08:30-18:00，而不是 {text!r}")
    h1, m1, h2, m2 = (int(part) for part in match.groups())
    try:
        opens, closes = dt.time(h1, m1), dt.time(h2, m2)
    except ValueError:
        raise ValueError(f"办公时间 {text!r} 中的时刻无效") from None
    if opens >= closes:
        raise ValueError(f"办公时间 {text!r} 的开始应早于结束")
    return opens, closes


@dataclass(frozen=True)
class OfficeHours:
    """When messages may go out: working days (with 调休) between opening and closing, in party time."""

    opens: dt.time
    closes: dt.time
    calendar: WorkCalendar
    zone: ZoneInfo = PARTY_TIME

    @classmethod
    def parse(cls, text: str, calendar: WorkCalendar) -> OfficeHours:
        return cls(*parse_hours(text), calendar)

    def is_open(self, instant: dt.datetime) -> bool:
        local = instant.astimezone(self.zone)
        return self.calendar.is_workday(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, instant: dt.datetime) -> dt.datetime:
        """`instant` itself when open, else the next working morning's opening."""
        if self.is_open(instant):
            return instant
        local = instant.astimezone(self.zone)
        day = local.date()
        if local.time() >= self.opens:
            day += dt.timedelta(days=1)
        day = self.calendar.next_workday(day)
        return dt.datetime.combine(day, self.opens, tzinfo=self.zone)
