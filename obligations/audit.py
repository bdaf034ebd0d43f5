"""Who did what: the actor of every write, and the audit log of sign-ins, refusals and writes (等保 2.0 asks
for at least six months; `prune` never deletes younger events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, delete, select

from obligations.models import AuditEvent, column_width

KEEP_DAYS = 183  # six months at least

CHANNELS = ("cli", "web")


@dataclass(frozen=True)
class Actor:
    """Who acts: a member id on the web, the operating-system user on the command line; `address` is the
    client's address (web) or the host name (cli)."""

    who: str | None
    channel: str
    address: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


def _clip(value: str | None, column: object) -> str | None:
    width = column_width(column)
    if value is None or width is None:
        return value
    return value if len(value) <= width else value[: width - 1] + "…"


def log(
    session: Session,
    actor: Actor,
    action: str,
    *,
    at: dt.datetime,
    target: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> AuditEvent:
    """Add one event to the session (it commits with the write it describes, or alone for a refusal)."""
    event = AuditEvent(
        at=at,
        actor=_clip(actor.who, AuditEvent.actor),
        channel=actor.channel,
        address=_clip(actor.address, AuditEvent.address),
        action=action,
        target=_clip(target, AuditEvent.target),
        outcome=outcome,
        detail=_clip(detail, AuditEvent.detail),
    )
    session.add(event)
    return event


def events(
    session: Session,
    *,
    since: dt.datetime | None = None,
    member: str | None = None,
    limit: int = 1000,
) -> Sequence[AuditEvent]:
    """The newest events first, bounded by `limit`."""
    query = select(AuditEvent)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if member is not None:
        query = query.where(col(AuditEvent.actor) == member)
    return session.exec(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    ).all()


def prune(session: Session, *, now: dt.datetime, keep_days: int = KEEP_DAYS) -> int:
    """Delete events older than `keep_days` (never fewer than six months)."""
    cutoff = now - dt.timedelta(days=max(keep_days, KEEP_DAYS))
    result = session.exec(delete(AuditEvent).where(col(AuditEvent.at) < cutoff))
    return int(result.rowcount or 0)
