"""The `obligations` command line."""

from __future__ import annotations

from obligations.cli.app import cli  # its commands are imported when used (obligations.cli.commands)

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="obligations")
