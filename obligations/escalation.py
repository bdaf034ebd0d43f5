"""Escalation: which step of a rule's ladder is due on a day, who receives it, and when messages may go out.

Pure: everything takes the day or the instant it reasons about.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from calendars.model import ROLE_LABELS, Ladder, LadderStep, Role, Rule
from calendars.workdays import WorkCalendar

PARTY_TIME = ZoneInfo("Asia/Shanghai")


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


@dataclass(frozen=True)
class Seat:
    """Who holds a position, as the sweep sees the registry."""

    org: str
    org_name: str
    parent: str | None


@dataclass(frozen=True)
class Receiver:
    member: str
    note: str  # "" when the person holds the seat themselves


class Seats:
    """Position holders and the organization tree, to find who receives a step (with stand-ins)."""

    def __init__(self, orgs: Mapping[str, Seat], holders: Mapping[tuple[str, str], str]) -> None:
        self.orgs = orgs
        self.holders = holders

    def holder(self, org: str, role: str) -> Receiver | None:
        """The holder of `role` in `org`; a vacant seat falls to the secretary, the deputy, then the parent's
        secretary, and the note says so."""
        member = self.holders.get((org, role))
        if member:
            return Receiver(member, "")
        seat = self.orgs.get(org)
        name = seat.org_name if seat else org
        label = _role_label(role)
        for stand_in in (Role.SECRETARY.value, Role.DEPUTY_SECRETARY.value):
            if stand_in == role:
                continue
            member = self.holders.get((org, stand_in))
            if member:
                return Receiver(member, f"{name}{label}空缺，由{_role_label(stand_in)}代收")
        if seat and seat.parent:
            parent = self.orgs.get(seat.parent)
            member = self.holders.get((seat.parent, Role.SECRETARY.value))
            if member:
                parent_name = parent.org_name if parent else seat.parent
                return Receiver(member, f"{name}{label}空缺，由上级{parent_name}书记代收")
        return None

    def ancestor(self, org: str, levels: int) -> str | None:
        code: str | None = org
        for _ in range(levels):
            seat = self.orgs.get(code) if code else None
            code = seat.parent if seat else None
        return code

    def receivers(self, org: str, responsible: str, subject: str, notify: tuple[str, ...]) -> list[Receiver]:
        """Everyone a step notifies, each once, in the ladder's order."""
        found: dict[str, Receiver] = {}
        for token in notify:
            receiver: Receiver | None
            if token == "responsible":
                if responsible == "member":
                    receiver = Receiver(subject, "")
                elif responsible == "parent.secretary":
                    parent = self.ancestor(org, 1)
                    receiver = self.holder(parent, Role.SECRETARY.value) if parent else None
                else:
                    receiver = self.holder(org, responsible)
            elif token == "secretary":
                receiver = self.holder(org, Role.SECRETARY.value)
            else:  # parent.secretary, grandparent.secretary, parent.organization (上级组织委员)
                generation, _, role = token.partition(".")
                above = self.ancestor(org, 1 if generation == "parent" else 2)
                receiver = self.holder(above, role) if above else None
            if receiver is not None and receiver.member not in found:
                found[receiver.member] = receiver
        return list(found.values())


def _role_label(role: str) -> str:
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role
