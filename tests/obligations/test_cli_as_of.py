"""--as-of: one parser for every command (dates, Beijing date-times, ISO 8601 with an offset), one error text
and exit status; `daemon --as-of` sweeps at once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from obligations import db
from obligations.cli.app import parse_as_of
from obligations.errors import UserError
from tests.obligations.conftest import OBLIGATIONS, run


@pytest.mark.parametrize(
    "text", ["2026-13-01", "yesterday", "2026-11-23 9am", "23.11.2026", "2026-11-23T25:00"]
)
def test_a_bad_as_of_is_one_chinese_error(text: str) -> None:
    with pytest.raises(UserError) as raised:
        parse_as_of(text)
    assert raised.value.exit_code == 1
    assert str(raised.value).startswith(f"无法识别的时间 {text!r}：应写作 2026-11-23")


@pytest.mark.parametrize("text", ["9999-12-31", "1900-01-01", "2201-01-01 09:00"])
def test_an_as_of_beyond_the_supported_years_is_refused(text: str) -> None:
    with pytest.raises(UserError, match="超出范围：年份应在 1921–2200 之间"):
        parse_as_of(text)


def test_date_commands_use_the_beijing_date_of_any_form(imported: tuple[Path, str]) -> None:
    forms = ["2026-11-24", "2026-11-24 18:00", "2026-11-24T08:00:00+08:00", "2026-11-23T20:00:00Z"]
    for command in (("due", "--format", "json"), ("report", "--format", "json")):
        outputs = {form: run(imported, *command, "--as-of", form) for form in forms}
        assert all(result.exit_code == 0 for result in outputs.values()), outputs
        assert len({result.stdout for result in outputs.values()}) == 1, command
    # 16:30Z on the 23rd is already the 24th in Beijing.
    late = run(imported, "report", "--format", "json", "--as-of", "2026-11-23T16:30:00Z")
    assert late.stdout == run(imported, "report", "--format", "json", "--as-of", "2026-11-24").stdout
    assert '"as_of": "2026-11-24"' in late.stdout


def test_remind_uses_the_instant_of_any_form(imported: tuple[Path, str]) -> None:
    base = run(imported, "remind", "--dry-run", "--as-of", "2026-11-23 10:00")
    assert base.exit_code == 0, base.stderr
    for form in (
        "2026-11-23T02:00:00Z",
        "2026-11-23T10:00:00+08:00",
        "2026-11-23T10:00+0800",
        "2026-11-23T10:00",
    ):
        assert run(imported, "remind", "--dry-run", "--as-of", form).stdout == base.stdout
    # A bare date is 09:00 that day: inside office hours, so no "next opening" line.
    assert "非办公时间" not in run(imported, "remind", "--dry-run", "--as-of", "2026-11-23").stdout
    assert "非办公时间" in run(imported, "remind", "--dry-run", "--as-of", "2026-11-23T00:00:00Z").stdout


def test_the_issues_remind_with_an_offset_is_accepted_and_waits_for_office_hours(
    imported: tuple[Path, str],
) -> None:
    """Issue 12 saw `remind --as-of 2026-10-03T10:00:00+08:00` refused: the offset form is accepted; that
    Saturday is in the National Day holiday, so the sweep sends nothing and names the next opening."""
    config, _url = imported
    config.write_text('[reminders]\nchannels = ["console"]\n[notifiers.console]\npath = "sent.txt"\n')
    for form in ("2026-10-03T10:00:00+08:00", "2026-10-03T02:00:00Z", "2026-10-03 10:00"):
        result = run(imported, "remind", "--as-of", form)
        assert result.exit_code == 0, result.output
        assert result.stdout == "非办公时间，提醒将于 2026-10-08 08:30 后发送\n"
    assert not (config.parent / "sent.txt").exists()


def test_a_real_sweep_in_the_future_names_the_present(imported: tuple[Path, str]) -> None:
    result = run(imported, "remind", "--as-of", "2199-10-03T10:00:00+08:00")
    assert result.exit_code == 1
    assert re.match(
        r"错误：--as-of 2199-10-03 10:00 晚于现在（\d{4}-\d\d-\d\d \d\d:\d\d，北京时间）", result.stderr
    )


@pytest.mark.parametrize(
    "command",
    [("due",), ("report",), ("plan",), ("calendar",), ("remind", "--dry-run"), ("remind",), ("daemon",)],
)
@pytest.mark.parametrize(("value", "text"), [("2026-11-31", "无法识别的时间"), ("9999-12-31", "超出范围")])
def test_every_command_refuses_a_bad_as_of_with_one_message_and_exit_1(
    imported: tuple[Path, str], command: tuple[str, ...], value: str, text: str
) -> None:
    result = run(imported, *command, "--as-of", value)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"错误：{'时间' if text == '超出范围' else text} {value!r}")
    assert "Traceback" not in result.output


def test_the_daemon_sweeps_at_once_from_its_as_of(imported: tuple[Path, str]) -> None:
    config, url = imported
    sent = config.parent / "sent.txt"
    # An hour between sweeps: only the sweep at start can deliver within the test.
    config.write_text(
        f'[reminders]\nchannels = ["console"]\nsweep_minutes = 60\n[notifiers.console]\npath = "{sent.name}"\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [*OBLIGATIONS, "--config", str(config), "--db", url, "daemon", "--as-of", "2026-11-23T01:00:00Z"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (sent.exists() and sent.stat().st_size > 0):
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    log = process.stderr.read().decode("utf-8") if process.stderr else ""
    assert code == 0, log
    assert "sweep at 2026-11-23T09:00" in log
    assert sent.exists() and sent.stat().st_size > 0, log
    # The sweep at start delivered the outbox it wrote: every row sent, as many as that sweep reports.
    [counts] = re.findall(r"sweep at 2026-11-23T09:00\S*: \d+ reminders, (\d+) messages, (\d+) sent", log)
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            states = [row[0] for row in connection.execute(text("SELECT state FROM outbox_message"))]
    finally:
        engine.dispose()
    assert int(counts[0]) == int(counts[1]) == len(states) > 0 and set(states) == {"sent"}, log


def test_date_options_take_a_date_or_the_beijing_date_of_any_date_time(imported: tuple[Path, str]) -> None:
    report = ("report", "--format", "json", "--as-of", "2026-11-24", "--from", "2026-01-01", "--to")
    base = run(imported, *report, "2026-11-23")
    assert base.exit_code == 0, base.stderr
    for form in ("2026-11-23 23:59", "2026-11-23T15:59:00Z", "2026-11-23T23:59+08:00"):
        assert run(imported, *report, form).stdout == base.stdout, form
    assert run(imported, *report, "2026-11-23T16:00:00Z").stdout != base.stdout  # the 24th in Beijing


@pytest.mark.parametrize(
    "command",
    [
        ("report", "--from", "2026-1-1", "--to", "2026-11-23"),
        ("done", "1", "--on", "2026-1-1"),
        ("file", "1", "--on", "2026-1-1"),
        ("waive", "1", "--reason", "机构改革", "--until", "2026-1-1"),
        ("import", "registry.toml", "--track-from", "2026-1-1"),
        ("rules", "preview", "--elected-on", "2026-1-1"),
    ],
)
def test_every_date_option_refuses_a_bad_date_with_one_chinese_message_and_exit_1(
    imported: tuple[Path, str], command: tuple[str, ...]
) -> None:
    config, _url = imported
    args = [str(config.parent / arg) if arg == "registry.toml" else arg for arg in command]
    result = run(imported, *args)
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "错误：无法识别的日期 '2026-1-1'：应写作 2026-11-23（也可写带时间的 2026-11-23T09:00:00+08:00，取北京时间的日期）。\n"
    )
