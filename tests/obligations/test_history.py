"""History is not rewritten (issue 10 §4), on SQLite and PostgreSQL.

- A change of profile applies from its date (`profile_since`, else the import's as-of): duties that fell due
  earlier stay owed under the previous profile, and the new profile never reaches back.
- A newly imported organization owes nothing before its tracking start (the period of each cadence containing
  `tracked_from`, `import --track-from`, else the import date), but its standing obligations — an expired term
  (《中国共产党基层组织选举工作条例》第三条), a seat vacant for more than 6 months (及时补选, DOMAIN.md), a
  probation already ended (《中国共产党发展党员工作细则》第三十条) — stay owed and overdue.
"""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine
from sqlmodel import Session, col, select

from obligations import ledger_office
from obligations.cli import cli
from obligations.models import Organization, ProfileHistory, Task


def _branch(profile: str, *, extra: str = "", elected_on: str = "2024-06-20") -> str:
    members = "\n".join(
        f'[[member]]\nid = "m{n}"\nname = "党员{n}"\norg = "b"\nstatus = "full"\njoined_on = 2010-07-01\n'
        for n in range(1, 8)
    )
    return (
        textwrap.dedent(
            f"""
            [[org]]
            code = "b"
            name = "第一党支部"
            kind = "branch"
            profile = "{profile}"
            elected_on = {elected_on}
            {extra}

            [[position]]
            org = "b"
            role = "secretary"
            member = "m1"
            since = {elected_on}
            """
        )
        + members
    )


@pytest.fixture
def base(tmp_path: Path, database_url: str) -> list[str]:
    args = ["--config", str(tmp_path / "config.toml"), "--db", database_url]
    _ok(args, "init")
    return args


def _ok(base: list[str], *args: str) -> Result:
    result = CliRunner().invoke(cli, [*base, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output + (result.stderr if result.stderr_bytes else "")
    return result


def _import(base: list[str], tmp_path: Path, text: str, *args: str) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(text, encoding="utf-8")
    _ok(base, "import", str(path), *args)


def _tasks(database_url: str) -> dict[tuple[str, str], Task]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            return {(task.rule, task.period): task for task in session.exec(select(Task))}
    finally:
        engine.dispose()


def _json(base: list[str], *args: str) -> Any:
    return json.loads(_ok(base, *args, "--format", "json").output)


def test_changing_to_wujin_in_march_2026_creates_no_2025_wujin_duties(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """003 (武进 2016) applies from the change (2026-03-15): its half-yearly 组织生活会 (003 二(四)), its yearly
    党内统计 and 联系服务群众计划 are not owed for 2025, and the national 2025 组织生活会 stays owed."""
    _import(base, tmp_path, _branch("national"), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    before = _tasks(database_url)
    national_2025 = before[("organizational-life-meeting", "2025")]
    assert ("organizational-life-meeting", "2026") in before

    _import(base, tmp_path, _branch("wujin-2016"), "--as-of", "2026-03-15")
    after = _tasks(database_url)
    assert after[("organizational-life-meeting", "2025")].id == national_2025.id  # still owed, same task
    assert ("organizational-life-meeting", "2025-H2") not in after
    assert ("party-statistics", "2025") not in after
    assert ("mass-service-plan", "2026") not in after  # due 2026-01-31, before the change
    assert ("mass-service-action", "2026-02") not in after
    # From the change on, Wujin's calendar: the national yearly meeting of 2026 gives way to the half-years.
    assert ("organizational-life-meeting", "2026") not in after
    assert {("organizational-life-meeting", "2026-H1"), ("party-statistics", "2026")} <= set(after)
    assert ("mass-service-action", "2026-03") in after

    # A replay of 2025 reads the same history: no Wujin duty reaches back.
    rows = _json(base, "due", "--org", "b", "--all", "--as-of", "2025-12-20")
    of_2025 = [row for row in rows if row["period"].startswith("2025")]
    assert not [row for row in of_2025 if row["rule"] in {"party-statistics", "mass-service-action"}]
    assert "2025" in {row["period"] for row in rows if row["rule"] == "organizational-life-meeting"}


def test_profile_since_dates_the_change_of_profile(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """`profile_since` in the registry: Wujin applies from 2026-01-01, so its 2026 plan (due 01-31) is owed."""
    _import(base, tmp_path, _branch("national"), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    dated = _branch("wujin-2016", extra="profile_since = 2026-01-01")
    _import(base, tmp_path, dated, "--as-of", "2026-03-15")
    after = _tasks(database_url)
    assert ("mass-service-plan", "2026") in after
    assert ("mass-service-action", "2026-02") in after
    assert ("party-statistics", "2025") not in after
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            history = session.exec(
                select(ProfileHistory.profile, ProfileHistory.since).order_by(col(ProfileHistory.id))
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in history] == [("national", None), ("wujin-2016", dt.date(2026, 1, 1))]


NOVEMBER_REGISTRY = _branch(
    "national",
    elected_on="2021-05-10",  # a 3-year term: expired 2024-05-10
    extra=textwrap.dedent(
        """
        [[position]]
        org = "b"
        role = "deputy_secretary"
        vacant_since = 2026-03-01

        [[member]]
        id = "p1"
        name = "预备党员"
        org = "b"
        status = "probationary"
        joined_on = 2025-08-01
        probation_start = 2025-08-01
        """
    ),
)


def test_a_registry_imported_in_november_owes_no_earlier_routine_period(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """Imported 2026-11-10: the periods containing that date are owed (2026-11, 2026-Q4, 2026-H2, 2026), not
    October's 支委会 nor the third quarter's 党员大会; the expired term, the deputy seat vacant since March and
    the probation ended on 2026-08-01 stay owed and overdue."""
    _import(base, tmp_path, NOVEMBER_REGISTRY, "--as-of", "2026-11-10")
    tasks = _tasks(database_url)
    assert ("committee-meeting", "2026-11") in tasks
    assert ("committee-meeting", "2026-10") not in tasks
    assert ("general-meeting", "2026-Q4") in tasks
    assert ("general-meeting", "2026-Q3") not in tasks
    assert ("organizational-life-meeting", "2026") in tasks
    overdue = _json(base, "due", "--overdue", "--as-of", "2026-11-10")
    assert sorted((row["rule"], row["period"]) for row in overdue) == [
        ("probation-review", "probation:2025-08-01"),
        ("term-election", "2021-05-10/P3Y"),
        ("vacancy-fill", "vacancy:deputy_secretary:2026-03-01"),
    ]
    # A later date's previous period respects the tracking start too: in December, November is owed.
    december = _json(base, "due", "--org", "b", "--all", "--as-of", "2026-12-05")
    assert {row["period"] for row in december if row["rule"] == "committee-meeting"} >= {"2026-11"}
    assert "2026-10" not in {row["period"] for row in december if row["rule"] == "committee-meeting"}


def test_a_replay_before_the_tracking_start_plans_nothing_routine_and_writes_nothing(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    _import(base, tmp_path, NOVEMBER_REGISTRY, "--as-of", "2026-11-10")
    stored = {key: task.id for key, task in _tasks(database_url).items()}
    replay = _json(base, "due", "--org", "b", "--all", "--as-of", "2026-10-15")
    assert not [row for row in replay if row["rule"] == "committee-meeting" and row["period"] < "2026-11"]
    assert {key: task.id for key, task in _tasks(database_url).items()} == stored


def test_a_record_may_back_fill_a_period_before_the_tracking_start(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """Not owed is not forbidden: a 党员大会 held in the third quarter is recorded, and its task made done."""
    _import(base, tmp_path, NOVEMBER_REGISTRY, "--as-of", "2026-11-10")
    _ok(base, "record", "--org", "b", "--rule", "general-meeting", "--on", "2026-09-10", "--attendees", "7",
        "--as-of", "2026-11-10")  # fmt: skip
    assert _tasks(database_url)[("general-meeting", "2026-Q3")].status == "done"
    _ok(base, "plan", "--as-of", "2026-11-10")
    assert _tasks(database_url)[("general-meeting", "2026-Q3")].status == "done"


def test_track_from_on_the_import_and_tracked_from_in_the_registry(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """`import --track-from` sets the tracking start of the organizations it creates; `tracked_from` in the
    registry sets an organization's own, also on a re-import (untouched earlier tasks go)."""
    _import(base, tmp_path, NOVEMBER_REGISTRY, "--as-of", "2026-11-10", "--track-from", "2026-07-01")
    tasks = _tasks(database_url)
    assert {("committee-meeting", "2026-10"), ("general-meeting", "2026-Q3")} <= set(tasks)
    _ok(base, "record", "--org", "b", "--rule", "general-meeting", "--on", "2026-09-10", "--attendees", "7",
        "--as-of", "2026-11-10")  # fmt: skip
    later = NOVEMBER_REGISTRY.replace('kind = "branch"', 'kind = "branch"\ntracked_from = 2026-11-01')
    _import(base, tmp_path, later, "--as-of", "2026-11-10")
    tasks = _tasks(database_url)
    assert ("committee-meeting", "2026-10") not in tasks
    assert tasks[("general-meeting", "2026-Q3")].status == "done"  # what was recorded stays
    assert ("term-election", "2021-05-10/P3Y") in tasks


def test_reports_say_from_when_an_organization_is_tracked(base: list[str], tmp_path: Path) -> None:
    _import(base, tmp_path, NOVEMBER_REGISTRY, "--as-of", "2026-11-10")
    report = _json(base, "report", "--year", "2026", "--as-of", "2026-12-31")
    assert report["tracked"] == [
        {"org": "b", "tracked_from": "2026-11-10", "from": "2026-11-01", "to": "2026-12-31"}
    ]
    table = _ok(base, "report", "--year", "2026", "--as-of", "2026-12-31").output
    assert "第一党支部（b）：自 2026-11 起跟踪" in table
    before = _json(base, "report", "--year", "2025", "--as-of", "2026-12-31")
    assert before["tracked"][0]["from"] is None and before["rows"] == []


def test_the_demo_is_tracked_from_a_year_back(base: list[str], database_url: str) -> None:
    """The demo's recorded year is owed: its organizations are tracked from the start of last year."""
    _ok(base, "init", "--demo", "--as-of", "2026-11-21")
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            starts = set(session.exec(select(Organization.tracked_from)).all())
    finally:
        engine.dispose()
    assert starts == {dt.date(2025, 1, 1)}
    rows = _json(base, "due", "--all", "--as-of", "2026-11-21")
    assert {row["status"] for row in rows if row["period"] == "2025"} >= {"done"}


def test_org_show_tells_the_tracking_start_and_the_profile_history(base: list[str], tmp_path: Path) -> None:
    _import(base, tmp_path, _branch("national"), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    _import(base, tmp_path, _branch("wujin-2016"), "--as-of", "2026-03-15")
    shown = _ok(base, "org", "show", "b").output
    assert "职责日历沿革：national → wujin-2016（自 2026-03-15）" in shown
    assert "跟踪起始：自 2025-01-01 起" in shown


def test_a_profile_since_without_a_profile_is_a_registry_problem(base: list[str], tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_text(
        _branch("national").replace('profile = "national"', "profile_since = 2026-01-01"), "utf-8"
    )
    result = CliRunner().invoke(cli, [*base, "import", str(path), "--as-of", "2026-03-15"])
    assert result.exit_code == 4
    assert "profile_since" in result.stderr and "profile" in result.stderr


def test_a_2025_duty_of_a_rule_only_the_old_profile_has_is_recorded_and_reminded_after_the_change(
    base: list[str], tmp_path: Path, database_url: str
) -> None:
    """History is not rewritten (issue 10 §4): a branch under 003 (武进 2016) in 2025 owes its 2025 年度党内统计
    (003 二(二)3) after it moved to `national` in March 2026, a profile without that rule. The task is recorded,
    listed and named, and its reminder ladder (003's `extended`) runs under the profile of its date."""
    _import(base, tmp_path, _branch("wujin-2016"), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    _import(base, tmp_path, _branch("national"), "--as-of", "2026-03-15")
    task = _tasks(database_url)[("party-statistics", "2025")]
    assert task.status == "open"

    rows = _json(base, "due", "--org", "b", "--all", "--as-of", "2026-03-16")
    assert [row["title"] for row in rows if row["rule"] == "party-statistics"] == ["年度党内统计"]
    preview = _ok(base, "remind", "--as-of", "2026-03-16 09:00", "--dry-run").output
    assert "年度党内统计" in preview  # overdue since 2025-12-31: escalated under 003's ladder, not dropped

    done = _ok(base, "record", "--org", "b", "--rule", "party-statistics", "--on", "2025-12-20",
               "--as-of", "2026-03-16").output  # fmt: skip
    assert "年度党内统计（2025年）" in done
    assert _tasks(database_url)[("party-statistics", "2025")].status == "done"


def test_the_ledger_workbook_names_a_duty_by_the_rule_it_was_owed_under(
    base: list[str], tmp_path: Path
) -> None:
    """The 台账's summary sheet titles the 2025 年度党内统计 by 003's rule, after the branch moved to a profile
    without that rule (not by its id, as it did when it read the present profile)."""
    _import(base, tmp_path, _branch("wujin-2016"), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    _import(base, tmp_path, _branch("national"), "--as-of", "2026-03-15")
    target = tmp_path / "台账.xlsx"
    _ok(base, "ledger", "--org", "b", "--year", "2025", "--format", "xlsx", "--output", str(target),
        "--as-of", "2026-03-16")  # fmt: skip
    summary = openpyxl.load_workbook(target)[ledger_office.SUMMARY_TITLE]
    duties = [row[0] for row in summary.iter_rows(min_row=2, values_only=True)]
    assert "年度党内统计" in duties and "party-statistics" not in duties
