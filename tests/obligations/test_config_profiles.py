"""Profiles that cannot be loaded, and a missing config file, stop planning and sweeping before anything is
written; tasks keep their reminders for when the configuration is right again. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import shutil
import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from calendars.model import Profile
from obligations import db
from obligations.cli import cli
from obligations.config import ConfigError
from obligations.models import OutboxMessage, Reminder, Sweep, Task
from tests.obligations.conftest import POSITIONS, REGISTRY, _members
from tests.obligations.test_daemon import daemon_on

COUNTY = '[profile]\nid = "county"\ntitle = "某县"\nextends = "national"\n'


def _invoke(base: list[str], *args: str) -> Result:
    return CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)


def _tasks(url: str) -> list[tuple[int, str, dt.date | None]]:
    engine = db.make_engine(db.resolve_url(url, Path.cwd()))
    with Session(engine) as session:
        rows = [
            (task.id or 0, task.status, task.remind_on)
            for task in session.exec(select(Task).order_by(col(Task.id)))
        ]
    engine.dispose()
    return rows


def _count(url: str, table: type[Reminder] | type[OutboxMessage] | type[Sweep]) -> int:
    engine = db.make_engine(db.resolve_url(url, Path.cwd()))
    with Session(engine) as session:
        count = session.exec(select(func.count()).select_from(table)).one()
    engine.dispose()
    return int(count)


@pytest.fixture
def county(tmp_path: Path, database_url: str) -> list[str]:
    """The test registry with its root on a local profile `county`, planned and swept once."""
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "county.toml").write_text(COUNTY, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(
        textwrap.dedent(
            """
            [reminders]
            channels = ["console"]
            [notifiers.console]
            path = "sent.txt"
            [profiles]
            default = "county"
            directory = "local"
            """
        ),
        encoding="utf-8",
    )
    registry = tmp_path / "registry.toml"
    registry.write_text(
        (REGISTRY + _members() + POSITIONS).replace('profile = "national"', 'profile = "county"'),
        encoding="utf-8",
    )
    base = ["--config", str(config), "--db", database_url]
    assert _invoke(base, "init").exit_code == 0
    imported = _invoke(base, "import", str(registry), "--as-of", "2026-11-21")
    assert imported.exit_code == 0, imported.stderr
    first = _invoke(base, "remind", "--as-of", "2026-11-23 09:00")
    assert first.exit_code == 0, first.stderr
    return base


def test_a_missing_profile_directory_stops_the_sweep_and_keeps_the_reminders(
    county: list[str], tmp_path: Path, database_url: str
) -> None:
    before = _tasks(database_url)
    reminders_before = _count(database_url, Reminder)
    assert any(remind_on is not None for _, _, remind_on in before)
    shutil.move(tmp_path / "local", tmp_path / "local.away")
    for args in (
        ("remind", "--as-of", "2026-12-01 09:00"),
        ("due", "--as-of", "2026-12-07"),
        ("plan", "--all"),
    ):
        result = _invoke(county, *args)
        assert result.exit_code == 3, (args, result.output)
        assert "[profiles] directory" in result.stderr
    assert _tasks(database_url) == before  # remind_on kept: nothing was written
    assert _count(database_url, Reminder) == reminders_before
    shutil.move(tmp_path / "local.away", tmp_path / "local")
    result = _invoke(county, "remind", "--as-of", "2026-12-01 09:00")
    assert result.exit_code == 0, result.stderr
    assert _count(database_url, Reminder) > reminders_before  # the reminders go out


def test_an_organization_whose_profile_is_no_longer_loaded_stops_the_sweep(
    county: list[str], tmp_path: Path, database_url: str
) -> None:
    # The folder is still there, but the profile the organizations use is gone from it.
    config = tmp_path / "config.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('"county"', '"national"'), encoding="utf-8")
    (tmp_path / "local" / "county.toml").unlink()
    before = _tasks(database_url)
    result = _invoke(county, "remind", "--as-of", "2026-12-01 09:00")
    assert result.exit_code == 3
    assert "组织使用的职责日历 county 未能加载" in result.stderr
    assert _tasks(database_url) == before
    result = _invoke(county, "daemon", "--as-of", "2026-12-01 09:00")
    assert result.exit_code == 3
    assert "组织使用的职责日历 county 未能加载" in result.stderr
    assert _tasks(database_url) == before


def test_a_daemon_tick_that_cannot_load_the_profiles_writes_nothing(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_session: Session) -> Mapping[str, Profile]:
        raise ConfigError("config.toml：[profiles] directory 指定的目录 /srv/local 不存在")

    service = daemon_on(engine, reload_profiles=broken)

    async def ticks() -> None:
        await service.sweep_once()
        await service.replan_once()

    with caplog.at_level(logging.ERROR, logger="obligations.daemon"):
        asyncio.run(ticks())
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 2 and all("nothing written" in message for message in errors)
    assert "/srv/local" in errors[0]
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Sweep)).one() == 0
        assert session.exec(select(func.count()).select_from(Task)).one() == 0


def test_without_a_config_file_remind_and_daemon_refuse_instead_of_marking_reminders_sent(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OBLIGATIONS_CONFIG", raising=False)
    base = ["--db", database_url]
    assert _invoke(base, "init", "--demo", "--as-of", "2026-01-02").exit_code == 0
    (tmp_path / "config.toml").unlink()  # the default ./config.toml may be absent ...
    assert _invoke(base, "due", "--as-of", "2026-01-26").exit_code == 0
    for args in (("remind", "--as-of", "2026-01-26 09:00"), ("daemon", "--as-of", "2026-01-26 09:00")):
        result = _invoke(base, *args)
        assert result.exit_code == 3, result.output  # ... but nothing is "delivered" by default
        assert "obligations init" in result.stderr and "[reminders] channels" in result.stderr
    assert _count(database_url, OutboxMessage) == 0
    assert _count(database_url, Reminder) == 0
    preview = _invoke(base, "remind", "--as-of", "2026-01-26 09:00", "--dry-run")
    assert preview.exit_code == 0 and "未发送、未写入" in preview.stdout
