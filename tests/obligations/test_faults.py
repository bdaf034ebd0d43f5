"""Faults of the store and of the file system: each one is one Chinese line and an exit status, never a traceback.

Real faults only: a real full disk and a real read-only file system (a small tmpfs, which needs root: the test is
skipped with the reason where mounting is not allowed), a real write lock held by another process, a real
PostgreSQL server stopped in the middle of a command, real damaged and foreign database files.
"""

from __future__ import annotations

import contextlib
import gc
import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from click.testing import CliRunner, Result
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from obligations import db
from obligations.cli import cli
from tests.free_port import free_port
from tests.obligations.sqlite_lock import write_lock_held

DATABASE_PROBLEM = 5


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _empty_config(folder: Path) -> str:
    config = folder / "config.toml"
    config.write_text("", encoding="utf-8")
    return str(config)


def _one_chinese_line(result: Result) -> str:
    """The error as the user sees it: one line on stderr (besides warnings), beginning with 错误, no traceback."""
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("警告：")]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1 and lines[0].startswith("错误："), result.stderr
    return lines[0]


@pytest.fixture
def demo_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A config.toml (console channel) in `tmp_path` and, as the working folder, where attachments go."""
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "console.txt"\n')
    yield config


def _init_demo(config: Path, url: str) -> None:
    result = _cli("--config", str(config), "--db", url, "init", "--demo", "--as-of", "2026-01-02")
    assert result.exit_code == 0, result.output


# --- the URL and the file given ---------------------------------------------------------------------


def test_a_read_only_command_on_a_mistyped_sqlite_path_creates_no_file(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "obligatons.db"
    result = _cli("--config", _empty_config(tmp_path), "--db", f"sqlite:///{missing}", "due")
    assert result.exit_code == DATABASE_PROBLEM
    assert "数据库尚未初始化" in _one_chinese_line(result) and str(missing) in result.stderr
    assert not missing.exists() and not missing.parent.exists()


def test_init_is_the_command_that_creates_a_sqlite_database(tmp_path: Path) -> None:
    wanted = tmp_path / "new" / "obligations.db"
    result = _cli("--config", str(tmp_path / "config.toml"), "--db", f"sqlite:///{wanted}", "init")
    assert result.exit_code == 0, result.output
    assert wanted.is_file()


@pytest.mark.parametrize(
    "url", ["mysql://dangjian:s3cret@localhost/obligations", "foo://bar", "oracle+cx://x"]
)
def test_an_unsupported_database_scheme_is_refused(tmp_path: Path, url: str) -> None:
    result = _cli("--config", _empty_config(tmp_path), "--db", url, "due")
    assert result.exit_code == DATABASE_PROBLEM
    line = _one_chinese_line(result)
    assert "不支持的数据库类型" in line and "s3cret" not in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://dangjian:s3cret-Pa55@127.0.0.1:notaport/obligations",  # not a URL at all to SQLAlchemy
        "postgresql://dangjian:s3cret-Pa55@127.0.0.1:{port}/obligations",  # a URL, but nobody listens
    ],
)
def test_a_database_url_is_never_shown_with_its_password(tmp_path: Path, url: str) -> None:
    result = _cli("--config", _empty_config(tmp_path), "--db", url.format(port=free_port()), "due")
    assert result.exit_code == DATABASE_PROBLEM
    line = _one_chinese_line(result)
    assert "s3cret-Pa55" not in result.stderr + result.stdout
    assert "dangjian:***@127.0.0.1" in line


def test_a_damaged_database_file_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "obligations.db"
    damaged.write_bytes(os.urandom(64 * 1024))
    before = damaged.read_bytes()
    for command in ("due", "init"):
        result = _cli("--config", _empty_config(tmp_path), "--db", f"sqlite:///{damaged}", command)
        assert result.exit_code == DATABASE_PROBLEM, result.output
        assert "已损坏或不是数据库文件" in _one_chinese_line(result)
    assert damaged.read_bytes() == before


def test_the_database_of_another_application_is_never_used_nor_migrated(tmp_path: Path) -> None:
    foreign = tmp_path / "contacts.db"
    with contextlib.closing(sqlite3.connect(foreign)) as connection:
        connection.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        connection.execute("INSERT INTO contacts VALUES ('张三', '13800000000')")
        connection.commit()
    for command in ("due", "init"):
        result = _cli("--config", _empty_config(tmp_path), "--db", f"sqlite:///{foreign}", command)
        assert result.exit_code == DATABASE_PROBLEM, result.output
        line = _one_chinese_line(result)
        assert "不是 obligations 的数据库" in line and "contacts" in line
    with contextlib.closing(sqlite3.connect(foreign)) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"contacts"}


def _engine_of(url: str, base: Path) -> Engine:
    return db.make_engine(db.resolve_url(url, base))


@pytest.mark.parametrize(
    ("damage", "told"),
    [
        pytest.param("DROP TABLE alembic_version", "alembic_version", id="without_its_version_table"),
        pytest.param(
            "UPDATE alembic_version SET version_num = '9999'", "比本程序新", id="at_a_newer_revision"
        ),
    ],
)
def test_a_database_whose_version_is_not_the_codes_is_refused_by_every_command(
    imported: tuple[Path, str], database_url: str, damage: str, told: str
) -> None:
    config, url = imported
    engine = _engine_of(url, config.parent)
    with engine.begin() as connection:
        connection.execute(text(damage))
    engine.dispose()
    for command in ("due", "init"):
        result = _cli("--config", str(config), "--db", url, command)
        assert result.exit_code == DATABASE_PROBLEM, result.output
        assert told in _one_chinese_line(result)


# --- a lock held by another process -----------------------------------------------------------------


def test_a_writer_waits_the_busy_timeout_then_is_told_the_database_is_busy(
    tmp_path: Path, demo_sqlite: Path
) -> None:
    path = tmp_path / "obligations.db"
    _init_demo(demo_sqlite, f"sqlite:///{path}")
    engine = db.make_engine(f"sqlite:///{path}", busy_timeout=0.5)
    with write_lock_held(path):
        started = time.monotonic()
        with pytest.raises(OperationalError) as caught, engine.begin() as connection:
            connection.execute(text("UPDATE plan_state SET registry_version = registry_version"))
        waited = time.monotonic() - started
    engine.dispose()
    assert 0.5 <= waited < 5
    assert str(db.problem(caught.value)) == "数据库正被其他进程写入，请稍后重试"


def test_a_command_that_cannot_get_the_write_lock_exits_5_with_one_line(
    tmp_path: Path, demo_sqlite: Path
) -> None:
    path = tmp_path / "obligations.db"
    _init_demo(demo_sqlite, f"sqlite:///{path}")
    with demo_sqlite.open("a", encoding="utf-8") as config:
        config.write("[database]\nbusy_timeout_seconds = 1\n")
    with write_lock_held(path):
        started = time.monotonic()
        result = _cli(
            "--config", str(demo_sqlite), "--db", f"sqlite:///{path}", "remind", "--as-of", "2026-01-26"
        )
        waited = time.monotonic() - started
    assert 1 <= waited < 15, f"waited {waited:.1f} s, not [database] busy_timeout_seconds = 1"
    assert result.exit_code == DATABASE_PROBLEM, result.output
    assert _one_chinese_line(result) == "错误：数据库正被其他进程写入，请稍后重试"


# --- a full disk, a read-only file system: a real small tmpfs ----------------------------------------


@dataclass
class SmallDisk:
    folder: Path

    def fill(self, leave_kib: int) -> None:
        """Fill the file system but `leave_kib` KiB."""
        free_kib = shutil.disk_usage(self.folder).free // 1024
        with (self.folder / "filler").open("wb") as filler:
            filler.write(b"\0" * max(0, free_kib - leave_kib) * 1024)

    def empty(self) -> None:
        (self.folder / "filler").unlink()

    def read_only(self) -> None:
        gc.collect()  # the engines of earlier commands run in this process, and their open files
        subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    folder = tmp_path / "disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {mounted.stderr.strip()}")
    try:
        yield SmallDisk(folder)
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _outbox_count(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return int(connection.execute("SELECT count(*) FROM outbox_message").fetchone()[0])


def test_a_full_disk_stops_a_sweep_with_exit_5_and_writes_nothing(
    small_disk: SmallDisk, demo_sqlite: Path
) -> None:
    path = small_disk.folder / "obligations.db"
    url = f"sqlite:///{path}"
    _init_demo(demo_sqlite, url)
    assert _outbox_count(path) == 0
    small_disk.fill(leave_kib=64)
    result = _cli("--config", str(demo_sqlite), "--db", url, "remind", "--as-of", "2026-01-26 09:00")
    assert result.exit_code == DATABASE_PROBLEM, result.output
    assert "磁盘已满" in _one_chinese_line(result)
    small_disk.empty()
    assert _outbox_count(path) == 0  # rolled back: nothing half-written
    again = _cli("--config", str(demo_sqlite), "--db", url, "remind", "--as-of", "2026-01-26 09:00")
    assert again.exit_code == 0, again.output
    assert _outbox_count(path) > 0


def test_a_database_on_a_read_only_file_system_is_refused_with_exit_5(
    small_disk: SmallDisk, demo_sqlite: Path
) -> None:
    path = small_disk.folder / "obligations.db"
    url = f"sqlite:///{path}"
    _init_demo(demo_sqlite, url)
    small_disk.read_only()
    result = _cli("--config", str(demo_sqlite), "--db", url, "remind", "--as-of", "2026-01-26 09:00")
    assert result.exit_code == DATABASE_PROBLEM, result.output
    assert "数据库文件只读" in _one_chinese_line(result)


def test_ledger_output_that_cannot_be_written_is_a_refused_request(
    small_disk: SmallDisk, demo_sqlite: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'obligations.db'}"
    _init_demo(demo_sqlite, url)
    export = (
        "--config",
        str(demo_sqlite),
        "--db",
        url,
        "ledger",
        "--org",
        "jg.b1",
        "--year",
        "2025",
        "--output",
    )

    missing = tmp_path / "no-such-folder" / "台账.csv"
    result = _cli(*export, str(missing))
    assert result.exit_code == 1, result.output
    assert _one_chinese_line(result) == f"错误：无法读写 {missing}：文件或文件夹不存在。"

    small_disk.fill(leave_kib=0)
    result = _cli(*export, str(small_disk.folder / "台账.csv"))
    assert result.exit_code == 1, result.output
    assert "磁盘已满" in _one_chinese_line(result)

    small_disk.empty()
    small_disk.read_only()
    result = _cli(*export, str(small_disk.folder / "台账.csv"))
    assert result.exit_code == 1, result.output
    assert "文件系统只读" in _one_chinese_line(result)


# --- PostgreSQL stopped in the middle of a command ---------------------------------------------------


@dataclass
class OwnPostgres:
    """A throwaway PostgreSQL server of this test alone (started as scripts/with-postgres does)."""

    bindir: Path
    data: Path
    url: str
    runas: tuple[str, ...]

    def stop_now(self) -> None:
        subprocess.run(
            [*self.runas, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            check=True,
            capture_output=True,
        )


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda path: int(Path(path).parent.name))
    if not found or not (Path(found[-1]) / "initdb").exists():
        if os.environ.get("REQUIRE_POSTGRES") == "1" or os.environ.get("CI"):
            pytest.fail("the PostgreSQL fault tests need the server binaries (apt-get install postgresql)")
        pytest.skip("PostgreSQL server binaries are not installed")
    bindir = Path(found[-1])
    data = Path(tempfile.mkdtemp(prefix="obligations-pg-fault."))
    runas: tuple[str, ...] = ()
    if os.getuid() == 0:
        shutil.chown(data, "postgres")
        runas = ("runuser", "-u", "postgres", "--")
    port = free_port()
    server = OwnPostgres(bindir, data, f"postgresql://postgres@127.0.0.1:{port}/faults", runas)
    try:
        subprocess.run(
            [*runas, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *runas,
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(data / "log"),
                "-w",
                "-o",
                options,
                "start",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "faults"],
            check=True,
            capture_output=True,
        )
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop_now()
        shutil.rmtree(data, ignore_errors=True)


@dataclass
class StopsThePostgresServer:
    """An SMTP peer that, on the first message, stops the PostgreSQL server (immediately), then accepts it."""

    server: OwnPostgres
    received: int = 0

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        self.received += 1
        if self.received == 1:
            self.server.stop_now()
        return "250 Message accepted"


def test_postgresql_going_down_in_the_middle_of_a_sweep_exits_5_with_one_line(
    own_postgres: OwnPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    handler = StopsThePostgresServer(own_postgres)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[reminders]\nchannels = ["email"]\n[notifiers.email]\nhost = "127.0.0.1"\nport = {controller.port}\n',
            encoding="utf-8",
        )
        _init_demo(config, own_postgres.url)
        result = _cli(
            "--config", str(config), "--db", own_postgres.url, "remind", "--as-of", "2026-01-26 09:00"
        )
    finally:
        controller.stop()
    assert handler.received == 1
    assert result.exit_code == DATABASE_PROBLEM, result.output
    assert "无法连接数据库或连接已中断" in _one_chinese_line(result)
