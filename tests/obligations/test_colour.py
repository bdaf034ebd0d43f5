"""Colour only on a terminal and never with NO_COLOR (https://no-color.org): `obligations due` run as a real
process on a pseudo-terminal, and piped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.obligations.conftest import OBLIGATIONS, run

ESCAPE = "\x1b["


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: colour does not depend on the backend."""
    return f"sqlite:///{tmp_path / 'obligations.db'}"


def _environ(**changes: str | None) -> dict[str, str]:
    environ = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR")}
    environ.update({key: value for key, value in changes.items() if value is not None})
    return environ


def _due(imported: tuple[Path, str], environ: dict[str, str], *, terminal: bool) -> str:
    config, url = imported
    command = [*OBLIGATIONS, "--config", str(config), "--db", url, "due", "--as-of", "2026-11-23"]
    if not terminal:
        piped = subprocess.run(command, capture_output=True, env=environ, timeout=60, check=True)
        return piped.stdout.decode("utf-8")
    leader, follower = os.openpty()
    try:
        process = subprocess.Popen(command, stdout=follower, stderr=subprocess.PIPE, env=environ)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    return b"".join(chunks).decode("utf-8")


@pytest.mark.parametrize("no_color", [None, ""])
def test_due_colours_overdue_rows_on_a_terminal(imported: tuple[Path, str], no_color: str | None) -> None:
    shown = _due(imported, _environ(NO_COLOR=no_color), terminal=True)  # an empty NO_COLOR does not count
    assert "逾期" in shown and ESCAPE + "31m" in shown


@pytest.mark.parametrize("no_color", ["1", "0", "false"])
def test_no_color_set_to_anything_turns_colour_off_on_a_terminal(
    imported: tuple[Path, str], no_color: str
) -> None:
    shown = _due(imported, _environ(NO_COLOR=no_color), terminal=True)
    assert "逾期" in shown and ESCAPE not in shown


def test_piped_output_is_never_coloured(imported: tuple[Path, str]) -> None:
    shown = _due(imported, _environ(), terminal=False)
    assert "逾期" in shown and ESCAPE not in shown
    assert run(imported, "due", "--as-of", "2026-11-23").stdout.count("\n") == shown.count("\n")
