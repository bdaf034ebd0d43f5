"""One activity, one record: two processes recording the same activity at the same moment count it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from obligations import db
from tests.obligations.conftest import run

ROOT = Path(__file__).resolve().parents[2]
AS_OF = ("--as-of", "2026-11-21")


def _start(workspace: tuple[Path, str], *args: str) -> subprocess.Popen[str]:
    config, url = workspace
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-c",
        "from obligations.cli import main; main()",
        "--config",
        str(config),
        "--db",
        url,
        *args,
    ]
    return subprocess.Popen(
        command, env=env, cwd=config.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _waiting_for_completion(connection: object, dialect: str) -> int:
    if dialect != "postgresql":
        return -1
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'completion'::regclass"
    return int(connection.execute(text(query)).scalar_one())  # type: ignore[attr-defined]


def test_two_processes_recording_the_same_activity_at_once_count_it_once(imported: tuple[Path, str]) -> None:
    config, url = imported
    due = json.loads(run(imported, "due", *AS_OF, "--all", "--org", "jg.b1", "--format", "json").stdout)
    (task,) = [r for r in due if r["rule"] == "theme-party-day" and r["period"] == "2026-11"]
    args = ("done", str(task["task_id"]), "--on", "2026-11-18", "--topic", "重温入党誓词",
            "--attendee", "jgb1m1", "--attendee", "jgb1m3", "--hours", "4", *AS_OF)  # fmt: skip
    engine = db.make_engine(db.resolve_url(url, config.parent))
    dialect = engine.dialect.name
    # The gate: a transaction that holds the write lock (SQLite) or the completion table (PostgreSQL), so
    # that both processes make their duplicate check before either can insert; then both go at once.
    with engine.connect() as gate:
        if dialect == "sqlite":
            gate.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            gate.execute(text("LOCK TABLE completion IN EXCLUSIVE MODE"))
        processes = [_start(imported, *args), _start(imported, *args)]
        deadline = time.monotonic() + 60
        if dialect == "postgresql":
            while _waiting_for_completion(gate, dialect) < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert _waiting_for_completion(gate, dialect) == 2
        else:
            time.sleep(8)  # both past their check and waiting on the write lock (busy timeout is 30 s)
        gate.rollback()
    outcomes = [process.communicate(timeout=120) for process in processes]
    codes = [process.returncode for process in processes]
    assert codes == [0, 0], outcomes
    recorded = [out for out, _ in outcomes if out.startswith("已登记台账记录")]
    refused = [out for out, _ in outcomes if "已登记过" in out and "未重复计数" in out]
    assert (len(recorded), len(refused)) == (1, 1), outcomes
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM completion")).scalar_one() == 1
        counts = dict(
            connection.execute(
                text(
                    "SELECT subject, done_count FROM task WHERE id = :id OR (rule = 'study-hours' AND period = '2026' AND subject IN ('jgb1m1', 'jgb1m3'))"
                ),
                {"id": task["task_id"]},
            ).all()
        )
    engine.dispose()
    assert counts == {"jg.b1": 1, "jgb1m1": 4, "jgb1m3": 4}


def test_upgrading_withdraws_duplicates_recorded_before_the_constraint(imported: tuple[Path, str]) -> None:
    from alembic import command

    config, url = imported
    args = ("record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
            "--attendee", "jgb1m1", "--hours", "4", *AS_OF)  # fmt: skip
    assert run(imported, *args).exit_code == 0
    engine = db.make_engine(db.resolve_url(url, config.parent))
    with engine.begin() as connection:
        command.downgrade(db.alembic_config(connection), "0004")
    with engine.begin() as connection:  # what two racing records left behind before revision 0005
        columns = (
            "org, held_on, place, form, host, topic, note, hours, attendee_count, fingerprint, recorded_at"
        )
        connection.execute(text(f"INSERT INTO completion ({columns}) SELECT {columns} FROM completion"))
        connection.execute(
            text(
                "INSERT INTO completion_task (completion_id, task_id, amount) SELECT 2, task_id, amount"
                " FROM completion_task WHERE completion_id = 1"
            )
        )
        connection.execute(text("UPDATE task SET done_count = 2 * done_count WHERE done_count > 0"))
    result = run(imported, "init")
    assert result.exit_code == 0, result.stderr
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, undone_at IS NULL, undo_reason FROM completion ORDER BY id")
        )
        (first, second) = rows.all()
        counts = set(
            connection.execute(text("SELECT done_count, status FROM task WHERE done_count > 0")).all()
        )
    engine.dispose()
    assert first[1] and not second[1] and "重复登记" in second[2]
    assert counts == {(1, "done"), (4, "open")}  # the 主题党日 once, jgb1m1's 学时 once
