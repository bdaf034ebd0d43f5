"""Fixtures for the web desk: the registry of the planner issue (机关党委 jg over branches jg.b1, with its 党小组
jg.b1.g1, and jg.b2), planned on 2026-11-21, accounts for each role, and signed-in TestClients — on SQLite and
PostgreSQL.

Roles in the registry (tests/obligations/registry_fixtures.py):
  a1     secretary of the 机关党委 jg: supervises the whole subtree, decides requests of the branches
  b1m1   secretary of the branch jg.b1: records for jg.b1 and its group jg.b1.g1
  b1m2   组织委员 of jg.b1: records for jg.b1 and jg.b1.g1
  g1m1   党小组长 of jg.b1.g1 (sits in the group): records for the group
  b1m5   an ordinary member of jg.b1: only their own tasks
  b2m1   secretary of the branch jg.b2: nothing of jg.b1
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from calendars.profiles import load_profiles
from obligations import accounts, importer, planner, planstate
from obligations.config import Config, parse_config
from obligations.db import session_scope
from obligations.models import Account, AuditEvent
from obligations.registry import validate
from obligations.web import create_app
from tests.obligations.registry_fixtures import issue_registry

AS_OF = dt.date(2026, 11, 21)
PROFILES = load_profiles()
PASSWORD = "pass1234"
BASE_URL = "http://desk.test"
ROLES = ("a1", "b1m1", "b1m2", "g1m1", "b1m5", "b2m1")
# Hashed once for the session: argon2 is slow on purpose, and every account of the fixture has this password.
PASSWORD_HASH = accounts.hash_password(PASSWORD)


@dataclass
class Clock:
    """The desk's clock in tests: a fixed instant that a test may move."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@dataclass
class DeskFixture:
    engine: Engine
    config: Config
    clock: Clock
    app: Starlette
    attachments: Path

    def client(self) -> TestClient:
        """A browser without a session."""
        return TestClient(self.app, base_url=BASE_URL, headers={"origin": BASE_URL})

    def signed_in(self, member: str, password: str = PASSWORD) -> TestClient:
        client = self.client()
        response = client.post(
            "/login",
            data={"member": member, "password": password, "csrf_token": login_token(client), "next": "/"},
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        return client


def login_token(client: TestClient) -> str:
    """The sign-in form's CSRF token (and its cookie, kept by the client)."""
    return csrf_of(client.get("/login").text)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None, "no csrf_token field on the page"
    return found.group(1)


def desk_config(tmp_path: Path, **web: object) -> Config:
    return parse_config(
        {"web": {"public_url": BASE_URL, **web}, "ledger": {"attachments": str(tmp_path / "attachments")}},
        None,
        base=tmp_path,
    )


@pytest.fixture
def desk(engine: Engine, tmp_path: Path) -> Iterator[DeskFixture]:
    registry = issue_registry()
    now = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
    with session_scope(engine) as session:
        existing = importer.existing_registry(session)
        assert validate(registry, file="test", existing=existing, as_of=AS_OF, profiles=PROFILES) == []
        importer.apply(session, registry, prune=False, default_profile="national", as_of=AS_OF)
        planner.ensure_planned(session, PROFILES, AS_OF, planstate.default_horizon(AS_OF))
        for member in ROLES:
            session.add(
                Account(member=member, password_hash=PASSWORD_HASH, created_at=now, password_changed_at=now)
            )
    config = desk_config(tmp_path)
    clock = Clock()
    yield DeskFixture(engine, config, clock, create_app(config, engine, PROFILES, clock=clock), tmp_path)


def audit_events(desk: DeskFixture, action: str) -> list[AuditEvent]:
    """The audit log's events of one action, oldest first."""
    with Session(desk.engine) as session:
        query = select(AuditEvent).where(col(AuditEvent.action) == action).order_by(col(AuditEvent.id))
        return list(session.exec(query))


def refusals(desk: DeskFixture) -> list[tuple[str | None, str | None]]:
    """(who, what) of every refusal in the audit log."""
    return [(event.actor, event.target) for event in audit_events(desk, "refused")]
