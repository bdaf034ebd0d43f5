"""The daemon: APScheduler triggers; the database stays the source of truth.

Every few minutes a sweep plans due reminders and delivers the outbox (including retries); every day at
`replan_at` the plan is brought up to date; both run once at start. Before each tick the profiles are read
again: when they cannot be loaded (a folder gone, a broken file), the tick writes nothing and logs an error,
and the tasks keep their reminders for when the profiles are back. A failing sweep is logged and retried on
the next tick; SIGTERM and SIGINT let the current send finish, then the daemon stops (within seconds:
planning and re-planning run in a thread, so the signal is heard while they work; a sweep stops between
chunks and between sends).

A worker is `hostname:pid`; it is recorded on each claim and sweep, so that what a dead process on this host
left claimed is released at the next start, and `status` can tell a running sweep from an interrupted one.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import random
import signal
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlmodel import Session

from calendars.instants import PARTY_TIME
from calendars.model import Profile
from notifiers.base import Channel
from obligations import accounts, audit, planner, planstate, reminders
from obligations.db import session_scope

log = logging.getLogger("obligations.daemon")


def this_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_gone(worker: str) -> bool:
    """True when `worker` ran on this host and its process is no more. Our own pid counts as gone: whatever
    it claimed before this process started belongs to an earlier process that had the same pid. On another
    host nothing can be known: its claims expire with the lease."""
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False


def system_clock() -> dt.datetime:
    """The daemon's clock: once per tick, aware, in party time."""
    return dt.datetime.now(PARTY_TIME)


@dataclass
class Daemon:
    engine: Engine
    profiles: Mapping[str, Profile]
    channels: Mapping[str, Channel]
    settings: reminders.Settings
    sweep_minutes: int
    replan_at: dt.time
    horizon_years: int
    clock: Callable[[], dt.datetime] = system_clock
    # Reads the profiles again for a tick and checks them against the organizations; raises when they cannot
    # be loaded. None: the profiles given at start are used for ever.
    reload_profiles: Callable[[Session], Mapping[str, Profile]] | None = None
    # False for a daemon replaying another date (`daemon --as-of`): a replay never changes the stored plan.
    replan: bool = True
    worker: str = field(default_factory=this_worker)

    def __post_init__(self) -> None:
        self.stop = asyncio.Event()
        self.rng = random.Random()
        self._busy = asyncio.Lock()
        # The channels' circuit breakers, from one sweep to the next (in the process only: see reminders/breaker.py).
        self.breakers = reminders.Breakers(self.settings.breaker_failures, self.settings.breaker_cooldown)

    def _current_profiles(self, now: dt.datetime) -> Mapping[str, Profile] | None:
        """The profiles for a tick, or None (logged) when they cannot be loaded: then nothing is written."""
        if self.reload_profiles is None:
            return self.profiles
        try:
            with session_scope(self.engine) as session:
                self.profiles = self.reload_profiles(session)
                session.rollback()  # only read
        except Exception as error:
            log.error(
                "tick at %s skipped, nothing written: the profiles cannot be loaded: %s",
                now.isoformat(),
                error,
            )
            return None
        return self.profiles

    async def sweep_once(self) -> None:
        async with self._busy:
            if self.stop.is_set():
                return
            now = self.clock()
            profiles = self._current_profiles(now)
            if profiles is None:
                return
            try:
                result = await reminders.sweep(
                    self.engine, profiles, self.channels, now, self.settings,
                    worker=self.worker, rng=self.rng, stop=self.stop, gone=worker_gone, breakers=self.breakers,
                )  # fmt: skip
            except Exception:
                log.exception("sweep at %s failed; it will run again on the next tick", now.isoformat())
                return
            if result.stopped:
                log.info(
                    "sweep at %s stopped on request: %d sent; the rest stays queued",
                    now.isoformat(),
                    result.sent,
                )
            elif result.skipped:
                log.debug("sweep at %s: %s", now.isoformat(), result.skipped)
            else:
                log.info(
                    "sweep at %s: %d reminders, %d messages, %d sent, %d retrying, %d failed%s",
                    now.isoformat(), result.reminders, result.messages, result.sent, result.retried, result.failed,
                    "".join(f"; channel {channel} paused until {until.isoformat()}"
                            for channel, until in result.paused.items()),
                )  # fmt: skip

    async def replan_once(self) -> None:
        now = self.clock()
        today = now.astimezone(PARTY_TIME).date()
        if not self.replan:
            log.info(
                "replaying from another date: the stored plan is used as it is, not re-planned for %s", today
            )
            return
        async with self._busy:  # never at the same time as a sweep
            profiles = self._current_profiles(now)
            if profiles is None:
                return
            try:
                summary = await asyncio.to_thread(self._replan, profiles, now)
            except Exception:
                log.exception("re-planning on %s failed; it will run again tomorrow", today)
                return
        if summary is not None:
            log.info("re-planned %d organizations: +%d ~%d -%d", summary.organizations, summary.inserted,
                     summary.updated, summary.removed)  # fmt: skip

    def _replan(self, profiles: Mapping[str, Profile], now: dt.datetime) -> planner.PlanSummary | None:
        """The daily upkeep: the plan brought up to date, audit events past their keeping time and stale web
        sessions removed."""
        today = now.astimezone(PARTY_TIME).date()
        with session_scope(self.engine) as session:
            summary = planner.ensure_planned(
                session, profiles, today, planstate.default_horizon(today, self.horizon_years)
            )
            pruned = audit.prune(session, now=now)
            ended = accounts.prune_sessions(session, now=now)
        if pruned or ended:
            log.info("removed %d audit events older than %d days and %d stale web sessions", pruned,
                     audit.KEEP_DAYS, ended)  # fmt: skip
        return summary

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig)
        scheduler = AsyncIOScheduler(timezone=PARTY_TIME)
        scheduler.add_job(
            self.sweep_once, IntervalTrigger(minutes=self.sweep_minutes, timezone=PARTY_TIME),
            id="sweep", max_instances=1, coalesce=True,
        )  # fmt: skip
        scheduler.add_job(
            self.replan_once, CronTrigger(hour=self.replan_at.hour, minute=self.replan_at.minute, timezone=PARTY_TIME),
            id="replan", max_instances=1, coalesce=True,
        )  # fmt: skip
        scheduler.start()
        log.info("daemon %s started: sweep every %d min, re-plan daily at %s", self.worker, self.sweep_minutes,
                 self.replan_at.strftime("%H:%M"))  # fmt: skip
        # The first re-plan and sweep run here, not as a job due "now": with --as-of the clock is in the past,
        # and the scheduler would drop a job due then as missed.
        await self.replan_once()
        await self.sweep_once()
        try:
            await self.stop.wait()
        finally:
            # Not shutdown() first: APScheduler would cancel the running sweep in the middle of a send.
            scheduler.pause()
            async with self._busy:  # the running sweep stops after the send in flight, recorded
                pass
            scheduler.shutdown(wait=False)
            for channel in self.channels.values():
                await channel.aclose()
            log.info("daemon %s stopped", self.worker)

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("received %s: finishing the current send, then stopping", sig.name)
        self.stop.set()
