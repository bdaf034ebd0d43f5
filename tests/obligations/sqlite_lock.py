"""A real write lock on a SQLite file, held by another process."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def write_lock_held(path: Path) -> Iterator[None]:
    """Another process holds SQLite's write lock on `path` (BEGIN IMMEDIATE) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sqlite3, time
                connection = sqlite3.connect({str(path)!r}, isolation_level=None)
                connection.execute("BEGIN IMMEDIATE")
                print("locked", flush=True)
                time.sleep(120)
                """
            ),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
        yield
    finally:
        holder.kill()
        holder.wait()
