"""Signed task links: `{public_url}/l/{token}` in every item of a reminder, naming the task and the person it
was sent to, valid for 30 days and only while the task is open (the desk checks that when it is opened).

The token is signed with a key generated once and kept in the `app_secret` table, shared by every process
(the daemon signs, every web worker verifies). It carries its own issue time, compared here with the `now`
the caller passes: itsdangerous' timed serializer would read the system clock itself, and the core never
does. A link is not a credential: opening it leads to the task page, which needs a session and the scope.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, select

from obligations.models import AppSecret

KEY_NAME = "task-link-key"
SALT = "obligations.task-link"
MAX_AGE = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=5)  # a link signed by another host whose clock runs a little ahead
MAX_TOKEN = 500  # characters: anything longer is not one of ours, and is refused before any decoding
ROW_ID_MAX = 2**31 - 1


class LinkError(Exception):
    """A link that cannot be followed: `expired` (older than MAX_AGE) or `invalid` (tampered, signed with
    another key, malformed)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Link:
    task_id: int
    member: str  # the recipient of the reminder that carried it
    issued: dt.datetime


def signing_key(session: Session, now: dt.datetime) -> str:
    """The link-signing key, created on first use. Insert-or-read in one statement each: two processes that
    both find no key insert concurrently, one insert wins and both read the winner's key."""
    query = select(AppSecret.value).where(AppSecret.name == KEY_NAME)
    existing = session.exec(query).first()
    if existing is not None:
        return existing
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(AppSecret)
        .values(name=KEY_NAME, value=secrets.token_urlsafe(48), created_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    return session.exec(query).one()


def task_page(task_id: int) -> str:
    """The desk's page of a task, where a link leads (it needs a session and the scope; not a credential)."""
    return f"/tasks/{task_id}"


def _serializer(key: str) -> URLSafeSerializer:
    return URLSafeSerializer(key, salt=SALT)


def sign(key: str, task_id: int, member: str, *, now: dt.datetime) -> str:
    return str(_serializer(key).dumps([task_id, member, int(now.timestamp())]))


def verify(key: str, token: str, *, now: dt.datetime, max_age: dt.timedelta = MAX_AGE) -> Link:
    """The link a token names, or LinkError."""
    if not token or len(token) > MAX_TOKEN:
        raise LinkError("invalid")
    try:
        payload = _serializer(key).loads(token)
    except BadSignature:
        raise LinkError("invalid") from None
    if not (
        isinstance(payload, list)
        and len(payload) == 3
        and type(payload[0]) is int
        and 1 <= payload[0] <= ROW_ID_MAX
        and isinstance(payload[1], str)
        and payload[1]
        and type(payload[2]) is int
        and 0 <= payload[2] < 2**40
    ):
        raise LinkError("invalid")
    issued = dt.datetime.fromtimestamp(payload[2], dt.UTC)
    if issued > now + CLOCK_SKEW:
        raise LinkError("invalid")
    if now - issued > max_age:
        raise LinkError("expired")
    return Link(payload[0], payload[1], issued)


@dataclass(frozen=True)
class Linker:
    """Makes the links of one sweep: one key, one issue time, one public address."""

    key: str
    public_url: str
    now: dt.datetime

    def url(self, task_id: int, member: str) -> str:
        return f"{self.public_url.rstrip('/')}/l/{sign(self.key, task_id, member, now=self.now)}"

    @property
    def home(self) -> str:
        """我的待办."""
        return f"{self.public_url.rstrip('/')}/"


def linker(session: Session, public_url: str, now: dt.datetime) -> Linker | None:
    """The links of a sweep at `now`, or None when the desk has no public address (reminders then carry none)."""
    if not public_url:
        return None
    return Linker(signing_key(session, now), public_url, now)
