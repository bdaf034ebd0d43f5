"""Engines, sessions and schema migrations (Alembic, from the first version).

SQLite by default (a file beside config.toml); PostgreSQL by URL. `obligations init` applies the migrations;
every other command checks that the database is at the code's revision and says what to do if not.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlmodel import Session, create_engine

from obligations.errors import UserError

MIGRATIONS = Path(__file__).parent / "migrations"


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`: IN (...) lists and bulk statements within the drivers' parameter limits."""
    for index in range(0, len(items), size):
        yield items[index : index + size]


class DatabaseError(UserError):
    exit_code = 5


def resolve_url(url: str, base: Path) -> str:
    """Normalize a database URL: relative SQLite paths are relative to `base`; PostgreSQL uses psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseError(
            f"无法识别的数据库地址：{url}（示例：sqlite:///obligations.db 或 postgresql://用户@主机/库名）"
        ) from None
    if parsed.drivername == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            parsed = parsed.set(database=str((base / path).resolve()))
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")  # the daemon and a CLI command may work at the same time
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(connection: Any) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config(None)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every migration not yet applied; returns (revision before, revision after)."""
    before = _checked_revision(engine)
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    return before, head_revision()


def check_schema(engine: Engine) -> None:
    """Refuse to work on a database that is not exactly at the code's revision."""
    current = _checked_revision(engine)
    head = head_revision()
    if current == head:
        return
    if current is None:
        raise DatabaseError(f"数据库尚未初始化（{_where(engine)}）。请先运行：obligations init")
    known = {script.revision for script in ScriptDirectory.from_config(alembic_config(None)).walk_revisions()}
    if current not in known:
        raise DatabaseError(f"数据库结构版本 {current} 比本程序新（程序版本 {head}），请升级 obligations。")
    raise DatabaseError(f"数据库结构版本 {current} 旧于程序版本 {head}。请运行 obligations init 升级数据库。")


def _checked_revision(engine: Engine) -> str | None:
    try:
        return current_revision(engine)
    except OperationalError as error:
        raise DatabaseError(f"无法连接数据库（{_where(engine)}）：{error.orig}") from None


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (writing nothing) on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
