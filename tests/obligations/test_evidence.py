"""The ledger enforces each rule's evidence declaration (issue 10 §3): attendees, the committee's quorum by head
count, days counted as dates, the secretary's lecture, and the filing with the parent."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from obligations import db
from obligations.models import Completion
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2026-11-21")


def _members(org: str, prefix: str, count: int) -> str:
    return "".join(
        f'[[member]]\nid = "{prefix}{i}"\nname = "党员{prefix}{i}"\norg = "{org}"\nstatus = "full"\n'
        "joined_on = 2010-07-01\n\n"
        for i in range(1, count + 1)
    )


def _position(org: str, role: str, member: str | None, since: str) -> str:
    held = f'member = "{member}"\nsince = {since}' if member else f"vacant_since = {since}"
    return f'[[position]]\norg = "{org}"\nrole = "{role}"\n{held}\n\n'


# 机关党委 sj with: 甲支部 sj.a (national; 8 members + a 党小组 of 2; four committee seats filled, 宣传委员 vacant),
# 武进支部 sj.w (wujin-2016; the secretary's seat vacant since April, the deputy standing in), and 临沂支部 sj.l
# (linyi-mengshan-2018: 每月集中学习不少于2天).
REGISTRY = (
    textwrap.dedent(
        """
        [[org]]
        code = "sj"
        name = "机关党委"
        kind = "committee"
        profile = "national"
        elected_on = 2024-01-10

        [[org]]
        code = "sj.a"
        name = "甲支部"
        kind = "branch"
        parent = "sj"
        elected_on = 2024-03-01

        [[org]]
        code = "sj.a.g"
        name = "甲支部第一党小组"
        kind = "group"
        parent = "sj.a"

        [[org]]
        code = "sj.w"
        name = "武进支部"
        kind = "branch"
        parent = "sj"
        profile = "wujin-2016"
        elected_on = 2025-01-01

        [[org]]
        code = "sj.l"
        name = "临沂支部"
        kind = "branch"
        parent = "sj"
        profile = "linyi-mengshan-2018"
        elected_on = 2025-01-01

        """
    )
    + _members("sj", "s", 1)
    + _members("sj.a", "a", 8)
    + _members("sj.a.g", "g", 2)
    + _members("sj.w", "w", 7)
    + _members("sj.l", "l", 5)
    + _position("sj", "secretary", "s1", "2024-01-10")
    + _position("sj.a", "secretary", "a1", "2024-03-01")
    + _position("sj.a", "deputy_secretary", "a2", "2024-03-01")
    + _position("sj.a", "organization", "a3", "2024-03-01")
    + _position("sj.a", "propaganda", None, "2026-05-01")
    + _position("sj.a", "discipline", "a4", "2024-03-01")
    + _position("sj.a.g", "group_leader", "g1", "2024-03-01")
    + _position("sj.w", "secretary", None, "2026-04-01")
    + _position("sj.w", "deputy_secretary", "w2", "2025-01-01")
)


@pytest.fixture
def branches(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    workspace = (tmp_path / "config.toml", database_url)
    (tmp_path / "registry.toml").write_text(REGISTRY, encoding="utf-8")
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(tmp_path / "registry.toml"), *AS_OF)
    assert result.exit_code == 0, result.stderr
    return workspace


def _record(workspace: tuple[Path, str], org: str, rule: str, day: str, *args: str) -> tuple[int, str]:
    result = run(workspace, "record", "--org", org, "--rule", rule, "--on", day, *args, *AS_OF)
    return result.exit_code, result.stdout + result.stderr


def _due(workspace: tuple[Path, str], *args: str) -> list[dict[str, object]]:
    result = run(workspace, "due", *AS_OF, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def _task(workspace: tuple[Path, str], org: str, rule: str, period: str) -> dict[str, object]:
    rows = _due(workspace, "--all", "--org", org, "--rule", rule)
    return next(row for row in rows if row["org"] == org and row["period"] == period)


def _completions(workspace: tuple[Path, str]) -> list[Completion]:
    with Session(db.make_engine(db.resolve_url(workspace[1], workspace[0].parent))) as session:
        return list(session.exec(select(Completion).order_by(col(Completion.id))))


@pytest.mark.parametrize(
    ("org", "rule"),
    [
        ("sj.a", "theme-party-day"),
        ("sj.w", "party-lesson"),
        ("sj.a", "organizational-life-meeting"),
        ("sj.a.g", "group-meeting"),
        ("sj.w", "organizational-life-meeting"),
    ],
)
def test_a_duty_that_requires_attendees_is_refused_without_them_003_2_4_3(
    branches: tuple[Path, str], org: str, rule: str
) -> None:
    code, out = _record(branches, org, rule, "2026-11-20", "--place", "活动室", "--topic", "学习")
    assert code == 6
    assert "的台账须写明参加人员（--attendee 或 --attendees）" in out
    assert _completions(branches) == []
    code, out = _record(branches, org, rule, "2026-11-20", "--place", "活动室", "--attendees", "6")
    assert code == 0, out


def test_a_committee_meeting_given_as_a_head_count_needs_a_majority_of_the_filled_seats(
    branches: tuple[Path, str],
) -> None:
    """支部工作条例 第十二条: more than half of the committee; sj.a has four filled seats (宣传委员 vacant), so a
    head count of 2 is refused exactly as two named members are, and 3 is enough."""
    code, out = _record(branches, "sj.a", "committee-meeting", "2026-11-20", "--attendees", "2")
    assert code == 6
    assert "到会委员 2 人，未超过委员 4 人的半数（须至少 3 人）" in out
    # The 党小组长 holds no committee seat: named with two committee members, two are present, not three.
    code, out = _record(
        branches, "sj.a", "committee-meeting", "2026-11-20",
        "--attendee", "a1", "--attendee", "a3", "--attendee", "g1",
    )  # fmt: skip
    assert code == 6 and "到会委员 2 人，未超过委员 4 人的半数" in out
    assert _completions(branches) == []
    code, out = _record(branches, "sj.a", "committee-meeting", "2026-11-20", "--attendees", "3")
    assert code == 0, out
    assert _task(branches, "sj.a", "committee-meeting", "2026-11")["status"] == "done"


def test_fixed_study_days_count_distinct_dates_not_sessions_002_3_2(branches: tuple[Path, str]) -> None:
    """临蒙发〔2018〕13号 三(二): 每月集中学习不少于2天 — two sessions on one day are one day."""
    assert (
        _record(branches, "sj.l", "study-days", "2026-11-03", "--attendees", "5", "--topic", "上午")[0] == 0
    )
    assert (
        _record(branches, "sj.l", "study-days", "2026-11-03", "--attendees", "5", "--topic", "下午")[0] == 0
    )
    task = _task(branches, "sj.l", "study-days", "2026-11")
    assert (task["status"], task["done_count"], task["required_count"]) == ("open", 1, 2)
    assert _record(branches, "sj.l", "study-days", "2026-11-10", "--attendees", "5")[0] == 0
    task = _task(branches, "sj.l", "study-days", "2026-11")
    assert (task["status"], task["done_count"]) == ("done", 2)
    # Withdrawing the second day's record leaves one day again.
    completion = _completions(branches)[-1]
    assert run(branches, "undo", str(completion.id), "--reason", "登记错误").exit_code == 0
    assert _task(branches, "sj.l", "study-days", "2026-11")["done_count"] == 1


def test_the_secretary_lesson_is_given_by_the_secretary_on_that_date_000_4_1_003_2_3_1(
    branches: tuple[Path, str],
) -> None:
    code, out = _record(branches, "sj.a", "secretary-lesson", "2026-11-18", "--attendees", "8")
    assert code == 6 and "“书记讲党课”的台账须写明主讲人（--lecturer）" in out
    code, out = _record(
        branches, "sj.a", "secretary-lesson", "2026-11-18", "--attendees", "8", "--lecturer", "a3"
    )
    assert code == 6 and "主讲人 a3 不是甲支部（sj.a）书记（现任 a1）" in out
    # a1 became secretary on 2024-03-01: a lesson of January 2024 was not the secretary's.
    code, out = _record(
        branches, "sj.a", "secretary-lesson", "2024-01-15", "--attendees", "8", "--lecturer", "a1"
    )
    assert code == 6 and "自 2024-03-01 起任甲支部（sj.a）书记，2024-01-15 时尚未任职" in out
    assert _completions(branches) == []
    code, out = _record(
        branches, "sj.a", "secretary-lesson", "2026-11-18", "--attendees", "8", "--lecturer", "a1"
    )
    assert code == 0, out
    assert [c.lecturer for c in _completions(branches)] == ["a1"]
    assert _task(branches, "sj.a", "secretary-lesson", "2026")["status"] == "done"


def test_a_vacant_secretary_seat_is_stood_in_for_by_the_deputy_only_while_it_is_vacant(
    branches: tuple[Path, str],
) -> None:
    """003 二(三)1 (党组织主要负责同志每年至少讲1次党课): sj.w's secretary seat is vacant since 2026-04-01."""
    code, out = _record(
        branches, "sj.w", "secretary-lesson", "2026-11-10", "--attendees", "7", "--lecturer", "w3"
    )
    assert code == 6 and "须由副书记 w2 代为主讲，而不是 w3" in out
    # Before the vacancy someone held the seat whom the registry no longer names: it cannot be checked.
    code, out = _record(
        branches, "sj.w", "secretary-lesson", "2026-02-10", "--attendees", "7", "--lecturer", "w2"
    )
    assert code == 6 and "自 2026-04-01 起空缺" in out
    code, out = _record(
        branches, "sj.w", "secretary-lesson", "2026-11-10", "--attendees", "7", "--lecturer", "w2"
    )
    assert code == 0, out


def test_a_life_meeting_is_done_then_pending_filing_until_filed_with_the_parent_003_2_3_2(
    branches: tuple[Path, str],
) -> None:
    code, out = _record(branches, "sj.w", "organizational-life-meeting", "2026-11-20", "--attendees", "7")
    assert code == 0, out
    assert "已完成、待报备（报上级党组织备案后：obligations file" in out
    task = _task(branches, "sj.w", "organizational-life-meeting", "2026-H2")
    assert (task["status"], task["filing"], task["filed_on"]) == ("done", "pending", None)
    # A done task still to be filed stays on the list of what is due, and says so.
    listed = _due(branches, "--within", "60")
    assert [row["filing"] for row in listed if row["task_id"] == task["task_id"]] == ["pending"]
    table = run(branches, "due", *AS_OF, "--within", "60")
    assert "已完成、待报备" in table.stdout
    task_id = str(task["task_id"])
    refused = run(branches, "file", task_id, "--on", "2026-11-19", *AS_OF)
    assert refused.exit_code == 6 and "早于完成日期 2026-11-20" in refused.stderr
    refused = run(branches, "file", task_id, "--on", "2026-11-22", *AS_OF)
    assert refused.exit_code == 6 and "在未来" in refused.stderr
    filed = run(branches, "file", task_id, "--on", "2026-11-21", *AS_OF)
    assert filed.exit_code == 0, filed.stderr
    task = _task(branches, "sj.w", "organizational-life-meeting", "2026-H2")
    assert (task["status"], task["filing"], task["filed_on"]) == ("done", "filed", "2026-11-21")
    assert not [row for row in _due(branches, "--within", "60") if row["task_id"] == task["task_id"]]
    # Withdrawing the record voids its filing: the meeting is owed again, and so is its filing.
    completion = _completions(branches)[-1]
    assert run(branches, "undo", str(completion.id), "--reason", "未按程序召开").exit_code == 0
    task = _task(branches, "sj.w", "organizational-life-meeting", "2026-H2")
    assert (task["status"], task["filing"], task["filed_on"]) == ("open", None, None)


def test_only_a_done_task_of_a_rule_that_asks_for_it_can_be_filed(branches: tuple[Path, str]) -> None:
    open_life = _task(branches, "sj.a", "organizational-life-meeting", "2026")
    refused = run(branches, "file", str(open_life["task_id"]), "--on", "2026-11-20", *AS_OF)
    assert refused.exit_code == 6 and "尚未完成" in refused.stderr
    assert _record(branches, "sj.a", "theme-party-day", "2026-11-20", "--attendees", "8")[0] == 0
    day = _task(branches, "sj.a", "theme-party-day", "2026-11")
    assert day["filing"] is None
    refused = run(branches, "file", str(day["task_id"]), "--on", "2026-11-20", *AS_OF)
    assert refused.exit_code == 6 and "不要求报上级党组织备案" in refused.stderr


@pytest.mark.parametrize(
    ("rule", "profile", "shown"),
    [
        ("secretary-lesson", "national", "参加人员、主讲人须为书记（空缺时由副书记代）"),
        ("organizational-life-meeting", "wujin-2016", "参加人员、报上级党组织备案"),
        ("committee-meeting", "national", "参加人员、到会委员须超过半数"),
        ("study-days", "linyi-mengshan-2018", "参加人员、按不同日期计天数"),
    ],
)
def test_rules_show_prints_the_evidence_a_record_must_show(
    branches: tuple[Path, str], rule: str, profile: str, shown: str
) -> None:
    result = run(branches, "rules", "show", rule, "--profile", profile)
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("台账要求"))
    assert line.endswith(shown)
