"""Shared fixtures: a fresh, migrated database on SQLite and on PostgreSQL."""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from obligations import db


def _postgres_url() -> str:
    url = os.environ.get("OBLIGATIONS_TEST_POSTGRES_URL")
    if url:
        worker = os.environ.get("PYTEST_XDIST_WORKER")  # pytest -n: each worker process has its own database
        return url if worker is None else _worker_database(url, worker)
    if os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("CI"):
        pytest.fail(
            "OBLIGATIONS_TEST_POSTGRES_URL is not set: CI must test PostgreSQL (run via scripts/with-postgres)"
        )
    pytest.skip("PostgreSQL not available here (make test starts one when the server package is installed)")


@functools.cache
def _worker_database(url: str, worker: str) -> str:
    """A database of the server at `url` for one xdist worker (`gw0`…), created on first use: the tests
    recreate its public schema, which must not be the schema another worker is using."""
    server = make_url(url)
    name = f"{server.database}_{worker}"
    engine = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if exists.first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


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
