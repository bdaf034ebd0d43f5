"""Calendar subscriptions (订阅日历): one secret URL per person, `{public_url}/feed/{token}.ics`, that a phone
calendar fetches on its own (no session). The table keeps only the token's SHA-256; a new URL revokes the old
one, and a person may revoke theirs at any time. The feed serves the person's desk (duelist.Mine: tasks assigned
to them, their own, and those of the organizations they record for, read from the registry at each fetch)
through obligations/ical.py: all-day events on the due dates, or to-dos with `?todo=1` (`todo_url`). The
token alone opens the feed; the query only chooses its form, so it needs no secret of its own."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping

from icalendar import Calendar
from sqlmodel import Session, col, select

from calendars.model import Profile
from obligations import ical
from obligations.duelist import Mine
from obligations.models import Account, FeedToken
from obligations.scope import scope_of

TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # token_urlsafe(32)
PAST_DAYS = 180  # how far back a feed reaches (done tasks stay visible for a while; overdue ones always)
TODO_PARAMETER = "todo"  # `?todo=1`: the feed as to-dos (VTODO), for task apps


def todo_url(url: str) -> str:
    """The to-do form of a feed URL."""
    return f"{url}?{TODO_PARAMETER}=1"


def wants_todo(query: Mapping[str, str]) -> bool:
    """Whether a feed request's query asks for to-dos (as `todo_url` writes it)."""
    return query.get(TODO_PARAMETER) == "1"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def active(session: Session, member: str) -> FeedToken | None:
    return session.exec(
        select(FeedToken)
        .where(col(FeedToken.member) == member, col(FeedToken.revoked_at).is_(None))
        .order_by(col(FeedToken.created_at).desc())
    ).first()


def revoke(session: Session, member: str, *, now: dt.datetime) -> int:
    """Revoke the member's subscription URLs; how many there were."""
    tokens = session.exec(
        select(FeedToken).where(col(FeedToken.member) == member, col(FeedToken.revoked_at).is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = now
        session.add(token)
    session.flush()
    return len(tokens)


def create(session: Session, member: str, *, now: dt.datetime) -> str:
    """A new subscription token for the member (the previous one stops working); shown once, stored hashed."""
    revoke(session, member, now=now)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    session.add(FeedToken(token_hash=_hash(token), member=member, created_at=now))
    session.flush()
    return token


def member_of(session: Session, token: str) -> str | None:
    """Whose feed `token` opens: None when it is malformed, unknown, revoked, or its account is disabled."""
    if not TOKEN_SHAPE.fullmatch(token):
        return None
    found = session.get(FeedToken, _hash(token))
    if found is None or found.revoked_at is not None:
        return None
    account = session.get(Account, found.member)
    if account is None or account.disabled:
        return None
    return found.member


def calendar(
    session: Session,
    profiles: Mapping[str, Profile],
    member: str,
    *,
    today: dt.date,
    stamp: dt.datetime,
    form: ical.Form,
) -> Calendar | None:
    """The member's feed as it stands (their roles read now), with the open overdue tasks; None when the
    member left the registry."""
    scope = scope_of(session, member)
    if scope is None:
        return None
    return ical.build(
        session,
        profiles,
        org=None,
        member=None,
        start=today - dt.timedelta(days=PAST_DAYS),
        end=dt.date(today.year + 1, 12, 31),
        today=today,
        stamp=stamp,
        form=form,
        mine=Mine(member, scope.records_for),
    )
