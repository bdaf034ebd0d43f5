"""Assessment checklists: the shipped transcriptions, and validation that reports every problem at once."""

from __future__ import annotations

import textwrap
from fractions import Fraction
from pathlib import Path

import pytest

from calendars.checklists import VETO_CHECKS, ChecklistError, load_checklists
from calendars.model import OrgKind, Profile
from calendars.profiles import load_profiles


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return load_profiles()


def test_the_shipped_checklists_load(profiles: dict[str, Profile]) -> None:
    checklists = load_checklists(profiles)
    assert set(checklists) == {"wujin-2016", "suzhou-2020"}
    for checklist in checklists.values():
        assert checklist.profile == checklist.id and checklist.applies_to == frozenset({OrgKind.BRANCH})


def test_wujin_transcribes_the_whole_table_with_its_printed_point_values(
    profiles: dict[str, Profile],
) -> None:
    wujin = load_checklists(profiles)["wujin-2016"]
    assert wujin.source == "武组发〔2016〕113号 附件《武进区党支部规范化建设考核细则》"
    assert (wujin.total, wujin.pass_line) == (100, 85)
    # 4 + 10 + 6 + 8 rows of the 考核细则, in the table's order.
    assert len(wujin.items) == 28
    by_section = {
        section.title: [item.points for item in wujin.items if item.section == section.title]
        for section in wujin.sections
    }
    assert by_section == {
        "组织设置合理": [2, 2, 3, 3],
        "党员管理规范": [3] * 10,
        "活动开展有序": [2, 6, 6, 2, 8, 8],
        "保障措施到位": [3, 3, 3, 3, 3, 5, 5, 5],
    }
    # The sections are headed 10 + 30 + 30 + 30 = 100, but the printed items of 活动开展有序 add up to 32:
    # the whole table's items add up to 102. Kept as printed, with the discrepancy stated.
    assert [section.points for section in wujin.sections] == [10, 30, 30, 30]
    assert sum(section.points or 0 for section in wujin.sections) == wujin.total == 100
    assert wujin.items_total == 102
    activity = wujin.section("活动开展有序")
    assert activity is not None and "32" in activity.discrepancy
    assert all(not section.discrepancy for section in wujin.sections if section.title != "活动开展有序")


def test_wujin_scores_the_three_meetings_one_lesson_and_organizational_life_from_records(
    profiles: dict[str, Profile],
) -> None:
    wujin = load_checklists(profiles)["wujin-2016"]
    scored = {item.rule: item.points for item in wujin.items if item.rule}
    assert scored == {
        "general-meeting": 2,
        "committee-meeting": 6,
        "group-meeting": 6,
        "party-lesson": 2,
        "organizational-life-meeting": 8,
    }
    standards = {item.rule: item.standard for item in wujin.items if item.rule}
    assert standards["organizational-life-meeting"].startswith("每半年召开一次党支部或党小组组织生活会")
    vetoes = {veto.title: veto.check for veto in wujin.vetoes}
    assert vetoes["党支部书记缺职"] == "secretary-vacant"
    assert [title for title, check in vetoes.items() if check is None] == [
        "党支部书记受党内警告以上处分的，或支委班子成员受党内严重警告以上处分的",
        "未落实党建工作专项经费的",
        "其他一票否决情况（原文列举后注“等等”）",
    ]
    assert set(VETO_CHECKS) == {"secretary-vacant"}


def test_suzhou_states_that_its_assessment_table_is_missing_and_invents_no_points(
    profiles: dict[str, Profile],
) -> None:
    suzhou = load_checklists(profiles)["suzhou-2020"]
    assert suzhou.pass_line == 95 and suzhou.total is None
    assert not suzhou.scored and all(item.points is None for item in suzhou.items)
    assert "评估表" in suzhou.note and "未随文件收录" in suzhou.note
    assert {item.rule for item in suzhou.items} == {
        "general-meeting",
        "committee-meeting",
        "group-meeting",
        "theme-party-day",
        "organizational-life-meeting",
        "member-appraisal",
        "building-plan",
    }
    assert suzhou.vetoes == ()


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_problem_is_reported_at_once_with_file_and_field(
    tmp_path: Path, profiles: dict[str, Profile]
) -> None:
    bad = _write(
        tmp_path,
        "bad.toml",
        """
        [checklist]
        id = "bad"
        title = "错误示例"
        profile = "wujin-2016"
        applies_to = ["brunch"]
        total = 10
        pass = 12
        colour = "red"

        [[section]]
        title = "第一部分"
        points = 6

        [[section]]
        title = "第二部分"
        points = 5

        [[item]]
        id = "a"
        section = "第一部分"
        standard = "按月开会。"
        points = 4
        rule = "no-such-rule"

        [[item]]
        id = "a"
        section = "第三部分"
        standard = "换届。"
        points = -1
        rule = "term-election"

        [[item]]
        id = "c"
        section = "第二部分"
        points = 5
        related = ["general-meeting"]
        rule = "general-meeting"

        [[veto]]
        id = "v"
        title = "书记缺职"
        check = "secretary-missing"
        """,
    )
    other = _write(
        tmp_path,
        "other.toml",
        """
        [checklist]
        id = "other"
        title = "无分值"
        profile = "nowhere"
        source = "某文件"
        applies_to = ["branch"]
        pass = 95

        [[item]]
        id = "x"
        section = "某部分"
        standard = "某要求。"
        """,
    )
    sums = _write(
        tmp_path,
        "sums.toml",
        """
        [checklist]
        id = "sums"
        title = "分值不符"
        profile = "wujin-2016"
        source = "某文件"
        applies_to = ["branch"]
        total = 6
        pass = 5

        [[section]]
        title = "第一部分"
        points = 6

        [[item]]
        id = "a"
        section = "第一部分"
        standard = "按月开会。"
        points = 4

        [[item]]
        id = "b"
        section = "第一部分"
        standard = "按季度上党课。"
        """,
    )
    with pytest.raises(ChecklistError) as caught:
        load_checklists(profiles, [tmp_path])
    message = str(caught.value)
    file, second = str(bad), str(other)
    expected = [
        f"{file}：[checklist] 字段 applies_to：未知的组织类型 'brunch'",
        f"{file}：[checklist] 字段 colour：未知的字段",
        f"{file}：[checklist] 字段 source：缺少必填字段",
        f"{file}：[checklist] 字段 pass：合格线 12 高于总分 10",
        f"{file}：[checklist] 字段 total：各部分分值合计 11，与总分 10 不一致",
        f"{file}：[[item]] a 字段 rule：职责日历 wujin-2016 中没有规则 no-such-rule",
        f"{file}：[[item]] a 字段 id：项目编号 a 重复",
        f"{file}：[[item]] a 字段 section：没有这个部分，可选：第一部分、第二部分",
        f"{file}：[[item]] a 字段 points：应为正数，而不是 -1",
        f"{file}：[[item]] a 字段 rule：规则 term-election 不是按周期开展的职责",
        f"{file}：[[item]] c 字段 standard：缺少必填字段",
        f"{file}：[[item]] c 字段 related：计分项目（rule）不另列参考记录（related）",
        f"{file}：[[veto]] 第1项 字段 check：未知的核查项 'secretary-missing'，可选：secretary-vacant",
        f"{sums}：[[section]] 第一部分 字段 points：所列各项分值合计 4，与本部分标注的 6 分不一致",
        f"{sums}：[[item]] b 字段 points：本细则有分值，本项却缺少分值",
        f"{second}：[checklist] 字段 profile：没有职责日历 nowhere",
        f"{second}：[checklist] 字段 note：各项都没有分值时须在 note 中说明原因",
    ]
    for line in expected:
        assert line in message, line
    assert message.startswith(f"考核细则有 {len(caught.value.problems)} 处错误")


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path: Path, profiles: dict[str, Profile]) -> None:
    broken = _write(tmp_path, "broken.toml", '[checklist]\nid = "x\n')
    with pytest.raises(ChecklistError) as caught:
        load_checklists(profiles, [tmp_path])
    assert f"{broken}：TOML 语法错误：第 2 行" in str(caught.value)


def test_a_stated_discrepancy_lets_a_section_disagree_with_its_items(
    tmp_path: Path, profiles: dict[str, Profile]
) -> None:
    _write(
        tmp_path,
        "county.toml",
        """
        [checklist]
        id = "county"
        title = "某县考核细则"
        profile = "wujin-2016"
        source = "某县文件 附件"
        applies_to = ["branch"]
        total = 10
        pass = 8.5

        [[section]]
        title = "活动"
        points = 10
        discrepancy = "原文标注10分，各项合计11分。"

        [[item]]
        id = "meetings"
        section = "活动"
        standard = "每月召开一次支委会。"
        points = 5.5
        rule = "committee-meeting"

        [[item]]
        id = "service"
        section = "活动"
        standard = "联系服务群众。"
        points = 5.5
        related = ["mass-service-action"]
        """,
    )
    county = load_checklists(profiles, [tmp_path])["county"]
    assert county.items_total == 11 and county.pass_line == Fraction(17, 2)
    assert county.items[1].related == ("mass-service-action",)
