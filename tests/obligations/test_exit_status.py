"""Exit statuses a script can tell apart, and nothing on standard output from a command that fails before its
first row: real processes, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.obligations.terminal import piped

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
