"""The `obligations` command line."""

from __future__ import annotations

from obligations.cli import due, ledger, members, registry, remind, report, requests, rules, views, web  # noqa: F401  (each module registers its commands)
from obligations.cli.app import cli

__all__ = ["cli", "main"]


def main() -> None:
    cli(prog_name="obligations")
