"""Shared fixtures: a fresh, migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from obligations import db


def _postgres_url() -> str:
    url = os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL")
    if url:
        return url
    if os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("CI"):
        pytest.fail(
            "OBLIGATIONS_TEST_POSTGRES_URL is not set: CI must test PostgreSQL (run via scripts/with-postgres)"
        )
    pytest.skip("PostgreSQL not available here (make test starts one when the server package is installed)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database; PostgreSQL's public schema is recreated for every test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'obligations.db'}"
        return
    url = db.resolve_url(_postgres_url(), tmp_path)
    engine = db.make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """A migrated database."""
    engine = db.make_engine(db.resolve_url(database_url, Path.cwd()), create=True)
    db.upgrade(engine)
    yield engine
    engine.dispose()
