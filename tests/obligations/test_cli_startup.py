"""Start-up: a command imports what it uses. Checked on real processes by the modules they loaded (the times are
benchmarks/bench_cli.py's)."""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import click
import pytest

from obligations import db
from obligations.cli import cli, messages
from obligations.cli.commands import COMMANDS

# Runs the command line as `obligations` does, then writes the modules it loaded to standard error's last line.
_PROGRAM = """
import json, sys
from obligations.cli import cli
try:
    cli(sys.argv[1:], prog_name="obligations")
except SystemExit as exit:
    code = exit.code
else:
    code = 0
sys.stderr.write("\\n" + json.dumps({"exit": code, "modules": sorted(sys.modules)}) + "\\n")
"""

_DATABASE = ("sqlalchemy", "sqlmodel", "alembic")
_SENDING_AND_OFFICE = ("alembic", "httpx", "aiosmtplib", "jinja2", "openpyxl", "docx", "holidays")


def _obligations(*args: str, cwd: Path, preload: Iterable[str] = ()) -> tuple[int, str, set[str]]:
    """Run the command line with ARGS, after importing the modules `preload` names."""
    env = dict(os.environ, COLUMNS="80")
    env.pop("OBLIGATIONS_CONFIG", None)
    env.pop("OBLIGATIONS_DATABASE_URL", None)
    imports = "".join(f"import {module}\n" for module in preload)
    done = subprocess.run(
        [sys.executable, "-c", imports + _PROGRAM, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["exit"], done.stdout, set(report["modules"])


def _loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in packages)


def test_help_lists_every_command_without_importing_them_or_the_database(tmp_path: Path) -> None:
    code, out, modules = _obligations("--help", cwd=tmp_path)
    assert code == 0
    listed = out.split(f"{messages.translate('Commands')}:", 1)[1]
    for name, entry in COMMANDS.items():
        assert f"  {name} " in listed and entry.short_help in listed
    assert _loaded(modules, (*_DATABASE, *_SENDING_AND_OFFICE, "notifiers")) == []
    assert {name for name in modules if name.startswith("obligations.")} <= {
        "obligations.cli", "obligations.cli.app", "obligations.cli.commands", "obligations.cli.messages",
        "obligations.errors",
    }  # fmt: skip


def test_a_subcommand_group_loads_its_own_module_only(tmp_path: Path) -> None:
    code, out, modules = _obligations("org", "--help", cwd=tmp_path)
    assert code == 0
    assert "list" in out and "show" in out and "obligations org list" in out
    assert COMMANDS["org"].module in modules
    assert COMMANDS["due"].module not in modules and COMMANDS["serve"].module not in modules


def test_due_on_a_current_plan_reads_the_tables_without_the_orm(tmp_path: Path) -> None:
    code, _, _ = _obligations("init", "--demo", "--as-of", "2026-11-20", cwd=tmp_path)
    assert code == 0
    code, out, modules = _obligations("due", "--as-of", "2026-11-20", cwd=tmp_path)
    assert code == 0
    assert "截至 2026-11-20：共 16 项" in out
    assert "obligations.tables" in modules and "sqlalchemy.dialects.sqlite" in modules  # it read the database
    assert _loaded(modules, _SENDING_AND_OFFICE) == []
    assert _loaded(modules, ("sqlmodel", "pydantic")) == []
    orm = {"sqlalchemy.orm", "obligations.models", "obligations.planner"}
    assert orm.isdisjoint(modules)


def test_due_on_a_stale_plan_plans_first_and_lists_the_same(tmp_path: Path) -> None:
    code, _, _ = _obligations("init", "--demo", "--as-of", "2026-11-20", cwd=tmp_path)
    assert code == 0
    code, current, modules = _obligations(
        "due", "--as-of", "2026-11-20", "--all", "--format", "json", cwd=tmp_path
    )
    assert code == 0 and "obligations.planner" not in modules
    with sqlite3.connect(tmp_path / "obligations.db") as connection:
        connection.execute(
            "UPDATE plan_state SET registry_version = registry_version + 1"
        )  # as an import does
    code, replanned, modules = _obligations(
        "due", "--as-of", "2026-11-20", "--all", "--format", "json", cwd=tmp_path
    )
    assert code == 0 and "obligations.planner" in modules
    assert json.loads(replanned) == json.loads(current) and len(json.loads(current)) > 100


def test_an_unknown_command_is_suggested_among_commands_not_yet_loaded(tmp_path: Path) -> None:
    env = dict(os.environ)
    done = subprocess.run(
        [sys.executable, "-c", "from obligations.cli import main; main()", "ledgr"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and done.stdout == ""
    assert "ledger" in done.stderr


def test_the_command_table_is_what_the_modules_register() -> None:
    for module in {entry.module for entry in COMMANDS.values()}:
        importlib.import_module(module)
    assert set(cli.commands) == set(COMMANDS)
    for name, command in cli.commands.items():
        assert command.callback is not None
        assert command.callback.__module__ == COMMANDS[name].module, name
        # the group gives each command its listed line; a module that set its own would drift from the table
        assert command.short_help == COMMANDS[name].short_help, name


def test_help_is_the_same_whether_the_commands_are_loaded_or_not(tmp_path: Path) -> None:
    _, lazily, _ = _obligations("--help", cwd=tmp_path)
    _, eagerly, modules = _obligations(
        "--help", cwd=tmp_path, preload=sorted({entry.module for entry in COMMANDS.values()})
    )
    assert {entry.module for entry in COMMANDS.values()} <= modules
    assert lazily == eagerly


def test_shell_completion_offers_commands_with_their_line() -> None:
    context = click.Context(cli)
    offered = {item.value: item.help for item in cli.shell_complete(context, "re")}
    assert {"record", "remind", "report", "request"} <= set(offered)
    assert offered["report"] == COMMANDS["report"].short_help


def test_the_schema_revisions_read_from_file_names_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(db.alembic_config(None))
    chain = [(script.revision, script.down_revision) for script in reversed(list(scripts.walk_revisions()))]
    assert tuple(revision for revision, _ in chain) == db.revisions()
    # one line, each revising the one before
    assert [down for _, down in chain] == [None, *db.revisions()[:-1]]
    assert scripts.get_current_head() == db.head_revision()


@pytest.mark.parametrize("stored", ["0001", "9999"])
def test_the_schema_check_reads_the_stored_revision_as_alembic_does(tmp_path: Path, stored: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import text

    engine = db.make_engine(f"sqlite:///{tmp_path / 'o.db'}", create=True)
    with engine.begin() as connection:
        assert db.current_revision(connection) is None
        connection.execute(
            text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        )
        assert db.current_revision(connection) is None
        connection.execute(text("INSERT INTO alembic_version VALUES (:stored)"), {"stored": stored})
        assert (
            db.current_revision(connection) == MigrationContext.configure(connection).get_current_revision()
        )
    engine.dispose()
