"""Engines, sessions and schema migrations (Alembic, from the first version).

SQLite by default (a file beside config.toml); PostgreSQL by URL. `obligations init` applies the migrations
(and is the only command that may create a SQLite file); every other command checks that the database is at
the code's revision and says what to do if not. That check reads the code's revisions from the migrations'
`revision`/`down_revision` lines and the database's from its alembic_version table, without loading Alembic,
which only `init` needs (a test holds this reading to Alembic's own). `problem()` is the one place where a
driver's failure (locked, unreachable, read-only, full, damaged) becomes a Chinese message.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from obligations.errors import UserError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from sqlmodel import Session

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default, where it keeps a database's revision


T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of `size`: IN (...) lists and bulk statements within the drivers' parameter limits."""
    for index in range(0, len(items), size):
        yield items[index : index + size]


class DatabaseError(UserError):
    exit_code = 5


SCHEMES = ("sqlite", "postgresql")
EXAMPLE_URLS = "sqlite:///obligations.db 或 postgresql://用户@主机/库名"


def resolve_url(url: str, base: Path) -> str:
    """Normalize a database URL: relative SQLite paths are relative to `base`; PostgreSQL uses psycopg 3."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise DatabaseError(f"无法识别的数据库地址：{mask_password(url)}（示例：{EXAMPLE_URLS}）") from None
    scheme = backend_name(parsed)
    if scheme not in SCHEMES:
        raise DatabaseError(
            f"不支持的数据库类型 {parsed.drivername}：{parsed.render_as_string(hide_password=True)}"
            f"（只支持 SQLite 和 PostgreSQL，示例：{EXAMPLE_URLS}）"
        )
    if scheme == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            parsed = parsed.set(database=str((base / path).resolve()))
    if scheme == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if backend_name(parsed) != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def backend_name(parsed: URL) -> str:
    """sqlite or postgresql for the URLs we accept (postgres:// is an older spelling), else the URL's own."""
    name = parsed.get_backend_name()
    return "postgresql" if name == "postgres" else name


def mask_password(text: str) -> str:
    """`text` with the password of any URL in it replaced by ***: for a URL that could not even be parsed."""
    return re.sub(r"(://[^:/?#@\s]*:)[^@\s]*@", r"\1***@", text)


def make_engine(url: str, *, busy_timeout: float = 30, create: bool = False) -> Engine:
    """An engine for `url`. A SQLite file must exist unless `create` (only `init` creates a database: a
    mistyped path in any other command is an error, not a new empty file); a writer waits up to
    `busy_timeout` seconds for another process's write lock."""
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.is_file():
                raise DatabaseError(
                    f"数据库尚未初始化：文件 {path} 不存在。请检查 --db 或 [database] url；"
                    "新建数据库请运行：obligations init"
                )
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
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
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


@functools.cache
def revisions() -> tuple[str, ...]:
    """The code's schema revisions, oldest first, read from the migrations' headers (`revision = "0009"`,
    `down_revision = "0006"`) the way Alembic links them."""
    revises: dict[str | None, str] = {}  # a revision -> the one revising it (None: the first)
    for path in (MIGRATIONS / "versions").glob("*.py"):
        header = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision = "([^"]+)"', header, re.MULTILINE)
        down = re.search(r'^down_revision = (?:"([^"]+)"|None)', header, re.MULTILINE)
        if revision is not None and down is not None:
            revises[down.group(1)] = revision.group(1)
    chain: list[str] = []
    current = revises.get(None)
    while current is not None:
        chain.append(current)
        current = revises.get(current)
    return tuple(chain)


def head_revision() -> str:
    return revisions()[-1]


def current_revision(connection: Connection) -> str | None:
    """The revision stored in the database; None for a database Alembic never stamped."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    stored = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(stored) > 1:  # several heads: no migration of ours makes a branch
        raise DatabaseError(
            f"数据库的版本记录（{VERSION_TABLE}）有多条：{'、'.join(sorted(stored))}，无法确定结构版本。"
        )
    return stored[0] if stored else None


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Apply every migration not yet applied; returns (revision before, revision after)."""
    before = _checked_revision(engine)
    if before is not None and before not in _known_revisions():
        raise _newer(before)
    from alembic import command

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
    if current not in _known_revisions():
        raise _newer(current)
    raise DatabaseError(f"数据库结构版本 {current} 旧于程序版本 {head}。请运行 obligations init 升级数据库。")


def _known_revisions() -> set[str]:
    return set(revisions())


def _newer(current: str) -> DatabaseError:
    return DatabaseError(
        f"数据库结构版本 {current} 比本程序新（程序版本 {head_revision()}），请升级 obligations。"
    )


def _checked_revision(engine: Engine) -> str | None:
    """The database's revision; None for an empty database. Tables without a revision are another
    application's database (or one whose alembic_version was dropped): never migrated over, never used."""
    try:
        with engine.connect() as connection:
            revision = current_revision(connection)
            tables = [] if revision is not None else inspect(connection).get_table_names()
    except DBAPIError as error:
        raise problem(error, engine.url.render_as_string(hide_password=False)) from None
    if revision is None and tables:
        raise DatabaseError(
            f"数据库（{_where(engine)}）中已有数据表（{'、'.join(sorted(tables)[:5])}"
            f"{' 等' if len(tables) > 5 else ''}），但没有本程序的版本记录（alembic_version）："
            "它不是 obligations 的数据库，或版本记录已丢失。请检查 --db 或 [database] url；不会在其上建表。"
        )
    return revision


def _where(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


# What SQLite says (its extended error name, else its message) -> what a person is told.
_LOCKED = "数据库正被其他进程写入，请稍后重试"
_FULL = "磁盘已满，数据库无法写入：请释放磁盘空间后重试（本次操作未写入任何数据）"
_READ_ONLY = (
    "数据库文件只读，无法写入：请检查文件和所在文件夹的权限（SQLite 要在同一文件夹中写 -wal、-shm 文件），"
    "或文件系统是否只读"
)
_SQLITE_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("sqlite_full", _FULL),
    ("sqlite_ioerr_shmsize", _FULL),  # WAL's shared-memory file could not grow
    ("database or disk is full", _FULL),
    ("database is locked", _LOCKED),
    ("database table is locked", _LOCKED),
    ("readonly database", _READ_ONLY),
    (
        "file is not a database",
        "数据库文件已损坏或不是数据库文件：请检查 --db 或 [database] url，或从备份恢复",
    ),
    ("database disk image is malformed", "数据库文件已损坏：请从备份恢复"),
    ("unable to open database file", "无法打开数据库文件：请检查路径和权限"),
    ("disk i/o error", "读写数据库文件时出错（磁盘 I/O 错误）：请检查磁盘和文件系统"),
)


def _read_only_sqlite(url: str) -> bool:
    """SQLite cannot open an existing file it may not write, nor create its -shm beside it: it says only
    "unable to open". os.access asks the kernel, which knows of read-only mounts even for root."""
    path = sqlite_file(url)
    if path is None:
        return False
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def problem(error: DBAPIError, url: str | None = None) -> DatabaseError:
    """The one Chinese message for a failure of the database driver (exit status 5). The driver's own text
    is shown only for PostgreSQL, which names the cause (refused, terminated, authentication), with any
    password in it masked."""
    original = error.orig if error.orig is not None else error
    text = str(original).strip()
    lowered = text.lower()
    if "sqlite" in type(original).__module__:
        name = str(getattr(original, "sqlite_errorname", "")).lower()
        if "unable to open database file" in lowered and url is not None and _read_only_sqlite(url):
            return DatabaseError(_READ_ONLY)
        for needle, message in _SQLITE_PROBLEMS:
            if needle == name or needle in lowered:
                return DatabaseError(message)
        return DatabaseError(f"数据库出错：{text}")
    first_line = text.splitlines()[0] if text else type(original).__name__
    if url is not None:
        password = make_url(url).password
        if password:
            first_line = first_line.replace(str(password), "***")
    first_line = mask_password(first_line)
    where = f"（{make_url(url).render_as_string(hide_password=True)}）" if url is not None else ""
    if isinstance(error, OperationalError):
        return DatabaseError(
            f"无法连接数据库或连接已中断{where}：{first_line}。请确认数据库服务正在运行后重试"
        )
    return DatabaseError(f"数据库出错{where}：{first_line}")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back (writing nothing) on any error."""
    from sqlmodel import Session  # the ORM, only for commands that use it (`due` reads on obligations.tables)

    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def aware(moment: dt.datetime) -> dt.datetime:
    """An instant read back from the store: SQLite hands back naive datetimes for what was stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
