"""The whole sweep: plan (in a thread) and deliver, logged as a Sweep row."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Callable, Mapping

from sqlalchemy import Engine, update
from sqlmodel import col

from calendars.model import Profile
from notifiers.base import Channel
from obligations.db import session_scope
from obligations.models import (
    Sweep,
)
from obligations.reminders.breaker import Breakers
from obligations.reminders.outbox import deliver, release_claims_of_gone_workers
from obligations.reminders.plan import plan_messages
from obligations.reminders.settings import Settings, Stopped, SweepResult

log = logging.getLogger("obligations.reminders")


async def sweep(
    engine: Engine,
    profiles: Mapping[str, Profile],
    channels: Mapping[str, Channel],
    now: dt.datetime,
    settings: Settings,
    *,
    worker: str,
    rng: random.Random | None = None,
    stop: asyncio.Event | None = None,
    gone: Callable[[str], bool] = lambda worker: False,
    breakers: Breakers | None = None,
) -> SweepResult:
    """Plan (in a thread, so that a signal is heard while it works) and deliver; logged as a `Sweep` row.

    First, messages claimed by workers that are `gone` (dead processes on this host) are released. `breakers`:
    the channels' circuit breakers, kept by the daemon from one sweep to the next (None: closed ones)."""
    if breakers is None:
        breakers = Breakers(settings.breaker_failures, settings.breaker_cooldown)
    with session_scope(engine) as session:
        released = release_claims_of_gone_workers(session, gone)
        if released:
            log.warning("released %d messages claimed by processes that are gone", released)
        log_row = Sweep(started_at=now, as_of=now, worker=worker)
        session.add(log_row)
        session.flush()
        sweep_id = log_row.id
    asked_to_stop: Callable[[], bool] = stop.is_set if stop is not None else lambda: False
    try:
        result = await asyncio.to_thread(_plan, engine, profiles, now, settings, asked_to_stop)
        if not result.stopped:
            sent, retried, failed = await deliver(
                engine, channels, now, settings,
                worker=worker, rng=rng or random.Random(), stop=stop, breakers=breakers,
            )  # fmt: skip
            result.sent, result.retried, result.failed = sent, retried, failed
            result.paused = breakers.paused(now)
            result.stopped = asked_to_stop()
        error = None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
        with session_scope(engine) as session:
            session.execute(
                update(Sweep).where(col(Sweep.id) == sweep_id).values(error=error, finished_at=now)
            )
        raise
    with session_scope(engine) as session:
        session.execute(
            update(Sweep)
            .where(col(Sweep.id) == sweep_id)
            .values(
                finished_at=now,
                reminders=result.reminders,
                messages=result.messages,
                sent=result.sent,
                failed=result.failed,
                stopped=result.stopped,
            )
        )
    return result


def _plan(
    engine: Engine,
    profiles: Mapping[str, Profile],
    now: dt.datetime,
    settings: Settings,
    stop: Callable[[], bool],
) -> SweepResult:
    try:
        with session_scope(engine) as session:
            return plan_messages(session, profiles, now, settings, stop=stop)
    except Stopped:  # rolled back: nothing of this sweep's plan was kept, the next sweep plans it again
        return SweepResult(as_of=now, stopped=True)
