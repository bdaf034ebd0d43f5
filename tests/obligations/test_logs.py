"""The log under systemd and elsewhere: journald priorities (<3> <4> <6> <7>) and no time when standard error is
the journal's stream ($JOURNAL_STREAM names its device and inode), the time and level otherwise."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from obligations import logs
from tests.free_port import free_port
from tests.obligations.conftest import OBLIGATIONS, daemon_until, run

TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ")


def _stream_id(path: Path) -> str:
    status = path.stat()
    return f"{status.st_dev}:{status.st_ino}"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_every_line_carries_its_syslog_priority_on_the_journals_stream(
    tmp_path: Path, root_logger: logging.Logger
) -> None:
    path = tmp_path / "stderr"
    with path.open("w", encoding="utf-8") as stream:
        logs.setup(verbose=True, stream=stream, environ={"JOURNAL_STREAM": _stream_id(path)})
        log = logging.getLogger("obligations.test")
        log.critical("on fire")
        log.warning("slow")
        log.info("swept")
        log.debug("detail")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("sweep failed")
    lines = path.read_text("utf-8").splitlines()
    assert lines[:5] == [
        "<2>obligations.test: on fire",
        "<4>obligations.test: slow",
        "<6>obligations.test: swept",
        "<7>obligations.test: detail",
        "<3>obligations.test: sweep failed",
    ]
    # The traceback's lines are entries of their own in the journal: each has the error's priority.
    assert len(lines) > 6 and all(line.startswith("<3>") for line in lines[5:])
    assert lines[-1] == "<3>RuntimeError: boom"


@pytest.mark.parametrize("journal_stream", [None, "another", "1:2", "not-a-stream"])
def test_anywhere_else_lines_are_plain_with_time_and_level(
    tmp_path: Path, root_logger: logging.Logger, journal_stream: str | None
) -> None:
    path, other = tmp_path / "stderr", tmp_path / "journal"
    other.touch()
    environ = {} if journal_stream is None else {"JOURNAL_STREAM": journal_stream}
    if journal_stream == "another":  # the journal's stream is another file: our stderr was redirected
        environ["JOURNAL_STREAM"] = _stream_id(other)
    with path.open("w", encoding="utf-8") as stream:
        logs.setup(stream=stream, environ=environ)
        logging.getLogger("obligations.test").warning("slow")
        logging.getLogger("obligations.test").debug("not shown without --verbose")
    [line] = path.read_text("utf-8").splitlines()
    assert TIME.match(line) and line.endswith(" WARNING obligations.test: slow")


def test_a_second_setup_replaces_the_first_instead_of_doubling_lines(
    tmp_path: Path, root_logger: logging.Logger
) -> None:
    path = tmp_path / "stderr"
    with path.open("w", encoding="utf-8") as stream:
        logs.setup(stream=stream, environ={})
        logs.setup(stream=stream, environ={})
        logging.getLogger("obligations.test").info("once")
    assert len(path.read_text("utf-8").splitlines()) == 1


def _daemon_log(workspace: tuple[Path, str], journal: bool) -> str:
    """The standard error of a real `daemon -v` replaying a Monday evening (outside office hours), stopped with
    SIGTERM after its first sweep; with $JOURNAL_STREAM naming that file when `journal`."""
    config, _url = workspace
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "sent.txt"\n')
    log = config.parent / f"daemon-{journal}.log"
    log.touch()  # the daemon's stderr: the same inode once opened for it
    environ = {key: value for key, value in os.environ.items() if key != "JOURNAL_STREAM"}
    if journal:
        environ["JOURNAL_STREAM"] = _stream_id(log)
    return daemon_until(
        workspace, "-v", "--as-of", "2026-11-23T20:00+08:00", marker="sweep at", log=log, env=environ
    )


@pytest.fixture
def workspace(tmp_path: Path) -> tuple[Path, str]:
    """A SQLite workspace (what is logged does not depend on the backend)."""
    workspace = (tmp_path / "config.toml", f"sqlite:///{tmp_path / 'obligations.db'}")
    assert run(workspace, "init").exit_code == 0
    return workspace


def test_the_daemon_under_systemd_logs_priorities_without_time(workspace: tuple[Path, str]) -> None:
    lines = _daemon_log(workspace, journal=True).splitlines()
    assert lines and all(re.match(r"<[2-7]>", line) for line in lines), lines
    assert any(line.startswith("<6>obligations.daemon: daemon ") and " started" in line for line in lines)
    assert "<7>obligations.daemon: sweep at 2026-11-23T20:00" in "\n".join(lines)  # -v, outside office hours
    assert "<6>obligations.daemon: received SIGTERM" in "\n".join(lines)
    assert not any(TIME.match(line.removeprefix(line[:3])) for line in lines)


def test_the_daemon_elsewhere_logs_plain_lines_with_time(workspace: tuple[Path, str]) -> None:
    lines = _daemon_log(workspace, journal=False).splitlines()
    assert lines and all(TIME.match(line) for line in lines), lines
    assert not any(line.startswith("<") for line in lines)
    assert any(" DEBUG obligations.daemon: sweep at 2026-11-23T20:00" in line for line in lines)


def test_the_desk_under_systemd_logs_priorities_too(workspace: tuple[Path, str]) -> None:
    """`obligations serve` sets up the same log: uvicorn's lines and each request's reach the journal with
    their priorities."""
    config, url = workspace
    log = config.parent / "serve.log"
    log.touch()
    environ = {**os.environ, "JOURNAL_STREAM": _stream_id(log)}
    port = free_port()
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*OBLIGATIONS, "--config", str(config), "--db", url, "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=environ,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and "Uvicorn running" not in log.read_text("utf-8"):
                time.sleep(0.1)
            urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10).close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    lines = log.read_text("utf-8").splitlines()
    assert lines and all(re.match(r"<[2-7]>", line) for line in lines), lines
    assert any(line.startswith("<6>uvicorn.error: Uvicorn running on http://127.0.0.1:") for line in lines), (
        lines
    )
    assert any(line.startswith("<6>uvicorn.access: ") and "GET /login" in line for line in lines), lines
