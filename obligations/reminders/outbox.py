"""Delivery: claiming outbox messages, sending them on their channel, recording every attempt."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from notifiers.base import Channel, DeliveryError, Message, Recipient, TextCard
from notifiers.retry import retry_delay, should_retry
from notifiers.table import KINDS, NO_ADDRESS
from obligations.db import session_scope
from obligations.models import (
    DeliveryAttempt,
    OutboxMessage,
)
from obligations.reminders.settings import Settings

log = logging.getLogger("obligations.reminders")


def release_claims_of_gone_workers(session: Session, gone: Callable[[str], bool]) -> int:
    """Messages claimed by a process known to be dead (`gone(worker)`: on this host, its pid no longer runs)
    go back to the outbox at once, without waiting for the lease to expire."""
    claimants = session.exec(
        select(col(OutboxMessage.claimed_by)).where(col(OutboxMessage.state) == "sending").distinct()
    ).all()
    dead = [worker for worker in claimants if worker is not None and gone(worker)]
    if not dead:
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_by).in_(dead))
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _release(engine: Engine, message_ids: Iterable[int], worker: str) -> None:
    """Put this worker's claimed but unsent messages back in the outbox (asked to stop, or a failure)."""
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(list(message_ids)),
                col(OutboxMessage.state) == "sending",
                col(OutboxMessage.claimed_by) == worker,
            )
            .values(state="pending", claimed_at=None, claimed_by=None)
        )


def release_stale_claims(session: Session, now: dt.datetime, lease: dt.timedelta) -> int:
    """Messages claimed by a process that died mid-send go back to the outbox (sent at most once more)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_at) < now - lease)
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def claim(engine: Engine, now: dt.datetime, worker: str, limit: int = 50) -> list[OutboxMessage]:
    """Claim up to `limit` due messages for this worker, in one statement; each is claimed by exactly one
    worker (on PostgreSQL the candidates are locked with SKIP LOCKED; SQLite has one writer at a time)."""
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        due = (
            sa_select(table.c.id)
            .where(table.c.state == "pending", table.c.next_attempt_at <= now)
            .order_by(table.c.next_attempt_at, table.c.id)
            .limit(limit)
        )
        if session.connection().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        rows = session.execute(
            update(table)
            .where(table.c.id.in_(due), table.c.state == "pending")
            .values(state="sending", claimed_at=now, claimed_by=worker)
            .returning(*table.c)
        ).all()
    return sorted((OutboxMessage(**row._mapping) for row in rows), key=lambda message: message.id or 0)


async def deliver(
    engine: Engine,
    channels: Mapping[str, Channel],
    now: dt.datetime,
    settings: Settings,
    *,
    worker: str,
    rng: random.Random,
    stop: asyncio.Event | None = None,
    after_send: Callable[[OutboxMessage], None] | None = None,
) -> tuple[int, int, int]:
    """Send every due message (only in office hours); returns (sent, retried, failed)."""
    sent = retried = failed = 0
    if not settings.office_hours.is_open(now):
        return sent, retried, failed
    with session_scope(engine) as session:
        released = release_stale_claims(session, now, settings.claim_lease)
        if released:
            log.warning("released %d stale claims", released)
    while stop is None or not stop.is_set():
        batch = claim(engine, now, worker)
        if not batch:
            break
        unsent = {message.id or 0 for message in batch}
        try:
            with (
                engine.connect() as connection
            ):  # Core, not the ORM: recording is on the hot path of delivery
                for message in batch:
                    if stop is not None and stop.is_set():
                        break  # the rest of the batch goes back to the outbox, below
                    outcome = await _send_one(message, channels)
                    if after_send is not None:
                        after_send(message)
                    # Recorded and committed before the next send: a crash resends at most this one message.
                    kind = _record(connection, message, outcome, now, settings, rng)
                    connection.commit()
                    unsent.discard(message.id or 0)
                    sent += kind == "sent"
                    retried += kind == "retry"
                    failed += kind == "failed"
        finally:
            if unsent:
                try:
                    _release(engine, unsent, worker)
                except Exception:  # the database is gone: the next start releases them (the worker is dead)
                    log.warning("could not release %d claimed messages", len(unsent), exc_info=True)
    return sent, retried, failed


@dataclass(frozen=True)
class _Outcome:
    duration_ms: float
    error: DeliveryError | None
    address: str


async def _send_one(message: OutboxMessage, channels: Mapping[str, Channel]) -> _Outcome:
    channel = channels.get(message.channel)
    if channel is None:
        error = DeliveryError(f"渠道 {message.channel} 未配置", permanent=True)
        return _Outcome(0.0, error, message.address)
    kind = KINDS.get(message.channel)
    name = message.recipient_name
    outgoing = Message(
        key=f"obligations-{message.id}",
        recipient=kind.recipient(name, message.address) if kind is not None else Recipient(name),
        subject=message.subject,
        text=message.text,
        html=message.html,
        markdown=message.markdown,
        mention_mobiles=tuple(filter(None, (message.mention_mobiles or "").split(","))),
        card=TextCard.from_json(json.loads(message.card)) if message.card else None,
    )
    try:
        delivery = await channel.send(outgoing)
    except DeliveryError as error:
        return _Outcome(0.0, error, message.address)
    except Exception as error:  # a bug in a channel must not kill the sweep: retry, and log it
        log.exception("channel %s raised unexpectedly for message %s", message.channel, message.id)
        return _Outcome(
            0.0, DeliveryError(f"unexpected {type(error).__name__}", permanent=False), message.address
        )
    return _Outcome(delivery.duration_ms, None, delivery.address)


def _record(
    connection: Connection,
    message: OutboxMessage,
    outcome: _Outcome,
    now: dt.datetime,
    settings: Settings,
    rng: random.Random,
) -> str:
    attempts = message.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "claimed_at": None, "claimed_by": None}
    error = outcome.error
    if error is None:
        # The sweep's instant, not the channel's wall clock: a replayed sweep (remind --as-of) stays coherent.
        values.update(state="sent", sent_at=now, last_error=None)
        kind, label = "sent", "sent"
    elif not error.permanent and should_retry(error, attempts, settings.max_attempts):
        delay = retry_delay(error, attempts, base=settings.retry_base, cap=settings.retry_cap, rng=rng)
        values.update(
            state="pending", next_attempt_at=now + dt.timedelta(seconds=delay), last_error=str(error)[:500]
        )
        kind, label = "retry", "temporary"
    else:
        values.update(state="failed", last_error=str(error)[:500])
        kind, label = "failed", "permanent" if error.permanent else "temporary"
    attempt = insert(DeliveryAttempt).values(
        message_id=message.id or 0,
        started_at=now,
        channel=message.channel,
        address=outcome.address,
        outcome=label,
        error=None if error is None else str(error)[:500],
        duration_ms=outcome.duration_ms,
    )
    outcome_update = (
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id, col(OutboxMessage.state) == "sending")
        .values(**values)
    )
    if connection.dialect.name == "postgresql":
        # One round trip instead of two: the attempt is inserted by a CTE of the update.
        connection.execute(outcome_update.add_cte(attempt.cte("attempt")))
    else:
        connection.execute(attempt)
        connection.execute(outcome_update)
    log.info(
        "message %s to %s via %s: %s", message.id, message.recipient or message.org, message.channel, kind
    )
    return kind


def outbox_counts(session: Session) -> dict[str, int]:
    return {
        state: int(count)
        for state, count in session.execute(
            select(col(OutboxMessage.state), func.count()).group_by(col(OutboxMessage.state))
        )
    }


def retry_failed(session: Session, message_id: int | None = None) -> int:
    """Put failed messages (one, or all) back in the outbox: the next sweep sends them, whatever its instant."""
    # A person with no address cannot be helped by retrying: fix the registry instead.
    condition = and_(col(OutboxMessage.state) == "failed", col(OutboxMessage.channel) != NO_ADDRESS)
    if message_id is not None:
        condition = and_(condition, col(OutboxMessage.id) == message_id)
    result = session.execute(
        update(OutboxMessage)
        .where(condition)
        .values(state="pending", attempts=0, next_attempt_at=OutboxMessage.created_at, failure_reported=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
