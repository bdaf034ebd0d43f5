"""What planning needs of the registry, as plain values: organizations, seats, who is active, people's addresses."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from calendars.model import OrgKind, Profile, Rule
from notifiers.base import ChannelKind, Recipient
from notifiers.table import KINDS, NO_ADDRESS_KIND
from obligations import escalation, history, roster
from obligations.db import chunks
from obligations.models import (
    Member,
    Organization,
    Position,
    Task,
)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    org: str
    email: str | None
    wecom: str | None
    mobile: str | None

    def recipient(self) -> Recipient:
        return Recipient(self.name, self.email, self.wecom, self.mobile)


def addresses(person: Person, channels: Sequence[str]) -> list[tuple[ChannelKind, str]]:
    """(kind, address) of each personal channel that reaches `person`, in the configured order; the
    pseudo-channel NO_ADDRESS's kind when none does (the digest is then kept as failed, and the secretary told)."""
    recipient = person.recipient()
    found = []
    for channel in channels:
        kind = KINDS.get(channel)
        address = kind.address_of(recipient) if kind is not None and kind.personal else None
        if kind is not None and address is not None:
            found.append((kind, address))
    return found or [(NO_ADDRESS_KIND, "")]


def task_columns() -> list[Any]:
    """What a digest or a summary shows of a task, labelled: enough to name it under the rule it was owed
    under (`PlanningRegistry.rule(org, rule, period_start, owed_on)`) and to say who owes it."""
    return [
        col(Task.id).label("task_id"),
        col(Task.org).label("org"),
        col(Task.rule).label("rule"),
        col(Task.subject).label("subject"),
        col(Task.subject_kind).label("subject_kind"),
        col(Task.period).label("period"),
        col(Task.due).label("due"),
        col(Task.period_start).label("period_start"),
        func.coalesce(col(Task.original_due), col(Task.due)).label("owed_on"),
        col(Task.assignee).label("assignee"),
    ]


def task_title(rule: Rule | None, task: Any, people: Mapping[str, Person]) -> str:
    """A task's name in a digest or a summary (`task` a row of `task_columns`): its rule's title, and for a
    duty about one member, the member's name (党员政治生日·张三)."""
    title = rule.title if rule else task.rule
    if task.subject_kind != "org":
        subject = people.get(task.subject)
        title = f"{title}·{subject.name if subject else task.subject}"
    return title


@dataclass(frozen=True)
class Org:
    name: str
    profile: str
    robot_env: str | None = None  # the environment variable holding its group robot's key (wecom_robot_env)
    branch: str | None = (
        None  # a 党小组's branch, of which it is part (its duties show in the branch's group)
    )


@dataclass
class PlanningRegistry:
    """What planning needs of the registry, read once per sweep, as plain values: organizations, seats, who is
    active (not the import model, obligations.registry.Registry). People's names and addresses are read per
    chunk of recipients (`people`)."""

    orgs: dict[str, Org]
    seats: escalation.Seats
    active: set[str]
    profiles: Mapping[str, Profile]
    # The profiles of the organizations whose profile changed (few): their tasks are reminded under the
    # profile of their date, the others' under the present one.
    calendars: dict[str, history.Calendars]
    _seats_of: dict[str, list[str]] | None = None  # member -> the organizations where they hold a seat

    @classmethod
    def load(cls, session: Session, profiles: Mapping[str, Profile]) -> PlanningRegistry:
        rows = session.execute(
            sa_select(
                col(Organization.code),
                col(Organization.name),
                col(Organization.parent),
                col(Organization.effective_profile),
                col(Organization.kind),
                col(Organization.wecom_robot_env),
            )
        ).all()
        holders = {
            (org, role): member
            for org, role, member in session.execute(
                select(col(Position.org), col(Position.role), col(Position.member)).where(
                    col(Position.member).is_not(None)
                )
            )
            if member
        }
        seats = roster.seats(((code, name, kind, parent) for code, name, parent, _, kind, _ in rows), holders)
        active = set(session.scalars(select(col(Member.id)).where(col(Member.active).is_(True))))
        orgs = {
            code: Org(name, profile, robot, parent if kind == OrgKind.GROUP.value else None)
            for code, name, parent, profile, kind, robot in rows
        }
        calendars = history.changed_calendars(session, profiles)
        return cls(orgs, seats, active, profiles, calendars)

    def rule(self, org: str, rule_id: str, period_start: dt.date, owed_on: dt.date) -> Rule | None:
        """The rule a task of `org` was owed under (`owed_on`: its original due date)."""
        if org in self.calendars:
            return history.owed_rule(self.calendars[org], rule_id, period_start, owed_on)
        found = self.orgs.get(org)
        profile = self.profiles.get(found.profile) if found else None
        return profile.rules.get(rule_id) if profile else None

    def org_name(self, code: str) -> str:
        found = self.orgs.get(code)
        return found.name if found else code

    def people(self, session: Session, ids: Iterable[str]) -> dict[str, Person]:
        wanted = sorted({person for person in ids if person})
        found: dict[str, Person] = {}
        for part in chunks(wanted, 1000):
            for row in session.execute(
                sa_select(
                    col(Member.id),
                    col(Member.name),
                    col(Member.org),
                    col(Member.email),
                    col(Member.wecom),
                    col(Member.mobile),
                ).where(col(Member.id).in_(part))
            ):
                found[row[0]] = Person(*row)
        return found

    def top_seat(self, member: str) -> str | None:
        """The highest organization where `member` holds a seat: the subtree a supervisor answers for."""
        if self._seats_of is None:
            self._seats_of = defaultdict(list)
            for (org, _role), holder in self.seats.holders.items():
                self._seats_of[holder].append(org)
        seats = self._seats_of.get(member)
        return min(seats, key=self._depth) if seats else None

    def _depth(self, code: str) -> tuple[int, str]:
        depth, seat = 0, self.seats.orgs.get(code)
        while seat is not None and seat.parent:
            depth += 1
            seat = self.seats.orgs.get(seat.parent)
        return depth, code
