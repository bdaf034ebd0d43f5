"""Delivery: claiming outbox messages, sending them on their channel, recording every attempt.

Each channel is a lane of its own (an asyncio task claiming only that channel's messages), with its own circuit
breaker (breaker.py): a channel that stalls pauses and keeps its messages queued, the others go on. Within a lane,
a message the channel defers (its address's rate limit is full: one group robot's 20 a minute) stays queued until
its address can take it, without using up an attempt, and the lane goes on with the other addresses' messages.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import math
import random
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from notifiers.base import Channel, Deferred, DeliveryError, Message, Recipient, Refreshable, TextCard
from notifiers.retry import retry_delay, should_retry
from notifiers.table import KINDS, NO_ADDRESS
from obligations import tables
from obligations.db import session_scope
from obligations.models import (
    DeliveryAttempt,
    OutboxMessage,
)
from obligations.reminders.breaker import Breaker, Breakers, Change, State
from obligations.reminders.settings import Settings

log = logging.getLogger("obligations.reminders")

BATCH = 50  # messages a lane claims at a time


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


def _release(
    engine: Engine, message_ids: Iterable[int], worker: str, until: dt.datetime | None = None
) -> None:
    """Put this worker's claimed but unsent messages back in the outbox (asked to stop, a failure, or their
    channel paused: then due at `until`), as they were: no attempt is counted."""
    values: dict[str, Any] = {"state": "pending", "claimed_at": None, "claimed_by": None}
    if until is not None:
        values["next_attempt_at"] = until
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(list(message_ids)),
                col(OutboxMessage.state) == "sending",
                col(OutboxMessage.claimed_by) == worker,
            )
            .values(**values)
        )


def _postpone(engine: Engine, channel: str, until: dt.datetime) -> None:
    """A paused channel's pending messages wait for the end of its cool-down (attempts unchanged): the pause is
    in the database, so that another process or a restarted daemon waits for it too."""
    with session_scope(engine) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.state) == "pending",
                col(OutboxMessage.channel) == channel,
                col(OutboxMessage.next_attempt_at) < until,
            )
            .values(next_attempt_at=until)
        )


def release_stale_claims(session: Session, now: dt.datetime, lease: dt.timedelta) -> int:
    """Messages claimed by a process that died mid-send go back to the outbox (sent at most once more)."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.state) == "sending", col(OutboxMessage.claimed_at) < now - lease)
        .values(state="pending", claimed_at=None, claimed_by=None)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def pending_channels(engine: Engine) -> list[str]:
    """The channels with pending messages, one index seek each (a loose scan of ix_outbox_state_channel_next):
    never a read of the messages themselves, however many a paused channel holds."""
    table = tables.outbox_message
    found: list[str] = []
    with session_scope(engine) as session:
        while True:
            query = sa_select(func.min(table.c.channel)).where(table.c.state == "pending")
            if found:
                query = query.where(table.c.channel > found[-1])
            channel = session.scalar(query)
            if channel is None:
                return found
            found.append(channel)


def claim(
    engine: Engine, now: dt.datetime, worker: str, channel: str, limit: int = BATCH
) -> list[OutboxMessage]:
    """Claim up to `limit` due messages of `channel` for this worker, in one statement; each is claimed by
    exactly one worker (on PostgreSQL the candidates are locked with SKIP LOCKED; SQLite has one writer at a
    time). Read in order from ix_outbox_state_channel_next, never through other channels' messages."""
    table = tables.outbox_message
    with session_scope(engine) as session:
        due = (
            sa_select(table.c.id)
            .where(table.c.state == "pending", table.c.channel == channel, table.c.next_attempt_at <= now)
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
    breakers: Breakers | None = None,
) -> tuple[int, int, int]:
    """Send every due message (only in office hours), each channel in a lane of its own; returns (sent,
    retried, failed). `breakers` carry the channels' circuit breakers from one sweep to the next (the daemon's);
    None: closed ones for this call only."""
    if not settings.office_hours.is_open(now):
        return 0, 0, 0
    with session_scope(engine) as session:
        released = release_stale_claims(session, now, settings.claim_lease)
        if released:
            log.warning("released %d stale claims", released)
    if breakers is None:
        breakers = Breakers(settings.breaker_failures, settings.breaker_cooldown)
    lane = _Lane(engine, channels, now, settings, worker, rng, stop, after_send)
    # A lane that fails (the database) lets the others finish their sends rather than cancel one in flight.
    outcomes = await asyncio.gather(
        *(lane.run(name, breakers[name]) for name in pending_channels(engine)), return_exceptions=True
    )
    counts: list[tuple[int, int, int]] = []
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
        counts.append(outcome)
    return sum(c[0] for c in counts), sum(c[1] for c in counts), sum(c[2] for c in counts)


@dataclass(frozen=True)
class _Lane:
    """What every channel's lane shares: a lane sends its channel's messages one after another."""

    engine: Engine
    channels: Mapping[str, Channel]
    now: dt.datetime
    settings: Settings
    worker: str
    rng: random.Random
    stop: asyncio.Event | None
    after_send: Callable[[OutboxMessage], None] | None

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    async def run(self, channel: str, breaker: Breaker) -> tuple[int, int, int]:
        sent = retried = failed = 0
        state = breaker.state(self.now)
        if state is State.OPEN:
            assert breaker.open_until is not None
            _postpone(self.engine, channel, breaker.open_until)  # planned since it paused: they wait too
            return sent, retried, failed
        limit = 1 if state is State.HALF_OPEN else BATCH  # after the cool-down, one message probes
        sender = self.channels.get(channel)
        if isinstance(sender, Refreshable):
            sender.refresh()  # what its addressing depends on, read once for the round (the robots' keys)
        while not self.stopped():
            batch = claim(self.engine, self.now, self.worker, channel, limit)
            if not batch:
                break
            unsent = {message.id or 0 for message in batch}
            deferred: dict[dt.datetime, list[int]] = {}
            paused_until: dt.datetime | None = None
            try:
                # Core, not the ORM: recording is on the hot path of delivery
                with self.engine.connect() as connection:
                    for message in batch:
                        if self.stopped():
                            break  # the rest of the batch goes back to the outbox, below
                        outcome = await _send_one(message, self.channels)
                        if outcome.deferred is not None:
                            # Not claimed again this round: due when its address can take it, attempts unchanged.
                            until = self.now + dt.timedelta(seconds=max(1, math.ceil(outcome.deferred)))
                            deferred.setdefault(until, []).append(message.id or 0)
                            log.info(
                                "message %s via %s: deferred until %s", message.id, channel, until.isoformat()
                            )
                            unsent.discard(message.id or 0)
                            continue
                        if self.after_send is not None:
                            self.after_send(message)
                        # Recorded and committed before the next send: a crash resends at most this one message.
                        kind = _record(connection, message, outcome, self.now, self.settings, self.rng)
                        connection.commit()
                        unsent.discard(message.id or 0)
                        sent += kind == "sent"
                        retried += kind == "retry"
                        failed += kind == "failed"
                        if _breaker_changed(channel, breaker, outcome.error, self.now):
                            paused_until = breaker.open_until
                            break
            finally:
                # If the database is gone, the next start releases them (this worker is then dead).
                releases: list[tuple[Collection[int], dt.datetime | None]] = [(unsent, paused_until)]
                releases += [(ids, until) for until, ids in deferred.items()]
                for ids, due in releases:
                    if ids:
                        try:
                            _release(self.engine, ids, self.worker, due)
                        except Exception:
                            log.warning("could not release %d claimed messages", len(ids), exc_info=True)
            if paused_until is not None:
                # The stalls that opened it were recorded as attempts; their retries wait for the cool-down too.
                _postpone(self.engine, channel, paused_until)
                break
            limit = BATCH
        return sent, retried, failed


def _breaker_changed(channel: str, breaker: Breaker, error: DeliveryError | None, now: dt.datetime) -> bool:
    """Tells the channel's breaker how a send went; True when the channel has just paused (logged)."""
    change = breaker.record(error is not None and error.stalled, now)
    if change is Change.CLOSED:
        log.warning("channel %s answers again: its circuit breaker is closed, sending resumes", channel)
    elif change is not None:
        log.warning(
            "channel %s paused until %s: %s (%s); its messages stay queued",
            channel,
            (breaker.open_until or now).isoformat(),
            f"{breaker.stalls} stalls in a row"
            if change is Change.OPENED
            else "still stalled after the cool-down",
            error,
        )
    return change in (Change.OPENED, Change.REOPENED)


@dataclass(frozen=True)
class _Outcome:
    duration_ms: float
    error: DeliveryError | None
    address: str
    deferred: float | None = None  # not sent: the channel asks to try again in so many seconds


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
    except Deferred as later:
        return _Outcome(0.0, None, message.address, deferred=later.seconds)
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
