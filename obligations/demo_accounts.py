"""The demo's desk accounts: `obligations init --demo` opens accounts for the 机关党委's 组织员 (its 组织委员) and
one branch secretary, with random passwords printed once, so that `make run` users can sign in to
`obligations serve`.

The members are found through the demo's seats in the database, not by id. Loading the demo again keeps accounts that
exist (their passwords are not shown again; `obligations user passwd` resets one) and opens any that are missing.
"""

from __future__ import annotations

import datetime as dt
import secrets
import string
from dataclasses import dataclass

from sqlmodel import Session, col, select

from calendars.model import Role
from obligations import accounts
from obligations.models import Account, Member, Position

# (organization, seat, what the account is for): the 组织员 sees the whole 机关党委, the secretary records
# for the first branch.
DEMO_SEATS = (
    ("jg", Role.ORGANIZATION, "机关党委组织员"),
    ("jg.b1", Role.SECRETARY, "支部书记"),
)
_ALPHABET = "".join(c for c in string.ascii_letters + string.digits if c not in "0O1lI")  # no look-alikes
PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class DemoAccount:
    member: str
    name: str
    role: str
    password: str | None  # None: the account existed before; its password is not known here


def demo_password() -> str:
    """A random password that satisfies the policy (letters and digits)."""
    while True:
        password = "".join(secrets.choice(_ALPHABET) for _ in range(PASSWORD_LENGTH))
        if accounts.password_problem(password) is None:
            return password


def open_demo_accounts(session: Session, *, now: dt.datetime) -> list[DemoAccount]:
    """Open the demo's accounts that do not exist yet, each with a fresh random password."""
    opened = []
    for org, role, label in DEMO_SEATS:
        holder = session.exec(
            select(Member)
            .join(Position, col(Position.member) == col(Member.id))
            .where(col(Position.org) == org, col(Position.role) == role.value)
        ).one()
        if session.get(Account, holder.id) is not None:
            opened.append(DemoAccount(holder.id, holder.name, label, None))
            continue
        password = demo_password()
        accounts.add(session, holder.id, password, now=now)
        opened.append(DemoAccount(holder.id, holder.name, label, password))
    return opened
