"""党费: payments per member and month; six consecutive unpaid months raise a task for the branch secretary
(《中国共产党章程》第九条: 连续六个月不交纳党费 → 自行脱党, the 支部大会 decides and reports to the parent)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import select

from obligations.dues import _lapse
from obligations.models import DuesPayment
from tests.obligations.conftest import run
from tests.obligations.member_registry import BRANCH_FULL, due, load, session

EVERYONE = [*BRANCH_FULL, "b1p1", "g1p1"]  # the branch's members, its 党小组's included


@pytest.fixture
def members(workspace: tuple[Path, str]) -> tuple[Path, str]:
    return load(workspace, "2026-05-10")


def _pay(
    workspace: tuple[Path, str], month: str, payers: list[str], as_of: str = "2026-11-21"
) -> tuple[int, str]:
    args = [arg for member in payers for arg in ("--member", member)]
    result = run(workspace, "dues", "pay", "--org", "jg.b1", "--month", month, *args, "--as-of", as_of)
    return result.exit_code, result.stdout + result.stderr


def _lapses(workspace: tuple[Path, str], as_of: str) -> dict[str, tuple[object, ...]]:
    return {
        str(r["subject"]): (r["period"], r["due"], r["assignee"], r["status"])
        for r in due(workspace, as_of, "--rule", "dues-lapse")
    }


def _pay_months(workspace: tuple[Path, str], months: list[str], payers: list[str]) -> None:
    for month in months:
        code, text = _pay(workspace, month, payers)
        assert code == 0, text


JUNE_TO_NOVEMBER = ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"]


def test_party_constitution_art9_six_unpaid_months_raise_a_task_for_the_branch_secretary(
    members: tuple[Path, str],
) -> None:
    _pay_months(members, ["2026-05"], EVERYONE)
    _pay_months(members, JUNE_TO_NOVEMBER, [m for m in EVERYONE if m not in ("b1m7", "g1m3")])
    # June to October unpaid: five ended months, not yet six.
    assert _lapses(members, "2026-11-25") == {}
    # November has ended: six. The task is the branch secretary's, for a 党小组 member too.
    lapses = _lapses(members, "2026-12-01")
    assert lapses == {
        "b1m7": ("dues:2026-06", "2027-01-01", "党员b1m1", "open"),
        "g1m3": ("dues:2026-06", "2027-01-01", "党员b1m1", "open"),
    }


def test_party_constitution_art9_a_lapse_goes_up_the_tree_when_nobody_acts(members: tuple[Path, str]) -> None:
    _pay_months(members, ["2026-05"], EVERYONE)
    _pay_months(members, JUNE_TO_NOVEMBER, [m for m in EVERYONE if m != "b1m7"])
    result = run(members, "remind", "--dry-run", "--as-of", "2027-01-04 09:00")
    assert result.exit_code == 0, result.stderr
    # Overdue since 2027-01-02: the parent's secretary (jgm1) is told too.
    recipients = {line.split()[0] for line in result.stdout.splitlines()[2:] if line.strip()}
    assert {"党员b1m1", "党员jgm1"} <= recipients


def test_paying_a_missed_month_afterwards_withdraws_the_open_lapse_task(members: tuple[Path, str]) -> None:
    _pay_months(members, ["2026-05"], EVERYONE)
    _pay_months(
        members, ["2026-06", "2026-07", "2026-08", "2026-09", "2026-10"], [m for m in EVERYONE if m != "b1m7"]
    )
    assert "b1m7" in _lapses(members, "2026-12-01")
    code, text = _pay(members, "2026-08", ["b1m7"], as_of="2026-12-01")
    assert code == 0, text
    assert "b1m7" not in _lapses(members, "2026-12-01")


def test_a_branch_that_keeps_no_dues_records_owes_no_lapse(members: tuple[Path, str]) -> None:
    # Nothing recorded: tracking has not started, so a newly imported roll does not lapse six months on.
    assert _lapses(members, "2027-06-30") == {}


def test_paying_twice_for_a_month_counts_once(members: tuple[Path, str]) -> None:
    assert _pay(members, "2026-05", ["b1m3"])[0] == 0
    code, text = _pay(members, "2026-05", ["b1m3", "b1m4"])
    assert code == 0 and "新增 1 条" in text and "已登记过 1 条（b1m3 2026-05）" in text
    with session(members) as db_session:
        assert len(db_session.exec(select(DuesPayment)).all()) == 2


@pytest.mark.parametrize(
    ("month", "payers", "message"),
    [
        ("2026-13", ["b1m3"], "月应在 1–12 之间"),
        ("2026-12", ["b1m3"], "尚未到来"),
        ("1921-06", ["b1m3"], "超出范围"),
        ("Nov-2026", ["b1m3"], "月份应写作 2026-11"),
        ("2026-05", ["b2m1"], "不是第一党支部（jg.b1）的在册党员"),
        ("2026-05", ["b1m3\x1b[2J"], "控制字符"),
        ("2026-05", ["b1m3", "b1m3"], "被重复填写"),
        ("2026-05", ["x" * 101], "不能超过 100 个字符"),
    ],
)
def test_a_dues_record_with_a_problem_writes_nothing(
    members: tuple[Path, str], month: str, payers: list[str], message: str
) -> None:
    code, text = _pay(members, month, payers)
    assert code == 6
    assert message in text
    with session(members) as db_session:
        assert db_session.exec(select(DuesPayment)).first() is None


def test_dues_status_shows_paid_months_and_the_unpaid_run(members: tuple[Path, str]) -> None:
    _pay_months(members, ["2026-05"], EVERYONE)
    result = run(members, "dues", "status", "--org", "jg.b1", "--months", "8", "--as-of", "2026-12-01")
    assert result.exit_code == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("g1m3"))
    assert "2026-05" in line and " 6 " in f" {line} " and "自 2026-06 起连续6个月未交" in line


def test_the_latest_run_of_six_unpaid_months_is_the_lapse() -> None:
    index = lambda year, month: year * 12 + month - 1  # noqa: E731
    paid = {"2026-01", "2026-08"}
    # Feb–Jul unpaid (six), Aug paid, Sep–Dec unpaid (four): the Feb run is the lapse.
    assert _lapse(paid, index(2026, 1), index(2027, 1)) == dt.date(2026, 2, 1)
    assert _lapse(paid, index(2026, 1), index(2026, 7)) is None  # Feb–Jun: five ended months
    assert _lapse(set(), None, index(2027, 1)) is None  # the branch keeps no dues records


def test_a_dues_csv_records_each_member_and_month_in_their_branch(members: tuple[Path, str]) -> None:
    csv_file = members[0].parent / "党费.csv"
    csv_file.write_text("党员编号,月份\ng1m1,2026-05\nb1m3,2026-05\nb1m3,2026-6\n\n", encoding="utf-8-sig")
    result = run(members, "dues", "import", str(csv_file), "--as-of", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    assert "新增 3 条" in result.stdout
    with session(members) as db_session:
        rows = {(p.member, p.org, p.month) for p in db_session.exec(select(DuesPayment))}
    assert rows == {("g1m1", "jg.b1", "2026-05"), ("b1m3", "jg.b1", "2026-05"), ("b1m3", "jg.b1", "2026-06")}


def test_a_dues_csv_with_a_bad_row_writes_nothing_and_names_every_row(members: tuple[Path, str]) -> None:
    csv_file = members[0].parent / "党费.csv"
    csv_file.write_text(
        "党员编号,月份\nb1m3,2026-05\nnobody,2026-05\nb1m4,2026-00\nb1m5,2027-01\n", encoding="utf-8"
    )
    result = run(members, "dues", "import", str(csv_file), "--as-of", "2026-11-21")
    assert result.exit_code == 6
    for row, text in ((3, "nobody 不是在册党员"), (4, "月应在 1–12 之间"), (5, "尚未到来")):
        assert f"第 {row} 行：" in result.stderr and text in result.stderr
    with session(members) as db_session:
        assert db_session.exec(select(DuesPayment)).first() is None


def test_dues_are_recorded_by_the_branch_not_by_its_group(members: tuple[Path, str]) -> None:
    result = run(
        members,
        "dues",
        "pay",
        "--org",
        "jg.b1.g1",
        "--month",
        "2026-05",
        "--member",
        "g1m1",
        "--as-of",
        "2026-11-21",
    )
    assert result.exit_code == 1
    assert "是党小组，属于其所在支部：请用 --org jg.b1 登记" in result.stderr
