"""民主评议党员 (003 二(二)4; 001 (三)7): grades per member and year; two 不合格 years in a row are reported up
(001 (十三)29: 对连续两年评定不合格的，按照组织程序报请上级党组织审批处理)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from calendars.profiles import load_profiles
from obligations.escalation import Seat, Seats
from obligations.models import MemberAppraisal
from tests.obligations.conftest import run
from tests.obligations.member_registry import due, load, session

AS_OF = ("--as-of", "2026-12-21")


@pytest.fixture
def members(workspace: tuple[Path, str]) -> tuple[Path, str]:
    # The two-year rule is Luoyang's (001 (十三)29): no national text sets it.
    return load(workspace, "2026-11-21", "luoyang-2020")


def _grade(workspace: tuple[Path, str], year: str, on: str, *grades: str) -> tuple[int, str]:
    args = [arg for grade in grades for arg in ("--grade", grade)]
    result = run(
        workspace, "appraisal", "record", "--org", "jg.b1", "--year", year, "--on", on, *args, *AS_OF
    )
    return result.exit_code, result.stdout + result.stderr


def _flags(workspace: tuple[Path, str]) -> list[tuple[object, ...]]:
    rows = due(workspace, "2026-12-21", "--rule", "unqualified-member")
    return sorted((r["subject"], r["status"], r["due"], r["assignee"]) for r in rows)


def test_wujin_2_2_4_each_member_gets_one_of_four_grades_per_year(members: tuple[Path, str]) -> None:
    code, text = _grade(members, "2026", "2026-12-20", "b1m3:优秀", "g1m1:基本合格", "b1m4:qualified")
    assert code == 0, text
    shown = run(members, "appraisal", "show", "--org", "jg.b1", "--year", "2026").stdout
    assert "优秀" in shown and "基本合格" in shown and "未评定" in shown
    # A 党小组 member is graded by the branch.
    with session(members) as db_session:
        grades = {
            (row.member, row.year, row.org): row.grade for row in db_session.exec(select(MemberAppraisal))
        }
    assert grades == {
        ("b1m3", 2026, "jg.b1"): "excellent",
        ("g1m1", 2026, "jg.b1"): "basically_qualified",
        ("b1m4", 2026, "jg.b1"): "qualified",
    }


def test_luoyang_13_29_two_unqualified_years_in_a_row_raise_a_task_for_the_branch_secretary(
    members: tuple[Path, str],
) -> None:
    assert _grade(members, "2025", "2025-12-20", "b1m5:不合格", "g1m2:不合格", "b1m6:不合格")[0] == 0
    assert _flags(members) == []
    code, text = _grade(members, "2026", "2026-12-18", "b1m5:不合格", "g1m2:不合格", "b1m6:基本合格")
    assert code == 0, text
    assert "连续两年评定不合格" in text and "b1m5" in text
    flagged = _flags(members)
    assert [row[0] for row in flagged] == ["b1m5", "g1m2"]
    assert {row[1:] for row in flagged} == {("open", "2027-01-18", "党员b1m1")}  # the branch secretary


def test_luoyang_13_29_the_flag_reaches_the_parent_organization_member_from_the_first_day() -> None:
    rule = load_profiles()["luoyang-2020"].rules["unqualified-member"]
    first, *_ = rule.ladder.steps
    seats = Seats(
        {"jg": Seat("jg", "机关党委", None), "jg.b1": Seat("jg.b1", "第一党支部", "jg")},
        {("jg", "secretary"): "jgm1", ("jg", "organization"): "jgm2", ("jg.b1", "secretary"): "b1m1"},
    )
    told = [receiver.member for receiver in seats.receivers("jg.b1", rule.responsible, "b1m5", first.notify)]
    assert told == ["b1m1", "jgm2"]  # the branch secretary and the parent's 组织委员
    assert first.at.months == -1  # offset 1m: the first step falls on the day of the second grade


def _items_for(workspace: tuple[Path, str], name: str) -> int:
    result = run(workspace, "remind", "--dry-run", "--as-of", "2026-12-21 09:00")
    assert result.exit_code == 0, result.stderr
    for line in result.stdout.splitlines():
        fields = line.split()
        if fields and fields[0] == name:
            return int(fields[3])
    return 0


def test_luoyang_13_29_a_dry_run_tells_the_parent_organization_member(members: tuple[Path, str]) -> None:
    _grade(members, "2025", "2025-12-20", "b1m5:不合格")
    before = _items_for(members, "党员jgm2")
    _grade(members, "2026", "2026-12-18", "b1m5:不合格")
    assert _items_for(members, "党员jgm2") == before + 1


def test_unqualified_years_that_are_not_consecutive_raise_nothing(members: tuple[Path, str]) -> None:
    _grade(members, "2024", "2024-12-20", "b1m5:不合格")
    _grade(members, "2025", "2025-12-20", "b1m5:合格")
    _grade(members, "2026", "2026-12-18", "b1m5:不合格")
    assert _flags(members) == []


def test_correcting_a_grade_withdraws_the_open_flag(members: tuple[Path, str]) -> None:
    _grade(members, "2025", "2025-12-20", "b1m5:不合格")
    _grade(members, "2026", "2026-12-18", "b1m5:不合格")
    assert [row[0] for row in _flags(members)] == ["b1m5"]
    code, text = _grade(members, "2026", "2026-12-18", "b1m5:基本合格")
    assert code == 0 and "更正 1" in text
    assert _flags(members) == []


@pytest.mark.parametrize(
    ("year", "on", "grade", "message"),
    [
        ("2026", "2026-12-20", "b1m3:好", "等次应为 优秀、合格、基本合格、不合格"),
        ("2026", "2026-12-20", "b2m1:合格", "不是第一党支部（jg.b1）的在册党员"),
        ("2026", "2026-12-20", "b1m3\x07:合格", "控制字符"),
        ("2027", "2026-12-20", "b1m3:合格", "评议年度 2027 无效"),
        ("2026", "2026-12-22", "b1m3:合格", "在未来"),
        ("2026", "2025-12-20", "b1m3:合格", "早于评议年度"),
    ],
)
def test_a_grade_record_with_a_problem_writes_nothing(
    members: tuple[Path, str], year: str, on: str, grade: str, message: str
) -> None:
    code, text = _grade(members, year, on, "b1m4:合格", grade)
    assert code == 6
    assert message in text
    with session(members) as db_session:
        assert db_session.exec(select(MemberAppraisal)).first() is None


def test_grades_may_come_from_a_spreadsheet(members: tuple[Path, str]) -> None:
    sheet = members[0].parent / "评议.csv"
    sheet.write_bytes(
        "党员编号,姓名,等次\r\nb1m3,党员b1m3,优秀\r\ng1m1,党员g1m1,不合格\r\n".encode("gb18030")
    )
    result = run(
        members, "appraisal", "record", "--org", "jg.b1", "--year", "2026", "--on", "2026-12-20",
        "--csv", str(sheet), *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    with session(members) as db_session:
        grades = {row.member: row.grade for row in db_session.exec(select(MemberAppraisal))}
    assert grades == {"b1m3": "excellent", "g1m1": "unqualified"}
