"""The daemon's ticks: a failing sweep (no tables, a busy database) is logged and the daemon carries on."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from calendars.instants import PARTY_TIME
from calendars.ladder import OfficeHours
from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from obligations import db, reminders
from obligations.daemon import Daemon
from obligations.models import Sweep
from tests.obligations.sqlite_lock import write_lock_held


def _daemon(url: str, busy_timeout: float = 30) -> Daemon:
    return daemon_on(db.make_engine(url, create=True, busy_timeout=busy_timeout))


def daemon_on(engine: Engine, **fields: Any) -> Daemon:
    """A daemon on `engine` whose clock stands at Monday 2026-11-23 09:00, with no channels."""
    return Daemon(
        engine=engine,
        profiles=load_profiles(),
        channels={},
        settings=reminders.Settings(OfficeHours.parse("08:30-18:00", WorkCalendar()), ("console",)),
        sweep_minutes=5,
        replan_at=dt.time(6, 0),
        horizon_years=1,
        clock=lambda: dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARTY_TIME),
        **fields,
    )


def test_a_failing_sweep_is_logged_and_does_not_stop_the_daemon(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database without tables: every sweep fails.
    service = _daemon(f"sqlite:///{tmp_path / 'empty.db'}")

    async def ticks() -> None:
        await service.sweep_once()
        await service.sweep_once()
        await service.replan_once()

    with caplog.at_level(logging.ERROR, logger="obligations.daemon"):
        asyncio.run(ticks())
    failures = [record for record in caplog.records if "failed" in record.getMessage()]
    assert len(failures) == 3
    assert "it will run again on the next tick" in failures[0].getMessage()
    assert not service.stop.is_set()


def test_a_sweep_that_finds_the_database_busy_is_logged_and_the_next_tick_works(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "obligations.db"
    db.upgrade(db.make_engine(f"sqlite:///{path}", create=True))
    service = _daemon(f"sqlite:///{path}", busy_timeout=0.2)
    with caplog.at_level(logging.INFO, logger="obligations.daemon"):
        with write_lock_held(path):
            asyncio.run(service.sweep_once())
        asyncio.run(service.sweep_once())
    messages = [record.getMessage() for record in caplog.records]
    assert "failed; it will run again on the next tick" in messages[0]
    assert caplog.records[0].exc_info is not None and "database is locked" in str(
        caplog.records[0].exc_info[1]
    )
    assert messages[1].startswith("sweep at 2026-11-23T09:00:00+08:00: 0 reminders")
    with db.session_scope(service.engine) as session:
        finished = session.exec(select(Sweep).where(col(Sweep.finished_at).is_not(None))).all()
    assert len(finished) == 1 and not service.stop.is_set()
