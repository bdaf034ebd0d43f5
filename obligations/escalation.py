"""Escalation: who receives a ladder step, with stand-ins for vacant seats, up the organization tree.

Pure. The ladder's arithmetic (which step is due on a day, office hours) is calendars/ladder.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from calendars.model import ROLE_LABELS, Role


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
