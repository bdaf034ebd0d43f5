"""`obligations` run as a real process on a pseudo-terminal of a given width, or piped: what a person sees.

On the terminal, standard input, output and error are all the terminal (the process sees a TTY everywhere,
as in a shell), so the text returned is both streams as they were shown, with the terminal's CRLF line ends
turned back into LF.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from calendars.text import display_width
from tests.obligations.conftest import OBLIGATIONS

ROOT = Path(__file__).resolve().parents[2]
ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
# An ASCII word, option, identifier, number or URL: a line of prose or help never breaks inside one.
ASCII_RUN = re.compile(r"[!-~]+")


def environ(**changes: str | None) -> dict[str, str]:
    """The test's environment with the repository first on the path, without the variables that choose colour
    or width (COLUMNS would override the terminal's size), and with `changes` (None removes)."""
    base = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM")
    }
    base["PYTHONPATH"] = str(ROOT)
    base["TERM"] = "xterm-256color"
    for key, value in changes.items():
        if value is None:
            base.pop(key, None)
        else:
            base[key] = value
    return base


@dataclass(frozen=True)
class Shown:
    status: int
    text: str  # standard output and error as the terminal showed them

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()


def on_terminal(
    workspace: tuple[Path, str],
    *args: str,
    columns: int = 80,
    env: Mapping[str, str] | None = None,
    answer: tuple[str, str] | None = None,
    timeout: float = 120,
) -> Shown:
    """Run `obligations --config … --db … ARGS` on a terminal `columns` wide; `answer` is (prompt, reply):
    the reply is typed once the prompt has been shown."""
    config, url = workspace
    command = [*OBLIGATIONS, "--config", str(config), "--db", url, *args]
    return run_on_terminal(command, columns=columns, env=env, answer=answer, timeout=timeout)


def run_on_terminal(
    command: Sequence[str],
    *,
    columns: int = 80,
    env: Mapping[str, str] | None = None,
    answer: tuple[str, str] | None = None,
    timeout: float = 120,
) -> Shown:
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    process = subprocess.Popen(
        list(command),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=dict(env if env is not None else environ()),
        start_new_session=True,
    )
    os.close(follower)
    shown = b""
    pending = answer
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(
                    f"no end after {timeout} s; shown so far:\n{shown.decode(errors='replace')}"
                )
            ready, _, _ = select.select([leader], [], [], left)
            if not ready:
                continue
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: every holder of the terminal has closed it
                break
            if not chunk:
                break
            shown += chunk
            if pending is not None and pending[0].encode() in shown:
                os.write(leader, pending[1].encode())
                pending = None
        status = process.wait(timeout=timeout)
    finally:
        os.close(leader)
    return Shown(status, shown.decode("utf-8").replace("\r\n", "\n"))


def piped(
    workspace: tuple[Path, str], *args: str, env: Mapping[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[bytes]:
    """Run `obligations … ARGS` with its standard streams as pipes, as a script or cron would."""
    config, url = workspace
    return subprocess.run(
        [*OBLIGATIONS, "--config", str(config), "--db", url, *args],
        input=stdin.encode(),
        capture_output=True,
        env=dict(env if env is not None else environ()),
        timeout=120,
        check=False,
    )


def width(line: str) -> int:
    """Display columns of a line as a terminal shows it (colour codes take none)."""
    return display_width(ESCAPE.sub("", line))


def tables(text: str) -> list[list[list[str]]]:
    """Every table of render.table in `text`, as rows of cells (the header row first): the columns are found
    from the rule line under the header (runs of ─), in display columns."""
    lines = [ESCAPE.sub("", line) for line in text.splitlines()]
    found = []
    for index, line in enumerate(lines):
        if not line.startswith("─"):
            continue
        spans = [(match.start(), match.end()) for match in re.finditer("─+", line)]
        # ─ is one column wide, so the rule's character positions are display columns
        rows = [lines[index - 1]]
        for row in lines[index + 1 :]:
            if not row.strip():
                break
            rows.append(row)
        found.append([_cut_at(row, spans) for row in rows])
    return found


def _cut_at(line: str, spans: list[tuple[int, int]]) -> list[str]:
    cells = [""] * len(spans)
    position, current = 0, 0
    for char in line:
        while current < len(spans) - 1 and position >= spans[current + 1][0]:
            current += 1
        cells[current] += char
        position += display_width(char)
    return [cell.strip() for cell in cells]
