"""Fixtures for command-line tests: a registry file and a database on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from obligations.cli import cli

REGISTRY = textwrap.dedent(
    """
    [[org]]
    code = "jg"
    name = "机关党委"
    kind = "committee"
    profile = "national"
    elected_on = 2022-03-10

    [[org]]
    code = "jg.b1"
    name = "第一党支部"
    kind = "branch"
    parent = "jg"
    elected_on = 2023-11-20

    [[org]]
    code = "jg.b1.g1"
    name = "第一党小组"
    kind = "group"
    parent = "jg.b1"

    [[org]]
    code = "jg.b2"
    name = "第二党支部"
    kind = "branch"
    parent = "jg"
    profile = "wujin-2016"
    elected_on = 2024-04-01
    """
)


def _members() -> str:
    rows = []
    for org, count in (("jg", 1), ("jg.b1", 7), ("jg.b1.g1", 2), ("jg.b2", 5)):
        for index in range(1, count + 1):
            member_id = f"{org.replace('.', '')}m{index}"
            rows.append(
                f'[[member]]\nid = "{member_id}"\nname = "党员{member_id}"\norg = "{org}"\nstatus = "full"\n'
                f"joined_on = 2012-07-01\n"
            )
    return "\n".join(rows)


POSITIONS = textwrap.dedent(
    """
    [[position]]
    org = "jg"
    role = "secretary"
    member = "jgm1"
    since = 2022-03-10

    [[position]]
    org = "jg.b1"
    role = "secretary"
    member = "jgb1m1"
    since = 2023-11-20

    [[position]]
    org = "jg.b1"
    role = "deputy_secretary"
    vacant_since = 2026-06-01

    [[position]]
    org = "jg.b1.g1"
    role = "group_leader"
    member = "jgb1g1m1"
    since = 2023-12-01
    """
)


def email_config(path: Path, port: int) -> Path:
    """A config.toml at `path` that sends reminders by email to the SMTP server on 127.0.0.1:`port`."""
    path.write_text(
        textwrap.dedent(
            f"""
            [reminders]
            channels = ["email"]
            [notifiers.email]
            host = "127.0.0.1"
            port = {port}
            security = "none"
            """
        ),
        encoding="utf-8",
    )
    return path


@pytest.fixture
def workspace(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    config = tmp_path / "config.toml"
    (tmp_path / "registry.toml").write_text(REGISTRY + _members() + POSITIONS, encoding="utf-8")
    return config, database_url


def run(workspace: tuple[Path, str], *args: str) -> Result:
    config, url = workspace
    return CliRunner().invoke(cli, ["--config", str(config), "--db", url, *args], catch_exceptions=False)


@pytest.fixture
def imported(workspace: tuple[Path, str]) -> tuple[Path, str]:
    assert run(workspace, "init").exit_code == 0
    # An organization with its records since 2025: tracked from then (跟踪起始), so last period is owed.
    registry = str(workspace[0].parent / "registry.toml")
    result = run(workspace, "import", registry, "--as-of", "2026-11-21", "--track-from", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    assert "组织：新增 4" in result.stdout
    return workspace


OBLIGATIONS = [sys.executable, "-c", "from obligations.cli import main; main()"]


def daemon_until(
    workspace: tuple[Path, str], *args: str, marker: str, log: Path, env: Mapping[str, str] | None = None
) -> str:
    """Run `obligations daemon ARGS` as a real process, its standard error written to `log`, until `marker`
    shows there (at most 60 s); stop it with SIGTERM and return its log, having checked that it exited 0."""
    config, url = workspace
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*OBLIGATIONS, "--config", str(config), "--db", url, "daemon", *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=dict(os.environ if env is None else env),
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and marker not in log.read_text("utf-8"):
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=30)
    text = log.read_text("utf-8")
    assert code == 0, text
    return text
