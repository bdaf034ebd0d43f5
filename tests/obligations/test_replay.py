"""A replay is a read: commands asked about another date never change the stored plan (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from obligations import db, planstate
from tests.obligations.conftest import POSITIONS, REGISTRY, _members, daemon_until, run

# Live event tasks on top of the shared registry: a vacancy (jg.b1's deputy secretary, 2026-06-01, in
# POSITIONS), a probationary member, a newly appointed secretary, and every organization's term election.
EVENTS = textwrap.dedent(
    """
    [[member]]
    id = "p1"
    name = "预备党员甲"
    org = "jg.b2"
    status = "probationary"
    joined_on = 2026-03-01
    probation_start = 2026-03-01

    [[position]]
    org = "jg.b2"
    role = "secretary"
    member = "jgb2m1"
    since = 2026-09-01
    """
)


def _rows(url: str, base: Path, table: str) -> list[dict[str, Any]]:
    """Every row of `table`, every column, in id order."""
    engine = db.make_engine(db.resolve_url(url, base))
    try:
        with engine.connect() as connection:
            query = text(f"SELECT * FROM {table} ORDER BY id")
            return [dict(row) for row in connection.execute(query).mappings()]
    finally:
        engine.dispose()


@pytest.fixture
def planned(workspace: tuple[Path, str]) -> tuple[Path, str]:
    config, _url = workspace
    registry = config.parent / "registry.toml"
    registry.write_text(REGISTRY + _members() + POSITIONS + EVENTS, encoding="utf-8")
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(registry), "--as-of", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    return workspace


def _event_keys(tasks: list[dict[str, Any]]) -> set[str]:
    return {task["period"].split(":")[0] for task in tasks if ":" in task["period"]}


REPLAYS = [
    ("report", "--year", "2024", "--as-of", "2024-12-31"),
    ("report", "--year", "2020", "--as-of", "2020-12-31", "--format", "json"),
    ("due", "--as-of", "2024-12-31", "--format", "json"),
    ("due", "--as-of", "2019-06-30", "--all", "--format", "csv"),
    ("due", "--as-of", "2027-03-01", "--format", "json"),  # a look ahead is a read too
    ("calendar", "--as-of", "2024-12-31"),
    ("calendar", "--org", "jg.b1", "--as-of", "2020-12-31"),
    ("score", "--org", "jg.b2", "--as-of", "2024-12-31"),
    ("remind", "--dry-run", "--as-of", "2024-12-31 10:00"),
    ("remind", "--dry-run", "--as-of", "2026-11-23 09:00"),
    ("remind", "--dry-run"),
]


def test_replayed_reads_leave_the_task_table_and_the_outbox_untouched(planned: tuple[Path, str]) -> None:
    config, url = planned
    before = _rows(url, config.parent, "task")
    # The registry's live event tasks are all there to lose: vacancy, probation, appointment, election.
    assert {"vacancy", "probation", "appointment"} <= _event_keys(before)
    assert any("/P" in task["period"] for task in before)  # term elections
    for args in REPLAYS:
        result = run(planned, *args)
        assert result.exit_code == 0, (args, result.stderr)
        assert _rows(url, config.parent, "task") == before, args
    for table in ("sweep", "reminder", "outbox_message", "completion"):
        assert _rows(url, config.parent, table) == [], table


def test_a_dry_run_on_a_stale_plan_writes_nothing(planned: tuple[Path, str]) -> None:
    """Even when the registry changed since the last plan, `remind --dry-run` previews without committing."""
    config, url = planned
    engine = db.make_engine(db.resolve_url(url, config.parent))
    with engine.begin() as connection:
        connection.execute(text("UPDATE plan_state SET registry_version = registry_version + 1"))
        connection.execute(text("UPDATE organization SET dirty = TRUE WHERE code = 'jg.b1'"))
    engine.dispose()
    state = _rows(url, config.parent, "plan_state")
    before = _rows(url, config.parent, "task")
    result = run(planned, "remind", "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert _rows(url, config.parent, "task") == before
    assert _rows(url, config.parent, "plan_state") == state
    for table in ("sweep", "reminder", "outbox_message"):
        assert _rows(url, config.parent, table) == [], table


@pytest.mark.parametrize("day", ["2024-12-31", "2020-06-30", "2016-01-15"])
def test_planning_for_a_past_date_keeps_every_task_id(planned: tuple[Path, str], day: str) -> None:
    config, url = planned
    before = {
        task["id"]: (task["rule"], task["subject"], task["period"])
        for task in _rows(url, config.parent, "task")
    }
    result = run(planned, "plan", "--as-of", day, "--all")
    assert result.exit_code == 0, result.stderr
    assert "移除 0" in result.stdout
    after = {
        task["id"]: (task["rule"], task["subject"], task["period"])
        for task in _rows(url, config.parent, "task")
    }
    assert {task_id: after.get(task_id) for task_id in before} == before


def test_a_sweep_replayed_at_another_date_works_on_the_stored_plan(planned: tuple[Path, str]) -> None:
    """A real `remind --as-of` in the past sends what the stored plan owes then; it plans nothing of 2024."""
    config, url = planned
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "sent.txt"\n')
    before = {task["id"]: (task["rule"], task["period"]) for task in _rows(url, config.parent, "task")}

    result = run(planned, "remind", "--as-of", "2024-12-31 10:00")

    assert result.exit_code == 0, result.stderr
    after = {task["id"]: (task["rule"], task["period"]) for task in _rows(url, config.parent, "task")}
    assert after == before


def test_a_daemon_replaying_another_date_works_on_the_stored_plan(planned: tuple[Path, str]) -> None:
    config, url = planned
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "sent.txt"\n')
    before = {task["id"]: (task["rule"], task["period"]) for task in _rows(url, config.parent, "task")}
    log = config.parent / "daemon.log"
    text_of_log = daemon_until(planned, "--as-of", "2024-12-31 10:00", marker="sweep at 2024-12-31", log=log)
    assert "sweep at 2024-12-31" in text_of_log
    after = {task["id"]: (task["rule"], task["period"]) for task in _rows(url, config.parent, "task")}
    assert after == before
    assert "not re-planned for 2024-12-31" in text_of_log


@pytest.mark.parametrize("command", ["remind", "daemon"])
def test_a_real_sweep_at_a_future_instant_is_refused_before_anything_is_sent(
    planned: tuple[Path, str], command: str
) -> None:
    """Sent early, the future's reminders would use up their steps: nothing would be sent when the day comes."""
    config, url = planned
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "sent.txt"\n')
    before = _rows(url, config.parent, "task")

    result = run(planned, command, "--as-of", "2199-12-02 10:00")

    assert result.exit_code == 1, result.output
    assert "晚于现在" in result.stderr and "--dry-run" in result.stderr
    assert _rows(url, config.parent, "task") == before
    for table in ("sweep", "reminder", "outbox_message"):
        assert _rows(url, config.parent, table) == [], table
    assert not (config.parent / "sent.txt").exists()
    preview = run(planned, "remind", "--dry-run", "--as-of", "2199-12-02 10:00")
    assert preview.exit_code == 0, preview.stderr


def test_due_on_a_current_plan_reads_the_tables_as_planning_first_would(planned: tuple[Path, str]) -> None:
    """On a current plan `due` reads the Core tables through a bare connection (no ORM, no planner); it lists
    exactly what the planning path lists once the registry version says the plan is stale."""
    config, url = planned
    engine = db.make_engine(db.resolve_url(url, config.parent))
    horizon = planstate.default_horizon(dt.date(2026, 11, 21))
    with engine.connect() as connection:
        assert planstate.is_current(connection, dt.date(2026, 11, 21), horizon)
    args = ("due", "--as-of", "2026-11-21", "--all", "--format", "json")
    fast = run(planned, *args)
    assert fast.exit_code == 0, fast.stderr
    narrowed = run(planned, *args, "--org", "jg.b2")
    assert {row["org"] for row in json.loads(narrowed.stdout)} == {"jg.b2"}
    with engine.begin() as connection:
        connection.execute(text("UPDATE plan_state SET registry_version = registry_version + 1"))
        assert not planstate.is_current(connection, dt.date(2026, 11, 21), horizon)
    engine.dispose()
    planned_first = run(planned, *args)
    assert planned_first.exit_code == 0, planned_first.stderr
    rows = json.loads(fast.stdout)
    assert rows == json.loads(planned_first.stdout)
    assert {row["org"] for row in rows} >= {"jg.b1", "jg.b2"} and any(row["subject"] == "p1" for row in rows)
