"""History is not rewritten (issue 10 §4): the profiles one organization followed, each from its date.

A task belongs to the profile in force on its date — a periodic duty's due date, an event's trigger date —
whatever profile its organization follows today: it is planned, checked, named, filed and reminded under
that profile. `owed_rule` is the one place that says which rule that is; the planner, the ledger, the
reminders and the lists use it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from calendars.expand import Occurrence, OrgFacts, Window, expand
from calendars.model import Profile, Rule, RuleKind
from obligations import tables
from obligations.db import chunks

if TYPE_CHECKING:
    from obligations.models import Task
    from obligations.tables import Reader

CHUNK = 500  # ids per IN (...) clause: under SQLite's and PostgreSQL's parameter limits


def profile_history(
    session: Reader, codes: Sequence[str] | None = None
) -> dict[str, list[tuple[dt.date | None, str]]]:
    """(since, profile) of the organizations (of `codes`, or all) whose profile changed, oldest first (since
    None: from the start). An organization that never changed follows its present profile throughout, so it
    is left out: a city's plan reads only the few rows of changes."""
    changed = (
        select(tables.profile_history.c.org).group_by(tables.profile_history.c.org).having(func.count() > 1)
    )
    query = select(
        tables.profile_history.c.org, tables.profile_history.c.since, tables.profile_history.c.profile
    ).where(tables.profile_history.c.org.in_(changed))
    found: dict[str, list[tuple[dt.date | None, str]]] = defaultdict(list)
    for batch in [None] if codes is None else chunks(list(codes), CHUNK):
        chosen = query if batch is None else query.where(tables.profile_history.c.org.in_(batch))
        for org, since, profile in session.execute(chosen):
            found[org].append((since, profile))
    for rows in found.values():
        rows.sort(key=lambda row: (row[0] is not None, row[0] or dt.date.min))
    return found


@dataclass(frozen=True)
class Calendars:
    """The profiles one organization followed, each from its date (the first from the start).

    A periodic duty is owed under the profile in force on its due date, an event under the one in force on
    its trigger's date: a new profile applies from its date on and never reaches back.
    """

    segments: tuple[tuple[dt.date | None, Profile], ...]

    @classmethod
    def of(
        cls, profiles: Mapping[str, Profile], current: str, history: Sequence[tuple[dt.date | None, str]]
    ) -> Calendars:
        rows = list(history) or [(None, current)]
        if rows[-1][1] != current:  # the organization's row is the truth about its present profile
            rows[-1] = (rows[-1][0], current)
        return cls(tuple((since, profiles[profile]) for since, profile in rows))

    def at(self, day: dt.date) -> Profile:
        found = self.segments[0][1]
        for since, profile in self.segments[1:]:
            if since is not None and since <= day:
                found = profile
        return found

    def rule(self, rule_id: str, day: dt.date) -> Rule | None:
        """The rule as the profile in force on `day` defines it, else as any profile of the history does."""
        profile = self.defining(rule_id, day)
        return profile.rules[rule_id] if profile else None

    def defining(self, rule_id: str, day: dt.date) -> Profile | None:
        """The profile in force on `day` if it defines the rule, else the latest of the history that does."""
        profile = self.at(day)
        if rule_id in profile.rules:
            return profile
        return next((p for _, p in reversed(self.segments) if rule_id in p.rules), None)

    def within(self, start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date, Profile]]:
        """The profiles in force from `start` to `end`, each with the first and last day it is in force there."""
        found: list[tuple[dt.date, dt.date, Profile]] = []
        for index, (since, profile) in enumerate(self.segments):
            until = self.segments[index + 1][0] if index + 1 < len(self.segments) else None
            first = start if since is None else max(start, since)
            last = end if until is None else min(end, until - dt.timedelta(days=1))
            if first <= last:
                found.append((first, last, profile))
        return found

    def only(self, rule_id: str) -> Calendars:
        """The same history with each profile reduced to `rule_id` (to nothing where it lacks the rule): what
        `expand` owes of that one rule."""
        segments = []
        for since, profile in self.segments:
            kept = {rule_id: profile.rules[rule_id]} if rule_id in profile.rules else {}
            segments.append((since, dataclasses.replace(profile, rules=kept)))
        return Calendars(tuple(segments))

    def expand(self, facts: OrgFacts, window: Window) -> Iterator[tuple[Rule, Occurrence]]:
        if len(self.segments) == 1:
            profile = self.segments[0][1]
            for occurrence in expand(profile, facts, window):
                yield profile.rules[occurrence.rule], occurrence
            return
        for index, (since, profile) in enumerate(self.segments):
            until = self.segments[index + 1][0] if index + 1 < len(self.segments) else None
            for occurrence in expand(profile, facts, window):
                rule = profile.rules[occurrence.rule]
                day = occurrence.start if rule.kind is RuleKind.EVENT else occurrence.due
                if (since is None or since <= day) and (until is None or day < until):
                    yield rule, occurrence


def owed_profile(calendars: Calendars, rule_id: str, period_start: dt.date, due: dt.date) -> Profile | None:
    """The profile a task was owed under, whatever profile its organization follows today: the one in force
    on its due date (`due`: the original one, before any extension), or on its trigger's date (`period_start`)
    for an event — the dates by which `Calendars.expand` planned it."""
    profile = calendars.defining(rule_id, due)
    if profile is not None and profile.rules[rule_id].kind is RuleKind.EVENT:
        profile = calendars.defining(rule_id, period_start)
    return profile


def owed_rule(calendars: Calendars, rule_id: str, period_start: dt.date, due: dt.date) -> Rule | None:
    """The rule a task was owed under (see `owed_profile`)."""
    profile = owed_profile(calendars, rule_id, period_start, due)
    return profile.rules[rule_id] if profile else None


def task_rule(calendars: Calendars, task: Task) -> Rule | None:
    return owed_rule(calendars, task.rule, task.period_start, task.original_due or task.due)


def calendars_of(
    session: Reader, profiles: Mapping[str, Profile], code: str, current: str
) -> Calendars | None:
    """The profiles one organization followed (None when its present profile is not configured)."""
    if current not in profiles:
        return None
    history = [row for row in profile_history(session, [code]).get(code, ()) if row[1] in profiles]
    return Calendars.of(profiles, current, history)


def changed_calendars(session: Reader, profiles: Mapping[str, Profile]) -> dict[str, Calendars]:
    """The calendars of the organizations whose profile changed (few), by code: whoever reads many tasks
    looks their rule up here, and in the present profile for every other organization. An organization
    with a profile that is not configured is left out (it is reported where profiles are checked)."""
    changes = profile_history(session)
    current = (
        dict(
            session.execute(
                select(tables.organization.c.code, tables.organization.c.effective_profile).where(
                    tables.organization.c.code.in_(list(changes))
                )
            ).all()
        )
        if changes
        else {}
    )
    return {
        code: Calendars.of(profiles, current[code], rows)
        for code, rows in changes.items()
        if current.get(code) in profiles and all(profile in profiles for _, profile in rows)
    }
