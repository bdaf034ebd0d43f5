"""Exit statuses a script can tell apart, and nothing on standard output from a command that fails before its
first row: real processes, on both backends."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from obligations.cli.app import BROKEN_PIPE
from tests.obligations.conftest import OBLIGATIONS
from tests.obligations.terminal import environ, piped

USAGE_ERROR = 2  # click's: the command line cannot be used
NOT_FOUND = 8  # an unknown name or number
AS_OF = ("--as-of", "2026-11-23")


def test_a_usage_error_and_an_unknown_name_exit_with_different_statuses(imported: tuple[Path, str]) -> None:
    usage = piped(imported, "due", "--within", "x")
    unknown = piped(imported, "due", "--org", "nope")

    assert usage.returncode == USAGE_ERROR
    assert unknown.returncode == NOT_FOUND
    assert unknown.stderr.decode() == "错误：没有组织 'nope'。\n"


@pytest.mark.parametrize(
    "args",
    [
        ("due", "--format", "json", "--org", "nope", *AS_OF),
        ("due", "--format", "csv", "--org", "nope", *AS_OF),
        ("due", "--format", "json", "--rule", "nope", *AS_OF),
        ("due", "--org", "nope", *AS_OF),
        ("calendar", "--org", "nope", *AS_OF),
        ("calendar", "--member", "nope", *AS_OF),
        ("report", "--org", "nope", "--format", "csv", *AS_OF),
        ("report", "--org", "nope", "--format", "json", *AS_OF),
        ("ledger", "--org", "nope", *AS_OF),
        ("org", "show", "nope"),
        ("outbox", "--retry", "99999"),
        ("rules", "list", "--profile", "nope", "--format", "csv"),
    ],
    ids=" ".join,
)
def test_a_command_that_fails_before_its_first_row_writes_nothing_on_standard_output(
    imported: tuple[Path, str], args: tuple[str, ...]
) -> None:
    result = piped(imported, *args)

    assert result.returncode == NOT_FOUND, result.stderr.decode()
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("错误："), lines
    assert "nope" in lines[0] or "99999" in lines[0]


@pytest.mark.parametrize(
    "args", [("due", *AS_OF), ("due", "--format", "json", *AS_OF), ("org", "list")], ids=" ".join
)
def test_a_reader_that_went_away_stops_the_command_quietly(
    imported: tuple[Path, str], args: tuple[str, ...]
) -> None:
    """`obligations due | head`: the pipe's reading end is closed before the command writes its first byte, so
    the write fails (EPIPE). The command stops with a shell's SIGPIPE status and says nothing."""
    config, url = imported
    reader, writer = os.pipe()
    os.close(reader)
    try:
        done = subprocess.run(
            [*OBLIGATIONS, "--config", str(config), "--db", url, *args],
            stdout=writer,
            stderr=subprocess.PIPE,
            env=environ(),
            timeout=120,
            check=False,
        )
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (BROKEN_PIPE, b"")
