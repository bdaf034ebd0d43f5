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


# ---------------------------------------------------------------------------------------------------
# A year split by a change of profile (history is not rewritten): each period is owed under the profile in
# force on its due date, so the year scores as the sum of its two halves, each under its own rule.
#
# The rules that differ, from calendars/profiles: 组织生活会 is yearly (due 12-31) under national and
# half-yearly (due 06-30, 12-31) under wujin-2016; the quarterly 党课 is Wujin's rule only. 党员大会 is
# quarterly and 支委会 monthly under both.


def _branches(changing: str, changed_to: str | None) -> str:
    """Branch "a" follows `changing` (and `changed_to` from 2026-07-01), branch "s" Wujin throughout; each has
    7 full members and a secretary, no 党小组."""
    since = "profile_since = 2026-07-01\n" if changed_to else ""
    text = ""
    for code, name, profile in (
        ("a", "第一党支部", changed_to or changing),
        ("s", "第二党支部", "wujin-2016"),
    ):
        text += (
            f'[[org]]\ncode = "{code}"\nname = "{name}"\nkind = "branch"\nprofile = "{profile}"\n'
            f"{since if code == 'a' else ''}elected_on = 2024-06-20\n\n"
            f'[[position]]\norg = "{code}"\nrole = "secretary"\nmember = "{code}1"\nsince = 2024-06-20\n\n'
        )
        for n in range(1, 8):
            text += (
                f'[[member]]\nid = "{code}{n}"\nname = "党员{code}{n}"\norg = "{code}"\nstatus = "full"\n'
                "joined_on = 2010-07-01\n\n"
            )
    return text


def _change_profile(workspace: tuple[Path, str], before: str, after: str) -> None:
    """Branch "a" imported under `before` in January 2026, then re-imported under `after` from 2026-07-01."""
    path = workspace[0].parent / "branches.toml"
    assert run(workspace, "init").exit_code == 0
    path.write_text(_branches(before, None), encoding="utf-8")
    result = run(workspace, "import", str(path), "--as-of", "2026-01-05", "--track-from", "2026-01-01")
    assert result.exit_code == 0, result.stderr
    path.write_text(_branches(before, after), encoding="utf-8")
    result = run(workspace, "import", str(path), "--as-of", "2026-07-10")
    assert result.exit_code == 0, result.stderr


def _hold(workspace: tuple[Path, str], org: str, held: dict[str, list[str]]) -> None:
    for rule, days in held.items():
        for day in days:
            _record(workspace, org, [rule], day, "--attendees", "6")


def _scored(card: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        item["id"]: (item["status"], item["score"], item["rule"]["done"], item["rule"]["expected"])
        for item in card["items"]
        if item["rule"] is not None
    }


def _owed_under(item: dict[str, Any]) -> dict[str, str]:
    return {p["period"]: p["profile"] for p in item["rule"]["periods"]}


# 党员大会 in Q1 and Q3, 支委会 in 9 of the 12 months.
MEETINGS = {
    "general-meeting": ["2026-03-12", "2026-09-12"],
    "committee-meeting": [f"2026-{month:02d}-08" for month in (1, 2, 3, 4, 5, 7, 8, 9, 10)],
}


def test_a_change_to_wujin_mid_year_scores_each_half_under_its_own_rule(workspace: tuple[Path, str]) -> None:
    _change_profile(workspace, "national", "wujin-2016")
    # A 党课 or a 组织生活会 in the first half is refused: nothing of them is owed then (no task to record).
    refused = run(workspace, "record", "--org", "a", "--rule", "party-lesson", "--on", "2026-02-20",
                  "--attendees", "6", *RECORDED)  # fmt: skip
    assert refused.exit_code == 1 and "没有包含 2026-02-20 的“党课”任务" in refused.stderr
    held = {"party-lesson": ["2026-08-20"], "organizational-life-meeting": ["2026-12-20"]}
    _hold(workspace, "a", MEETINGS | held)
    card = _score(workspace, "a", "--as-of", "2027-01-15")
    assert card["checklist"] == "wujin-2016"
    # By hand, January–June under national, July–December under wujin-2016:
    # 党员大会 quarterly under both, Q1 and Q3 held: 2 × 2/4 = 1. 支委会 monthly under both, 9 of 12: 6 × 9/12
    # = 4.5. 党课: national has none, so only Wujin's Q3 and Q4 are owed (the February lesson proves no owed
    # period), Q3 held: 2 × 1/2 = 1. 组织生活会: national's yearly meeting falls due on 12-31, under Wujin, and
    # Wujin's first half fell due on 06-30, under national: only Wujin's second half is owed, held: 8 × 1/1 = 8.
    # 党小组会: no 党小组, not applicable.
    assert _scored(card) == {
        "general-meeting": ("scored", 1, 2, 4),
        "committee-meeting": ("scored", 4.5, 9, 12),
        "group-meeting": ("not_applicable", None, 0, 0),
        "party-lesson": ("scored", 1, 1, 2),
        "organizational-life-meeting": ("scored", 8, 1, 1),
    }
    # 1 + 4.5 + 1 + 8 = 14.5 of 2 + 6 + 2 + 8 = 18.
    assert (card["score"], card["computable_max"], card["not_applicable_points"]) == (14.5, 18, 6)
    assert _owed_under(_item(card, "general-meeting")) == {
        "2026-Q1": "national",
        "2026-Q2": "national",
        "2026-Q3": "wujin-2016",
        "2026-Q4": "wujin-2016",
    }
    assert _owed_under(_item(card, "party-lesson")) == {"2026-Q3": "wujin-2016", "2026-Q4": "wujin-2016"}
    life = _item(card, "organizational-life-meeting")
    assert _owed_under(life) == {"2026-H2": "wujin-2016"}
    assert [(p["profile"], p["from"], p["until"], p["cadence"]) for p in life["rule"]["profiles"]] == [
        ("national", "2026-01-01", "2026-06-30", "每年"),
        ("wujin-2016", "2026-07-01", "2026-12-31", "每半年"),
    ]
    lesson = _item(card, "party-lesson")["rule"]["profiles"]
    assert [(p["profile"], p["source"] is None) for p in lesson] == [
        ("national", True),
        ("wujin-2016", False),
    ]
    assert card["profiles"] == [
        {"profile": "national", "from": "2026-01-01", "until": "2026-06-30"},
        {"profile": "wujin-2016", "from": "2026-07-01", "until": "2026-12-31"},
    ]
    assert any("2026年更换了职责日历：national（2026-01-01至2026-06-30）" in note for note in card["notes"])

    table = run(workspace, "score", "--org", "a", "--year", "2026", "--as-of", "2027-01-15").stdout
    assert "职责规则 party-lesson：national（2026-01-01至2026-06-30）没有此项职责；wujin-2016" in table
    assert "职责规则 organizational-life-meeting：national（2026-01-01至2026-06-30）每年，" in table
    assert "得分 = 8 × 1/1 = 8" in table and "得分 = 2 × 1/2 = 1" in table
    assert "2026年第二季度（national）  逾期未开展" in table
    assert "2026年下半年（wujin-2016）  已开展" in table


def test_a_change_away_from_wujin_still_owes_the_first_half_under_wujin(workspace: tuple[Path, str]) -> None:
    _change_profile(workspace, "wujin-2016", "national")
    held = {"party-lesson": ["2026-02-20"], "organizational-life-meeting": ["2026-12-20"]}
    _hold(workspace, "a", MEETINGS | held)
    # Its calendar today is national, which has no checklist of its own: Wujin's is named.
    card = _score(workspace, "a", "--as-of", "2027-01-15", "--checklist", "wujin-2016")
    # By hand, January–June under wujin-2016, July–December under national: 党课 is owed for Q1 and Q2 only
    # (Wujin's rule; national has none), Q1 held: 2 × 1/2 = 1 — not 不适用 because today's calendar lacks it.
    # 组织生活会: Wujin's first half (due 06-30, not held) and national's year (due 12-31, held in December):
    # 8 × 1/2 = 4. 党员大会 2 × 2/4 = 1; 支委会 6 × 9/12 = 4.5.
    assert _scored(card) == {
        "general-meeting": ("scored", 1, 2, 4),
        "committee-meeting": ("scored", 4.5, 9, 12),
        "group-meeting": ("not_applicable", None, 0, 0),
        "party-lesson": ("scored", 1, 1, 2),
        "organizational-life-meeting": ("scored", 4, 1, 2),
    }
    assert (card["score"], card["computable_max"]) == (10.5, 18)
    assert _owed_under(_item(card, "party-lesson")) == {"2026-Q1": "wujin-2016", "2026-Q2": "wujin-2016"}
    assert _owed_under(_item(card, "organizational-life-meeting")) == {
        "2026-H1": "wujin-2016",
        "2026": "national",
    }
    table = run(workspace, "score", "--org", "a", "--year", "2026", "--checklist", "wujin-2016",
                "--as-of", "2027-01-15").stdout  # fmt: skip
    assert "职责规则 party-lesson：wujin-2016（2026-01-01至2026-06-30）每季度，" in table
    assert "national（2026-07-01至2026-12-31）没有此项职责" in table


def test_a_branch_that_never_changed_scores_under_its_one_profile(workspace: tuple[Path, str]) -> None:
    _change_profile(
        workspace, "national", "wujin-2016"
    )  # its neighbour changes; "s" follows Wujin throughout
    held = {
        "party-lesson": ["2026-02-20", "2026-08-20"],
        "organizational-life-meeting": ["2026-05-20", "2026-12-20"],
    }
    _hold(workspace, "s", MEETINGS | held)
    card = _score(workspace, "s", "--as-of", "2027-01-15")
    # By hand, all under wujin-2016: 党员大会 2 × 2/4 = 1; 支委会 6 × 9/12 = 4.5; 党课 quarterly, Q1 and Q3
    # held: 2 × 2/4 = 1; 组织生活会 half-yearly, both held: 8 × 2/2 = 8.
    assert _scored(card) == {
        "general-meeting": ("scored", 1, 2, 4),
        "committee-meeting": ("scored", 4.5, 9, 12),
        "group-meeting": ("not_applicable", None, 0, 0),
        "party-lesson": ("scored", 1, 2, 4),
        "organizational-life-meeting": ("scored", 8, 2, 2),
    }
    assert card["profiles"] == [{"profile": "wujin-2016", "from": "2026-01-01", "until": "2026-12-31"}]
    for item_id in ("general-meeting", "committee-meeting", "party-lesson", "organizational-life-meeting"):
        assert set(_owed_under(_item(card, item_id)).values()) == {"wujin-2016"}, item_id
    assert not any("更换了职责日历" in note for note in card["notes"])
    # The text reads as it always did: the rule's own source, no profile beside each period.
    table = run(workspace, "score", "--org", "s", "--year", "2026", "--as-of", "2027-01-15").stdout
    assert "职责规则 party-lesson：武组发〔2016〕113号 二(三)1；考核细则 活动开展有序（党课）\n" in table
    assert "    2026年第二季度  逾期未开展" in table and "2026年第二季度（wujin-2016）" not in table


def test_a_year_before_the_change_is_scored_under_the_profile_of_that_year(
    workspace: tuple[Path, str],
) -> None:
    """Wujin from 2026-01-01 (`profile_since`): 2025 was national's throughout, and Wujin never reaches back."""
    path = workspace[0].parent / "branches.toml"
    assert run(workspace, "init").exit_code == 0
    path.write_text(_branches("national", None), encoding="utf-8")
    result = run(workspace, "import", str(path), "--as-of", "2025-11-20", "--track-from", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    path.write_text(_branches("national", "wujin-2016").replace("2026-07-01", "2026-01-01"), encoding="utf-8")
    result = run(workspace, "import", str(path), "--as-of", "2026-03-15")
    assert result.exit_code == 0, result.stderr
    for rule, day in (("organizational-life-meeting", "2025-12-10"), ("general-meeting", "2025-11-12")):
        _record(workspace, "a", [rule], day, "--attendees", "6")
    result = run(
        workspace, "score", "--org", "a", "--year", "2025", "--as-of", "2026-03-15", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    card = json.loads(result.stdout)
    assert card["checklist"] == "wujin-2016"  # today's calendar chooses the checklist
    # By hand, all under national: 组织生活会 yearly, held: 8 × 1/1 = 8; 党员大会 quarterly, Q4 held: 2 × 1/4
    # = 0.5; national has no 党课 (not 4 quarters of Wujin's owed and missed).
    scored = _scored(card)
    assert scored["organizational-life-meeting"] == ("scored", 8, 1, 1)
    assert scored["general-meeting"] == ("scored", 0.5, 1, 4)
    lesson = _item(card, "party-lesson")
    assert (lesson["status"], lesson["rule"]["not_applicable"]) == (
        "not_applicable",
        "第一党支部2025年执行的职责日历 national 没有此项职责",
    )
    assert card["profiles"] == [{"profile": "national", "from": "2025-01-01", "until": "2025-12-31"}]
    assert any("第一党支部2025年执行的职责日历是 national" in note for note in card["notes"])


def test_an_activity_on_a_day_two_periods_hold_counts_where_its_days_profile_owes_it(
    workspace: tuple[Path, str],
) -> None:
    """Across a change from wujin-2016 to national, 2026-05-20 lies in Wujin's first half and in national's
    year of 组织生活会: the record joins the first half, owed under the calendar in force that day — whatever
    order the database returns the two tasks in."""
    _change_profile(workspace, "wujin-2016", "national")
    _hold(workspace, "a", {"organizational-life-meeting": ["2026-05-20"]})
    card = _score(workspace, "a", "--as-of", "2027-01-15", "--checklist", "wujin-2016")
    periods = {p["period"]: p for p in _item(card, "organizational-life-meeting")["rule"]["periods"]}
    assert set(periods) == {"2026-H1", "2026"}
    assert (periods["2026-H1"]["profile"], periods["2026"]["profile"]) == ("wujin-2016", "national")
    assert _item(card, "organizational-life-meeting")["rule"]["done"] == 1
    assert {period: p["status"] for period, p in periods.items()} == {"2026-H1": "done", "2026": "overdue"}
