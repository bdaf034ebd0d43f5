"""What a secretary is told of failed deliveries: each failed message once, a digest sent in parts as one.

A digest too long for its channel goes as numbered parts, one outbox row each (digests.py), and a bad address
fails them all alike: the secretary hears of it once per digest — whom, on which channel, why, and how many parts
(`共 3 部分`, or which of them failed: `第 2 部分，共 3 部分`) — not once per part. The parts of one digest are
known by what their rows share, not by their subjects (which a user template writes): the same recipient (or
organization, for a group robot's summary), channel, address and creation instant (one digest per person per
channel per sweep), and ids in one unbroken run (a digest's parts are inserted together, in order; a digest of
another sweep planned at the same instant is not adjacent to it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, select
from sqlmodel import Session

from notifiers.render import unnumbered
from obligations import tables
from obligations.reminders.registry import PlanningRegistry

message = tables.outbox_message


def _unreported() -> Any:
    return and_(message.c.state == "failed", message.c.failure_reported.is_(False))


def has_unreported_failures(session: Session) -> bool:
    return session.execute(select(message.c.id).where(_unreported()).limit(1)).first() is not None


@dataclass(frozen=True)
class Part:
    """One outbox row of a message that has failed parts."""

    id: int
    recipient: str | None
    org: str | None
    channel: str
    address: str
    created_at: dt.datetime
    failed: bool  # failed and not yet told
    last_error: str | None
    subject: str

    def key(self) -> tuple[str | None, str | None, str, str, dt.datetime]:
        return self.recipient, self.org, self.channel, self.address, self.created_at


@dataclass(frozen=True)
class FailedMessage:
    """A message (a digest or a summary, whole or in parts) of which some parts failed and are not yet told."""

    parts: tuple[Part, ...]  # all of them, in order

    @property
    def failed(self) -> list[Part]:
        return [part for part in self.parts if part.failed]

    @property
    def failed_numbers(self) -> list[int]:
        return [number for number, part in enumerate(self.parts, start=1) if part.failed]

    @property
    def title(self) -> str:
        """The message's subject without its part number."""
        number = self.failed_numbers[0]
        return unnumbered(self.parts[number - 1].subject, number, len(self.parts))

    @property
    def reasons(self) -> list[tuple[str, list[int]]]:
        """Each distinct reason its failed parts were refused for, with their part numbers."""
        by_reason: dict[str, list[int]] = {}
        for number, part in zip(self.failed_numbers, self.failed, strict=True):
            by_reason.setdefault(part.last_error or "", []).append(number)
        return list(by_reason.items())


def failed_messages(parts: Iterable[Part]) -> list[FailedMessage]:
    """`parts` (rows in id order) gathered into their messages: same recipient, organization, channel, address
    and creation instant, ids one after another. Only the messages with a part failed and not yet told."""
    runs: dict[tuple[Any, ...], list[list[Part]]] = defaultdict(list)
    for part in parts:
        same = runs[part.key()]
        if same and same[-1][-1].id == part.id - 1:
            same[-1].append(part)
        else:
            same.append([part])
    found = [FailedMessage(tuple(run)) for each in runs.values() for run in each]
    return sorted((found_message for found_message in found if found_message.failed), key=_first_id)


def _first_id(failed: FailedMessage) -> int:
    return failed.parts[0].id


def _load(session: Session) -> list[Part]:
    """Every row of each message that has a part failed and not yet told, in id order."""
    failing = (
        select(message.c.recipient, message.c.org, message.c.channel, message.c.address, message.c.created_at)
        .where(_unreported())
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(
            message.c.id,
            message.c.recipient,
            message.c.org,
            message.c.channel,
            message.c.address,
            message.c.created_at,
            _unreported().label("failed"),
            message.c.last_error,
            message.c.subject,
        )
        .join(
            failing,
            and_(
                message.c.channel == failing.c.channel,
                message.c.address == failing.c.address,
                message.c.created_at == failing.c.created_at,
                message.c.recipient.is_not_distinct_from(failing.c.recipient),
                message.c.org.is_not_distinct_from(failing.c.org),
            ),
        )
        .order_by(message.c.id)
    ).all()
    return [
        Part(
            row.id,
            row.recipient,
            row.org,
            row.channel,
            row.address,
            row.created_at,
            bool(row.failed),
            row.last_error,
            row.subject,
        )
        for row in rows
    ]


def unreported_failures(
    session: Session, registry: PlanningRegistry
) -> tuple[dict[str, list[dict[str, Any]]], list[int]]:
    """Permanent failures not yet told, keyed by the secretary who should hear of them: one line per failed
    message and reason (a digest in parts is one message); each line's `message_ids` are the rows it tells of.
    And the rows with nobody to tell (no active secretary), which are marked as reported all the same —
    `outbox --failed` still shows them — or every sweep after would load the registry to look for a secretary
    again."""
    messages = failed_messages(_load(session))
    people = registry.people(
        session, [found.parts[0].recipient for found in messages if found.parts[0].recipient]
    )
    told: dict[str, list[dict[str, Any]]] = defaultdict(list)
    untold: list[int] = []
    for found in messages:
        first = found.parts[0]
        ids = [part.id for part in found.failed]
        person = people.get(first.recipient) if first.recipient else None
        if person is not None:
            secretary = registry.seats.holder(person.org, "secretary")
            if secretary is not None and secretary.member == person.id:
                # The secretary's own message failed: telling them on the same address would fail again, sweep
                # after sweep. The parent's secretary hears of it; up the tree, the chain ends at the root.
                parent = registry.seats.ancestor(person.org, 1)
                secretary = registry.seats.holder(parent, "secretary") if parent else None
            addressee, where = person.name, person.org
        elif (
            first.recipient is None and first.org is not None
        ):  # an organization's summary to its group robot
            secretary = registry.seats.holder(first.org, "secretary")
            addressee, where = f"{registry.org_name(first.org)}群", first.org
        else:
            untold.extend(ids)
            continue
        if secretary is None or secretary.member not in registry.active:
            untold.extend(ids)
            continue
        for reason, numbers in found.reasons:
            told[secretary.member].append(
                {
                    "message_ids": [found.parts[number - 1].id for number in numbers],
                    "recipient_name": addressee,
                    "channel": first.channel,  # named in Chinese by the renderer (channel_label)
                    "reason": reason,
                    "title": found.title,
                    "org_name": registry.org_name(where),
                    "parts": len(found.parts),
                    "failed_parts": numbers,
                }
            )
    return told, untold
