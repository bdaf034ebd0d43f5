"""Is the stored plan current? Answered on the Core tables (obligations.tables), before anything heavy loads.

A command that reads tasks (`due`) plans first when the registry changed, a month of dues ended or the window
moved; otherwise it reads at once, and the planner (with the ORM and the duty expansion) is never imported.
The planner and the dues derivation ask the same questions here, so that "current" means one thing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select

from calendars.instants import FOUNDING
from obligations import tables

if TYPE_CHECKING:
    from obligations.tables import Reader


class State(Protocol):
    """The plan_state row, as an ORM object or a Core row."""

    @property
    def planned_from(self) -> dt.date | None: ...
    @property
    def planned_to(self) -> dt.date | None: ...
    @property
    def registry_version(self) -> int: ...
    @property
    def planned_version(self) -> int: ...
    @property
    def dues_checked(self) -> str | None: ...


def default_horizon(as_of: dt.date, years_ahead: int = 1) -> dt.date:
    """End of next year (by default): far enough for a term election's six-month notice."""
    return dt.date(as_of.year + years_ahead, 12, 31)


def window_start(as_of: dt.date) -> dt.date:
    """The earliest date any rule's previous period can start: the previous year's first day."""
    return dt.date(as_of.year - 1, 1, 1)


def dues_month(as_of: dt.date) -> str:
    """The month whose dues lapses a plan on `as_of` rests on (plan_state.dues_checked)."""
    return as_of.strftime("%Y-%m")


def dues_current(state: State, as_of: dt.date) -> bool:
    """The members' dues lapses are derived for `as_of`'s month and the registry has not changed since."""
    return state.dues_checked == dues_month(as_of) and state.planned_version == state.registry_version


def nothing_to_derive(reader: Reader) -> bool:
    """No branch keeps dues records and no member stands lapsed: deriving dues lapses would change nothing."""
    # A range, not IS NOT NULL: SQLite scans the whole member table for the latter, and this probe runs before
    # every plan check (each `due`, each daemon tick). Every lapse is a real date, after the founding.
    lapsed = select(tables.member.c.id).where(tables.member.c.dues_lapsed_from >= FOUNDING).limit(1)
    payment = select(tables.dues_payment.c.id).limit(1)
    return reader.execute(payment).first() is None and reader.execute(lapsed).first() is None


def window_current(state: State, as_of: dt.date, horizon: dt.date) -> bool:
    """The last plan saw the present registry and covered the window of `as_of` up to `horizon`."""
    return (
        state.planned_version == state.registry_version
        and state.planned_to is not None
        and state.planned_from is not None
        and horizon <= state.planned_to
        and window_start(as_of) >= state.planned_from
    )


def is_current(reader: Reader, as_of: dt.date, horizon: dt.date) -> bool:
    """Planning on `as_of` up to `horizon` would change nothing (no plan yet: it would)."""
    state = reader.execute(select(tables.plan_state).where(tables.plan_state.c.id == 1)).one_or_none()
    if state is None or not window_current(state, as_of, horizon):
        return False
    return dues_current(state, as_of) or nothing_to_derive(reader)


def profiles_in_use(reader: Reader) -> set[str]:
    """The effective profiles of active organizations and of every organization with open tasks: the
    profiles that planning and reminding need (a task whose profile is missing would lose its reminders)."""
    # Runs before every plan check and sweep: the open tasks are probed per inactive organization through the
    # (org, due) index, never read whole (a city has millions of them; inactive organizations are few).
    organization, task = tables.organization, tables.task
    profile = organization.c.effective_profile
    active = select(profile).where(organization.c.active.is_(True)).distinct()
    open_task = select(task.c.id).where(task.c.org == organization.c.code, task.c.status == "open")
    pruned = select(profile).where(organization.c.active.is_(False), open_task.exists()).distinct()
    return {*reader.execute(active).scalars(), *reader.execute(pruned).scalars()}
