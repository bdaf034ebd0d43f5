"""A year of recorded activity for the demo registry: report rates and the Wujin score, worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine
from sqlmodel import Session

from obligations.cli import cli
from obligations.models import PlanState
from tests.obligations.test_ledger_export import _blocks

AS_OF = ("--as-of", "2026-12-31")


@pytest.fixture
def demo_year(tmp_path: Path, database_url: str) -> list[str]:
    """The demo registry (loaded 2026-01-02), and 2026's meetings of 综合处室党支部 (jg.b1) and its 党小组."""
    base = ["--config", str(tmp_path / "config.toml"), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0

    def record(org: str, rule: str, on: str, *extra: str) -> None:
        result = runner.invoke(
            cli, [*base, "record", "--org", org, "--rule", rule, "--on", on, *extra, *AS_OF]
        )
        assert result.exit_code == 0, result.output

    committee = (
        "--attendee",
        "m04",
        "--attendee",
        "m05",
        "--attendee",
        "m06",
    )  # 3 of the 4 committee members
    for month in range(1, 11):  # November and December missed
        record("jg.b1", "committee-meeting", f"2026-{month:02d}-10", *committee)
    for day in ("2026-03-10", "2026-06-10", "2026-09-10"):  # no fourth-quarter meeting
        record("jg.b1", "general-meeting", day, "--attendees", "12")  # of 17 full members
    for month in range(1, 7):  # the 党小组 stopped meeting in July
        record("jg.b1.g1", "group-meeting", f"2026-{month:02d}-15", "--attendees", "5")
    record("jg.b1", "organizational-life-meeting", "2026-12-20", "--attendees", "15")
    return base


def _json(base: list[str], *args: str) -> Any:
    result = CliRunner().invoke(cli, [*base, *args, *AS_OF, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_the_report_rates_of_a_recorded_year(demo_year: list[str]) -> None:
    report = _json(demo_year, "report", "--org", "jg.b1", "--year", "2026")
    rows = {(row["org"], row["rule"]): row for row in report["rows"]}

    def figures(org: str, rule: str) -> tuple[Any, ...]:
        row = rows[(org, rule)]
        names = ("tasks", "done_on_time", "done_late", "overdue", "pending", "waived", "on_time_rate")
        return tuple(row[name] for name in names)

    # 12 monthly meetings: 10 held, November overdue, December due today (not yet due): 10 / (12 − 1).
    assert figures("jg.b1", "committee-meeting") == (12, 10, 0, 1, 1, 0, round(10 / 11, 4))
    # 4 quarters: 3 held, the fourth due today: 3 / 3.
    assert figures("jg.b1", "general-meeting") == (4, 3, 0, 0, 1, 0, 1.0)
    # The quarterly 党课 is Wujin's rule (003 二(三)1), not the national baseline's: the demo does not owe it.
    assert ("jg.b1", "party-lesson") not in rows
    # One yearly meeting, held on 12-20 before its 12-31 deadline.
    assert figures("jg.b1", "organizational-life-meeting") == (1, 1, 0, 0, 0, 0, 1.0)
    # The 党小组: 6 held, July to November overdue, December due today: 6 / 11.
    assert figures("jg.b1.g1", "group-meeting") == (12, 6, 0, 5, 1, 0, round(6 / 11, 4))


def test_the_wujin_score_of_a_recorded_year(demo_year: list[str]) -> None:
    card = _json(demo_year, "score", "--org", "jg.b1", "--year", "2026", "--checklist", "wujin-2016")
    scores = {item["id"]: item["score"] for item in card["items"] if item["status"] == "scored"}
    # By hand: 党员大会 2 × 3/4 = 1.5; 支委会 6 × 10/12 = 5; 党小组会 6 × 6/12 = 3; 组织生活会 8 × 1/1 = 8
    # (the branch's own calendar holds it yearly). 党课 is not scored: the quarterly 党课 is Wujin's rule, and
    # the branch's national calendar does not hold it.
    assert scores == {
        "general-meeting": 1.5,
        "committee-meeting": 5,
        "group-meeting": 3,
        "organizational-life-meeting": 8,
    }
    (lesson,) = [item for item in card["items"] if item["id"] == "party-lesson"]
    assert lesson["status"] == "not_applicable"
    assert (card["score"], card["computable_max"]) == (17.5, 22)
    assert card["vetoed"] is False  # the secretary's seat is held (the deputy's vacancy is no veto)


def _ledger(base: list[str], org: str, year: int) -> list[list[list[str]]]:
    result = CliRunner().invoke(
        cli, [*base, "ledger", "--org", org, "--year", str(year), "--as-of", "2026-11-21"]
    )
    assert result.exit_code == 0, result.output
    return _blocks(result.stdout_bytes)


def test_the_demo_records_a_probation_decision_grades_and_dues_and_its_ledger_shows_them(
    tmp_path: Path, database_url: str
) -> None:
    """Issue 10 §3 in the demo: a 转正 decided by the 支部大会 (党章 第七条) for a 党小组 member, last year's 民主评议
    grades (003 二(二)4), a year of 党费 (003 二(四)3) with one member two months late — no lapse of six months
    (党章 第九条) and no 不合格 (001 (十三)29), so neither task appears — and a 书记讲党课 with its 主讲人; loaded
    twice, nothing changes."""
    base = ["--config", str(tmp_path / "config.toml"), "--db", database_url]
    runner = CliRunner()
    first = runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-11-21"])
    assert first.exit_code == 0, first.output

    activities, decisions, _, _ = _ledger(base, "jg.b1", 2026)
    assert decisions[:2] == [
        ["转正讨论（2026年）"],
        ["党员编号", "姓名", "讨论日期", "预备期满", "讨论结果", "台账记录编号"],
    ]
    [(member, name, decided_on, end, outcome, record)] = decisions[2:]
    assert (member, name, outcome, end) == ("m20", "罗欣", "转正", "2026-04-21")  # 19 months after it began
    header, *rows = activities
    meeting = dict(zip(header, next(row for row in rows if row[0] == record), strict=True))
    assert (meeting["日期"], meeting["活动类型"]) == (decided_on, "党员大会")  # its 支部大会 is in the book

    activities, _, grades, _ = _ledger(base, "jg.b1", 2025)
    header, *rows = activities
    lesson = dict(zip(header, next(row for row in rows if "书记讲党课" in row[4]), strict=True))
    assert lesson["主讲人"] == "刘洋"  # m04, the branch secretary
    graded = {row[0]: row[2] for row in grades[2:]}
    assert len(graded) == 17 and graded["m12"] == "基本合格" and graded["m04"] == "优秀"
    assert set(graded.values()) == {"优秀", "合格", "基本合格"}  # every member graded, none 不合格

    *_, dues = _ledger(base, "jg.b3", 2026)
    unpaid = {row[0]: row[3] for row in dues[2:]}
    assert unpaid == {"m35": "", "m36": "", "m37": "", "m38": "", "m39": "", "m40": "9、10月"}

    tasks = json.loads(
        runner.invoke(cli, [*base, "due", "--all", "--format", "json", "--as-of", "2026-11-21"]).output
    )
    rules = {task["rule"] for task in tasks}
    assert "dues-lapse" not in rules and "unqualified-member" not in rules
    assert [t["status"] for t in tasks if t["rule"] == "probation-review" and t["subject"] == "m20"] == [
        "done"
    ]

    again = runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-11-21"])
    assert again.exit_code == 0, again.output
    assert "党员：新增 0，更新 0，移除 0" in again.output and "登记 0 条台账记录" in again.output
    assert _ledger(base, "jg.b1", 2026)[1] == decisions
    assert _ledger(base, "jg.b1", 2025)[2] == grades


def test_the_demo_leaves_its_plan_current(tmp_path: Path, database_url: str) -> None:
    """The demo's records change registry facts (转正, 党费); init plans once more after them, so that the first
    `due` finds nothing to plan and a replay plans nothing either."""
    base = ["--config", str(tmp_path / "config.toml"), "--db", database_url]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "init", "--demo", "--as-of", "2026-01-02"]).exit_code == 0
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            state = session.get(PlanState, 1)
            assert state is not None and state.planned_version == state.registry_version
    finally:
        engine.dispose()
    shown = runner.invoke(cli, [*base, "due", "--as-of", "2026-01-02"])
    assert shown.exit_code == 0 and "已更新任务计划" not in shown.stderr, shown.stderr
