"""A year of recorded activity for the demo registry: report rates and the Wujin score, worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from obligations.cli import cli

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
