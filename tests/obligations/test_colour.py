"""Colour only on a terminal and never with NO_COLOR (https://no-color.org): `obligations due` run as a real
process on a pseudo-terminal, and piped."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.obligations.conftest import OBLIGATIONS, run
from tests.obligations.terminal import environ, run_on_terminal

ESCAPE = "\x1b["


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: colour does not depend on the backend."""
    return f"sqlite:///{tmp_path / 'obligations.db'}"


def _due(imported: tuple[Path, str], env: dict[str, str], *, terminal: bool) -> str:
    config, url = imported
    command = [*OBLIGATIONS, "--config", str(config), "--db", url, "due", "--as-of", "2026-11-23"]
    if not terminal:
        piped = subprocess.run(command, capture_output=True, env=env, timeout=60, check=True)
        return piped.stdout.decode("utf-8")
    shown = run_on_terminal(command, columns=400, env=env)
    assert shown.status == 0
    return shown.text


@pytest.mark.parametrize("no_color", [None, ""])
def test_due_colours_overdue_rows_on_a_terminal(imported: tuple[Path, str], no_color: str | None) -> None:
    shown = _due(imported, environ(NO_COLOR=no_color), terminal=True)  # an empty NO_COLOR does not count
    assert "逾期" in shown and ESCAPE + "31m" in shown


@pytest.mark.parametrize("no_color", ["1", "0", "false"])
def test_no_color_set_to_anything_turns_colour_off_on_a_terminal(
    imported: tuple[Path, str], no_color: str
) -> None:
    shown = _due(imported, environ(NO_COLOR=no_color), terminal=True)
    assert "逾期" in shown and ESCAPE not in shown


def test_piped_output_is_never_coloured(imported: tuple[Path, str]) -> None:
    shown = _due(imported, environ(), terminal=False)
    assert "逾期" in shown and ESCAPE not in shown
    assert run(imported, "due", "--as-of", "2026-11-23").stdout.count("\n") == shown.count("\n")
