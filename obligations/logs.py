"""Where the log goes: the one set-up, for the long-running commands (`daemon`, `serve`).

The log is English and goes to standard error. Under systemd with standard error connected to the journal —
`$JOURNAL_STREAM` names the device and inode of that stream (systemd.exec(5)) — each line starts with its
syslog priority as sd-daemon(3) reads it (`<3>` error, `<4>` warning, `<6>` info, `<7>` debug) and carries
no time, since the journal stamps each entry; `journalctl -p warning` then filters. Anywhere else (a
terminal, a file, a pipe, a service whose output is redirected) each line starts with its time and level.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import TextIO

PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JOURNAL = "%(name)s: %(message)s"


def syslog_priority(level: int) -> int:
    """The syslog priority of a logging level: 2 crit, 3 err, 4 warning, 6 info, 7 debug."""
    for floor, priority in (
        (logging.CRITICAL, 2),
        (logging.ERROR, 3),
        (logging.WARNING, 4),
        (logging.INFO, 6),
    ):
        if level >= floor:
            return priority
    return 7


class JournalFormatter(logging.Formatter):
    """Every line of a record (a traceback's too) with the record's priority: journald reads each line of a
    stream as an entry of its own."""

    def __init__(self) -> None:
        super().__init__(JOURNAL)

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def to_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is the journal's: its device and inode are those `$JOURNAL_STREAM` names."""
    device, colon, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (colon and device.isdigit() and inode.isdigit()):
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):  # no file descriptor (io.UnsupportedOperation is an OSError), or closed
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


class _Handler(logging.StreamHandler[TextIO]):
    """Ours, so that a second set-up in the same process replaces it instead of doubling every line."""


def setup(
    verbose: bool = False, *, stream: TextIO | None = None, environ: Mapping[str, str] = os.environ
) -> None:
    """Log to `stream` (standard error) at INFO, or DEBUG when `verbose`, in the journal's form or the plain one."""
    stream = stream if stream is not None else sys.stderr
    handler = _Handler(stream)
    handler.setFormatter(JournalFormatter() if to_journal(stream, environ) else logging.Formatter(PLAIN))
    root = logging.getLogger()
    for old in [existing for existing in root.handlers if isinstance(existing, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
