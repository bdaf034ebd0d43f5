"""What a person reads (issue 10 §6): Chinese labels, defined once — confirmations that name the duty and its
period, the ladder's step names in messages and in `rules show`, 免办 for an exemption, the member named in a
duty about one member. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import re
import textwrap
from pathlib import Path

from click.testing import CliRunner

from calendars.instants import PARTY_TIME
from calendars.model import STEP_LABELS
from obligations import reminders
from obligations.cli import cli
from obligations.cli.app import App
from obligations.cli.remind import settings as reminder_settings
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2026-11-21")


def test_a_record_is_confirmed_by_the_duty_and_its_period_in_chinese(imported: tuple[Path, str]) -> None:
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "general-meeting", "--on", "2026-11-20",
        "--attendees", "9", *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "支部党员大会（2026年第四季度）已完成" in result.stdout
    assert "general-meeting" not in result.stdout and "2026-Q4" not in result.stdout


def test_a_monthly_record_and_its_undo_name_the_month(imported: tuple[Path, str]) -> None:
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-11-20",
        "--attendee", "jgb1m1", *AS_OF,
    )  # fmt: skip
    assert "支部委员会会议（支委会）（2026年11月）已完成" in result.stdout, result.stdout
    completion = re.search(r"已登记台账记录 (\d+)", result.stdout)
    assert completion
    undone = run(imported, "undo", completion.group(1), "--reason", "日期登记错误")
    assert "支部委员会会议（支委会）（2026年11月）现为未完成" in undone.stdout, undone.stdout


def test_an_exemption_reads_免办(imported: tuple[Path, str]) -> None:
    result = run(
        imported, "due", *AS_OF, "--all", "--org", "jg.b1", "--rule", "theme-party-day", "--format", "json"
    )
    task_id = next(row["task_id"] for row in json.loads(result.stdout) if row["period"] == "2026-12")
    waived = run(imported, "waive", str(task_id), "--exempt", "--reason", "支部合并")
    assert waived.exit_code == 0, waived.stderr
    assert "主题党日（2026年12月）免办" in waived.stdout
    table = run(imported, "due", *AS_OF, "--all", "--org", "jg.b1", "--rule", "theme-party-day")
    (line,) = [line for line in table.stdout.splitlines() if line.rstrip().endswith(str(task_id))]
    assert "免办" in line and "缓办" not in table.stdout
    assert "2026年12月" in line  # the period column reads in Chinese too


def test_rules_show_names_the_steps_as_the_messages_do(imported: tuple[Path, str]) -> None:
    result = run(imported, "rules", "show", "general-meeting")
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("提醒")]
    for step in ("early", "upcoming", "final", "overdue", "escalated"):
        assert STEP_LABELS[step] in line
    assert not re.search(r"[a-z]+（", line)  # no English step name before its offset


HAIMEN = textwrap.dedent(
    """
    [[org]]
    code = "hm"
    name = "海门某局机关党支部"
    kind = "branch"
    profile = "haimen-2019"
    elected_on = 2025-03-01

    [[member]]
    id = "s1"
    name = "周书记"
    org = "hm"
    status = "full"
    joined_on = 2001-05-10
    email = "s1@example.org"

    [[member]]
    id = "w1"
    name = "王小五"
    org = "hm"
    status = "full"
    joined_on = 2015-12-01

    [[member]]
    id = "w2"
    name = "李小六"
    org = "hm"
    status = "full"
    joined_on = 2016-12-03

    [[position]]
    org = "hm"
    role = "secretary"
    member = "s1"
    since = 2025-03-01
    """
)


def test_a_political_birthday_reminder_names_the_member(tmp_path: Path, database_url: str) -> None:
    """000 四(一): 党员过“政治生日” — the secretary is told whose."""
    config = tmp_path / "config.toml"
    config.write_text('[reminders]\nchannels = ["email"]\n', encoding="utf-8")
    registry = tmp_path / "haimen.toml"
    registry.write_text(HAIMEN, encoding="utf-8")
    base = ["--config", str(config), "--db", database_url]
    assert CliRunner().invoke(cli, [*base, "init"]).exit_code == 0
    imported = CliRunner().invoke(cli, [*base, "import", str(registry), "--as-of", "2026-11-20"])
    assert imported.exit_code == 0, imported.output
    app = App(config_path=config, db_url=database_url)
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=PARTY_TIME)  # a week before 1 December
    with app.session() as session:
        app.keep_planned(session, now.date())
        result = reminders.plan_messages(session, app.profiles, now, reminder_settings(app), preview=True)
        session.rollback()
    (digest,) = [message for message in result.planned if message.recipient == "s1"]
    assert "党员政治生日·王小五（2026年）" in digest.text
    assert "党员政治生日（" not in digest.text  # every such item names its member
