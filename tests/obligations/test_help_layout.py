"""`obligations … --help` on an 80-column terminal, as a person reads it: every line fits, no word is cut where
click wraps the help, and the values a command takes are named in Chinese in its usage line and option list.
Real processes on a pseudo-terminal 80 columns wide (and COLUMNS=80, which click reads first)."""

from __future__ import annotations

import functools
import re

import click
import pytest

from obligations.cli import cli
from obligations.cli.commands import COMMANDS
from tests.obligations.conftest import OBLIGATIONS
from tests.obligations.terminal import ASCII_RUN, ESCAPE, environ, run_on_terminal, width


def _paths() -> list[tuple[str, ...]]:
    """The program, every command of the table, and every subcommand of those that are groups."""
    paths: list[tuple[str, ...]] = [()]
    context = click.Context(cli, info_name="obligations")
    for name in COMMANDS:
        paths.append((name,))
        command = cli.get_command(context, name)
        if isinstance(command, click.Group):
            paths.extend((name, sub) for sub in command.list_commands(context))
    return paths


PATHS = _paths()
ENGLISH_METAVAR = re.compile(r"(?<![\w-])[A-Z][A-Z0-9_]+\b")  # FILE, TASK_ID, INTEGER


@functools.cache
def _help(path: tuple[str, ...]) -> list[str]:
    shown = run_on_terminal([*OBLIGATIONS, *path, "--help"], columns=80, env=environ(COLUMNS="80"))
    assert shown.status == 0, shown.text
    return [ESCAPE.sub("", line) for line in shown.lines]


def _whole_help(path: tuple[str, ...]) -> str:
    """The same help laid out without a width limit, by click in this process: no line is wrapped."""
    wide = {"terminal_width": 1000, "max_content_width": 1000, "resilient_parsing": True}
    context = cli.make_context("obligations", [], **wide)
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(context, name)
        assert found is not None
        command = found
        context = command.make_context(name, [], parent=context, **wide)
    return command.get_help(context)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "obligations")
def test_help_fits_80_columns_without_cutting_a_word(path: tuple[str, ...]) -> None:
    lines = _help(path)

    assert max(width(line) for line in lines) <= 80, "\n".join(line for line in lines if width(line) > 80)
    # the words come in the same order as in the help laid out on one line per paragraph: none was cut in two
    assert ASCII_RUN.findall("\n".join(lines)) == ASCII_RUN.findall(_whole_help(path))


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "obligations")
def test_help_names_the_values_in_chinese(path: tuple[str, ...]) -> None:
    lines = _help(path)

    usage = lines[: lines.index("")]  # 用法: obligations done [选项] 任务编号, however many lines it takes
    assert usage[0].startswith("用法:") and not ENGLISH_METAVAR.findall(" ".join(usage)), usage
    options = lines[lines.index("选项:") + 1 :]
    names = [row.split("  ")[0] for row in (line.strip() for line in options) if row.startswith("-")]
    assert names and not [name for name in names if ENGLISH_METAVAR.search(name)], names
