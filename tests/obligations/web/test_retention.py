"""Keeping time (issue 11, 等保 2.0): audit events are kept at least six months — the daily upkeep removes only
older ones, whatever shorter keeping time it is asked for — and web sessions unused for a month are removed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from obligations import accounts, audit
from obligations.models import AuditEvent, WebSession
from tests.obligations.web.conftest import DeskFixture

NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
ACTOR = audit.Actor("b1m1", "web", "127.0.0.1")


def _ages(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return sorted(
            (NOW - event.at.replace(tzinfo=dt.UTC)).days
            for event in session.exec(select(AuditEvent).where(col(AuditEvent.action) == "record"))
        )


def test_audit_events_younger_than_six_months_are_kept(desk: DeskFixture) -> None:
    with Session(desk.engine) as session:
        for days in (0, 30, 182, 183, 184, 400):
            audit.log(session, ACTOR, "record", at=NOW - dt.timedelta(days=days), target="task:1")
        session.commit()
        assert audit.prune(session, now=NOW, keep_days=7) == 2  # a shorter keeping time is not honoured
        session.commit()
    assert _ages(desk.engine) == [0, 30, 182, 183]


def test_sessions_unused_for_a_month_are_removed(desk: DeskFixture) -> None:
    with Session(desk.engine) as session:
        accounts.open_session(
            session, "b1m1", method="password", now=NOW - dt.timedelta(days=31), address=None
        )
        accounts.open_session(
            session, "b1m2", method="password", now=NOW - dt.timedelta(days=29), address=None
        )
        session.commit()
        assert accounts.prune_sessions(session, now=NOW) == 1
        session.commit()
        assert [row.member for row in session.exec(select(WebSession))] == ["b1m2"]
