"""The daemon's ticks: a failing sweep is logged and the daemon carries on."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from pathlib import Path

import pytest

from calendars.profiles import load_profiles
from calendars.workdays import WorkCalendar
from obligations import db, reminders
from obligations.daemon import Daemon
from obligations.escalation import PARTY_TIME, OfficeHours


def _daemon(url: str) -> Daemon:
    return Daemon(
        engine=db.make_engine(url, create=True),
        profiles=load_profiles(),
        channels={},
        settings=reminders.Settings(OfficeHours.parse("08:30-18:00", WorkCalendar()), ("console",)),
        sweep_minutes=5,
        replan_at=dt.time(6, 0),
        horizon_years=1,
        clock=lambda: dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARTY_TIME),
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
