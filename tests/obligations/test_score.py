"""`obligations score` through the command line on SQLite and PostgreSQL: points from the records, evidence,
不适用 items, the veto the registry knows, and a checklist without points.

Completions are recorded with `record --as-of 2026-12-31`, which back-fills tasks older than the planning
window; the expected points are worked out by hand in each test.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.obligations.conftest import run

RECORDED = ("--as-of", "2026-12-31")

# 机关第一党支部 (wujin-2016): 1 full member of its own and 3 in each of its two 党小组 — 7 full members, so it
# has a 支委会 and 党小组会. 机关第二党支部: its secretary's seat is vacant. 苏州某党支部: suzhou-2020, 3 members.
REGISTRY = textwrap.dedent(
    """
    [[org]]
    code = "wj"
    name = "区级机关党委"
    kind = "committee"
    profile = "wujin-2016"
    elected_on = 2022-03-10

    [[org]]
    code = "wj.b1"
    name = "机关第一党支部"
    kind = "branch"
    parent = "wj"
    elected_on = 2024-06-20

    [[org]]
    code = "wj.b1.g1"
    name = "第一党小组"
    kind = "group"
    parent = "wj.b1"

    [[org]]
    code = "wj.b1.g2"
    name = "第二党小组"
    kind = "group"
    parent = "wj.b1"

    [[org]]
    code = "wj.b2"
    name = "机关第二党支部"
    kind = "branch"
    parent = "wj"
    elected_on = 2024-06-20

    [[org]]
    code = "sz"
    name = "苏州某机关党委"
    kind = "committee"
    profile = "suzhou-2020"
    elected_on = 2022-03-10

    [[org]]
    code = "sz.b1"
    name = "苏州某党支部"
    kind = "branch"
    parent = "sz"
    elected_on = 2024-06-20

    [[position]]
    org = "wj.b1"
    role = "secretary"
    member = "w1"
    since = 2024-06-20

    [[position]]
    org = "wj.b2"
    role = "secretary"
    vacant_since = 2026-05-01

    [[position]]
    org = "sz.b1"
    role = "secretary"
    member = "s1"
    since = 2024-06-20
    """
)


def _members() -> str:
    rows = []
    for org, ids in (
        ("wj.b1", ["w1"]),
        ("wj.b1.g1", ["w2", "w3", "w4"]),
        ("wj.b1.g2", ["w5", "w6", "w7"]),
        ("wj.b2", ["v1", "v2", "v3"]),
        ("sz.b1", ["s1", "s2", "s3"]),
    ):
        for member_id in ids:
            rows.append(
                f'[[member]]\nid = "{member_id}"\nname = "党员{member_id}"\norg = "{org}"\n'
                'status = "full"\njoined_on = 2012-07-01\n'
            )
    return "\n".join(rows)


@pytest.fixture
def wujin(workspace: tuple[Path, str]) -> tuple[Path, str]:
    path = workspace[0].parent / "wujin.toml"
    path.write_text(REGISTRY + _members(), encoding="utf-8")
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(path), *RECORDED)
    assert result.exit_code == 0, result.stderr
    return workspace


def _record(workspace: tuple[Path, str], org: str, rules: list[str], on: str, *extra: str) -> int:
    rule_args = [arg for rule in rules for arg in ("--rule", rule)]
    result = run(workspace, "record", "--org", org, *rule_args, "--on", on, *extra, *RECORDED)
    assert result.exit_code == 0, result.stderr
    found = re.search(r"已登记台账记录 (\d+)", result.stdout)
    assert found is not None, result.stdout
    return int(found.group(1))


def _score(workspace: tuple[Path, str], org: str, *args: str) -> dict[str, Any]:
    result = run(workspace, "score", "--org", org, "--year", "2026", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    card: dict[str, Any] = json.loads(result.stdout)
    return card


def _item(card: dict[str, Any], item_id: str) -> dict[str, Any]:
    item: dict[str, Any] = next(item for item in card["items"] if item["id"] == item_id)
    return item


def _statuses(item: dict[str, Any]) -> dict[str, str]:
    return {f"{p['org']} {p['period']}": p["status"] for p in item["rule"]["periods"]}


def _held_year(workspace: tuple[Path, str]) -> dict[str, list[int]]:
    """A year of 机关第一党支部's meetings, some missing; the completion ids by what they proved."""
    ids: dict[str, list[int]] = {}
    general = ("--attendees", "5")  # more than half of the 7 full members
    ids["general-meeting"] = [
        _record(workspace, "wj.b1", ["general-meeting"], day, *general, "--topic", topic)
        for day, topic in (
            ("2026-03-12", "学习全会精神"),
            ("2026-06-18", "讨论发展党员"),
            ("2026-12-10", "年度总结"),
        )
    ]
    ids["committee-meeting"] = [
        _record(workspace, "wj.b1", ["committee-meeting"], f"2026-{month:02d}-08", "--attendees", "3")
        for month in range(1, 13)
        if month not in (5, 8)
    ]
    ids["group-meeting"] = [
        _record(workspace, "wj.b1.g1", ["group-meeting"], f"2026-{month:02d}-15", "--attendees", "3")
        for month in range(1, 13)
    ] + [
        _record(workspace, "wj.b1.g2", ["group-meeting"], f"2026-{month:02d}-16", "--attendees", "3")
        for month in range(1, 7)
    ]
    lessons = [
        _record(workspace, "wj.b1", ["party-lesson"], day, "--attendees", "6")
        for day in ("2026-02-20", "2026-08-20", "2026-11-20")
    ]
    # One 主题党日 that was also the second quarter's 党课.
    lessons.insert(
        1, _record(workspace, "wj.b1", ["theme-party-day", "party-lesson"], "2026-05-20", "--attendees", "7")
    )
    ids["party-lesson"] = lessons
    first_half = _record(
        workspace, "wj.b1", ["organizational-life-meeting"], "2026-06-25", "--attendees", "7"
    )
    result = run(workspace, "undo", str(first_half), "--reason", "会议未按程序召开，重新召开")
    assert result.exit_code == 0, result.stderr
    ids["organizational-life-meeting"] = [
        _record(workspace, "wj.b1", ["organizational-life-meeting"], "2026-12-20", "--attendees", "7")
    ]
    ids["withdrawn"] = [first_half]
    return ids


def test_points_follow_the_periods_held_with_the_completions_as_evidence(wujin: tuple[Path, str]) -> None:
    ids = _held_year(wujin)
    card = _score(wujin, "wj.b1", "--as-of", "2027-01-15")
    assert card["checklist"] == "wujin-2016"  # the branch's duty calendar has a checklist of its own
    # By hand: 党员大会 2 × 3/4 = 1.5; 支委会 6 × 10/12 = 5; 党小组会 over two groups 6 × (12 + 6)/24 = 4.5;
    # 党课 2 × 4/4 = 2; 组织生活会 (half-yearly in Wujin, the first half withdrawn) 8 × 1/2 = 4.
    expected = {
        "general-meeting": (1.5, 3, 4),
        "committee-meeting": (5, 10, 12),
        "group-meeting": (4.5, 18, 24),
        "party-lesson": (2, 4, 4),
        "organizational-life-meeting": (4, 1, 2),
    }
    for item_id, (points, done, due) in expected.items():
        item = _item(card, item_id)
        assert (item["status"], item["score"], item["rule"]["done"], item["rule"]["expected"]) == (
            "scored", points, done, due,
        ), item_id  # fmt: skip
    # 1.5 + 5 + 4.5 + 2 + 4 = 17 of 2 + 6 + 6 + 2 + 8 = 24; the other items (102 − 24 = 78) are judged by a person.
    assert (card["score"], card["computable_max"], card["unscored_points"]) == (17, 24, 78)
    assert (card["not_applicable_points"], card["items_total"], card["total"]) == (0, 102, 100)
    assert card["summary"][0] == "可计算部分得分 17/24；另有 78 分需人工评定。"
    # 85 − 17 = 68 of the 78 judged points are still needed: the pass line is neither reached nor out of reach.
    assert (card["pass_status"], card["needed_from_unscored"], card["vetoed"]) == ("undetermined", 68, False)
    assert "人工评定部分至少需得 68 分（共 78 分）" in card["summary"][2]

    general = _item(card, "general-meeting")
    assert _statuses(general) == {
        "wj.b1 2026-Q1": "done",
        "wj.b1 2026-Q2": "done",
        "wj.b1 2026-Q3": "overdue",
        "wj.b1 2026-Q4": "done",
    }
    proof = {p["period"]: [c["id"] for c in p["completions"]] for p in general["rule"]["periods"]}
    assert proof == {
        "2026-Q1": [ids["general-meeting"][0]],
        "2026-Q2": [ids["general-meeting"][1]],
        "2026-Q3": [],
        "2026-Q4": [ids["general-meeting"][2]],
    }
    first = general["rule"]["periods"][0]["completions"][0]
    assert (first["held_on"], first["topic"]) == ("2026-03-12", "学习全会精神")
    assert "武组发〔2016〕113号 附件《武进区党支部规范化建设考核细则》" in general["clause"]
    assert "落实“三会一课”制度" in general["clause"]

    committee = _item(card, "committee-meeting")
    missing = [p["period"] for p in committee["rule"]["periods"] if p["status"] != "done"]
    assert missing == ["2026-05", "2026-08"]
    groups = _item(card, "group-meeting")
    assert groups["rule"]["groups"] == 2
    assert [key for key, status in _statuses(groups).items() if status != "done"] == [
        f"wj.b1.g2 2026-{month:02d}" for month in range(7, 13)
    ]
    lesson_ids = [c["id"] for p in _item(card, "party-lesson")["rule"]["periods"] for c in p["completions"]]
    assert lesson_ids == ids["party-lesson"]
    life = _item(card, "organizational-life-meeting")
    assert _statuses(life) == {"wj.b1 2026-H1": "overdue", "wj.b1 2026-H2": "done"}
    withdrawn = ids["withdrawn"][0]
    assert withdrawn not in [c["id"] for p in life["rule"]["periods"] for c in p["completions"]]

    manual = [item for item in card["items"] if item["status"] == "manual"]
    assert len(manual) == 23 and sum(item["points"] for item in manual) == 78
    appraisal = _item(card, "member-appraisal")
    assert [r["rule"] for r in appraisal["related"]] == ["member-appraisal"]


def test_the_table_shows_the_verdict_the_evidence_and_what_is_missing(wujin: tuple[Path, str]) -> None:
    ids = _held_year(wujin)
    result = run(wujin, "score", "--org", "wj.b1", "--year", "2026", "--as-of", "2027-01-15")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "可计算部分得分 17/24；另有 78 分需人工评定。" in out
    assert "得分 = 2 × 3/4 = 1.5" in out and "得分 = 6 × 18/24 = 4.5" in out
    assert f"台账记录 {ids['general-meeting'][0]}（2026-03-12，学习全会精神）" in out
    assert "2026年第三季度  逾期未开展" in out
    assert "需人工评定的项目（共 78 分）" in out and "党支部职数设置合理。" in out
    assert "党支部书记缺职：未发现（书记：党员w1" in out
    assert "全表各项合计102分" in out


def test_periods_not_yet_due_are_what_can_still_be_earned(wujin: tuple[Path, str]) -> None:
    _held_year(wujin)
    # On 31 December the second group's December meeting is not yet overdue: 6 × 1/24 = 0.25 can still come.
    card = _score(wujin, "wj.b1", "--as-of", "2026-12-31")
    assert (card["score"], card["attainable"]) == (17, 17.25)
    assert "若尚未到期的周期都按期开展，至少需得 67.75 分" in card["summary"][2]
    # Replaying mid-year counts only what was held by then: 党员大会 Q1 and Q2 of four, 2 × 2/4 = 1.
    midyear = _score(wujin, "wj.b1", "--as-of", "2026-06-30")
    general = _item(midyear, "general-meeting")
    assert (general["score"], general["attainable"]) == (1, 2)
    assert _statuses(general)["wj.b1 2026-Q3"] == "pending"


def test_a_vacant_secretary_seat_is_a_veto(wujin: tuple[Path, str]) -> None:
    card = _score(wujin, "wj.b2", "--as-of", "2026-12-31")
    assert (card["pass_status"], card["vetoed"]) == ("vetoed", True)
    veto = next(v for v in card["vetoes"] if v["id"] == "secretary-vacant")
    assert (veto["checked"], veto["triggered"], veto["detail"]) == (
        True,
        True,
        "书记职位自 2026-05-01 起空缺",
    )
    assert [v["checked"] for v in card["vetoes"]] == [True, False, False, False]
    assert "一票否决：党支部书记缺职（书记职位自 2026-05-01 起空缺）" in card["summary"][1]


def test_a_branch_of_five_has_no_committee_meeting_or_groups_to_score(imported: tuple[Path, str]) -> None:
    # jg.b2 follows wujin-2016 with 5 full members and no 党小组.
    result = run(imported, "record", "--org", "jg.b2", "--rule", "general-meeting", "--on", "2026-03-20",
                 "--attendees", "4", *RECORDED)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    card = _score(imported, "jg.b2", "--as-of", "2027-01-15")
    committee, groups = _item(card, "committee-meeting"), _item(card, "group-meeting")
    assert (committee["status"], committee["score"]) == ("not_applicable", None)
    assert "正式党员≥7人" in committee["rule"]["not_applicable"]
    assert "正式党员 5 人" in committee["rule"]["not_applicable"]
    assert groups["status"] == "not_applicable" and "未设党小组" in groups["rule"]["not_applicable"]
    # 党员大会 2 × 1/4 = 0.5 of 2 + 2 + 8 = 12 computable; 支委会 and 党小组会 (6 + 6) are left out.
    assert (card["score"], card["computable_max"], card["not_applicable_points"]) == (0.5, 12, 12)
    assert card["unscored_points"] == 78
    assert "不适用 12 分（支部委员会会议（支委会）、党小组会），不计入可计算满分" in card["summary"][0]
    table = run(imported, "score", "--org", "jg.b2", "--year", "2026", "--as-of", "2027-01-15").stdout
    assert "二、不适用的项目（不计入可计算满分）" in table


def test_without_a_checklist_of_its_own_the_branch_must_name_one(imported: tuple[Path, str]) -> None:
    result = run(imported, "score", "--org", "jg.b1", "--year", "2026")
    assert result.exit_code == 2
    assert "national" in result.stderr and "wujin-2016" in result.stderr and "suzhou-2020" in result.stderr
    unknown = run(imported, "score", "--org", "jg.b1", "--checklist", "wujin-2017")
    assert unknown.exit_code == 8 and "没有考核细则 'wujin-2017'" in unknown.stderr
    committee = run(imported, "score", "--org", "jg", "--checklist", "wujin-2016")
    assert committee.exit_code == 1 and "适用于党支部" in committee.stderr
    named = _score(imported, "jg.b1", "--checklist", "wujin-2016", "--as-of", "2027-01-15")
    assert any("执行的职责日历是 national" in note for note in named["notes"])
    # Under the national calendar the 组织生活会 is yearly: one period expected, not two.
    assert _item(named, "organizational-life-meeting")["rule"]["expected"] == 1


def test_suzhou_reports_completion_rates_and_no_invented_points(wujin: tuple[Path, str]) -> None:
    for month in (1, 2, 3):
        _record(wujin, "sz.b1", ["theme-party-day"], f"2026-{month:02d}-10", "--attendees", "3")
    _record(wujin, "sz.b1", ["building-plan"], "2026-02-20")
    card = _score(wujin, "sz.b1", "--as-of", "2027-01-15")
    assert (card["checklist"], card["scored"], card["pass_line"]) == ("suzhou-2020", False, 95)
    assert (card["score"], card["computable_max"], card["pass_status"]) == (None, None, "unknown")
    theme, plan = _item(card, "theme-party-day"), _item(card, "building-plan")
    # 3 of 12 主题党日 = 25%; the building plan, due by 28 February, was made: 1 of 1.
    assert (theme["status"], theme["points"], theme["rule"]["rate"]) == ("rate", None, 0.25)
    assert (plan["rule"]["done"], plan["rule"]["expected"], plan["rule"]["rate"]) == (1, 1, 1)
    assert _item(card, "committee-meeting")["status"] == "not_applicable"  # 3 members: no 支委会
    assert "评估表未收录" in card["summary"][0] and "95 分" in card["summary"][0]
    assert card["vetoes"] == [] and "一票否决情形不详" in card["summary"][1]
    assert any("未随文件收录" in note for note in card["notes"])
    table = run(wujin, "score", "--org", "sz.b1", "--year", "2026", "--as-of", "2027-01-15").stdout
    assert "可由台账核验的职责（完成率）" in table and "25%" in table
