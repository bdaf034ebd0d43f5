from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from calendars.model import OrgKind, Quorum, RuleKind, Subject
from calendars.periods import Cadence
from calendars.profiles import ProfileError, load_profile, load_profiles

# The baseline's rules: every profile has them. (The quarterly 党课, the lesson plan, the dues-base review and
# the political birthdays are city rules: tests/calendars/test_profile_citations.py.)
FIXED_IDS = (
    "general-meeting",
    "committee-meeting",
    "group-meeting",
    "secretary-lesson",
    "theme-party-day",
    "organizational-life-meeting",
    "member-appraisal",
    "democratic-life-meeting",
    "term-election",
    "vacancy-fill",
    "new-secretary-training",
    "probation-review",
    "study-hours",
    "dues-collection",
)
OVERLAYS = ("wujin-2016", "haimen-2019", "luoyang-2020", "linyi-mengshan-2018", "suzhou-2020")
# Each overlay's document, as its sources must cite it.
DOCUMENT_MARKS = {
    "wujin-2016": "武组发〔2016〕113号",
    "haimen-2019": "海门",
    "luoyang-2020": "洛阳",
    "linyi-mengshan-2018": "临蒙发〔2018〕13号",
    "suzhou-2020": "苏委工〔2020〕6号",
}


@pytest.fixture(scope="module")
def profiles():  # type: ignore[no-untyped-def]
    return load_profiles()


def test_the_baseline_and_one_overlay_per_document_ship(profiles) -> None:  # type: ignore[no-untyped-def]
    assert set(profiles) == {"national", *OVERLAYS}
    for overlay in OVERLAYS:
        assert profiles[overlay].chain == (overlay, "national")


@pytest.mark.parametrize("profile_id", ["national", *OVERLAYS])
def test_every_fixed_rule_resolves_in_every_profile(profiles, profile_id: str) -> None:  # type: ignore[no-untyped-def]
    rules = profiles[profile_id].rules
    missing = [rule_id for rule_id in FIXED_IDS if rule_id not in rules]
    assert missing == []
    for rule in rules.values():
        assert re.search(r"[\u4e00-\u9fff]", rule.title), rule.id
        assert rule.source.strip(), rule.id
        assert rule.ladder.steps, rule.id


@pytest.mark.parametrize("profile_id", OVERLAYS)
def test_each_overlay_adds_or_changes_rules_citing_its_own_document(profiles, profile_id: str) -> None:  # type: ignore[no-untyped-def]
    profile = profiles[profile_id]
    own = [
        rule for rule in profile.rules.values() if any(step.profile == profile_id for step in rule.provenance)
    ]
    assert own, f"{profile_id} contributes nothing"
    for rule in own:
        contribution = next(step for step in rule.provenance if step.profile == profile_id)
        assert DOCUMENT_MARKS[profile_id] in contribution.source, rule.id


def test_wujin_holds_the_organizational_life_meeting_half_yearly_and_the_baseline_yearly(profiles) -> None:  # type: ignore[no-untyped-def]
    assert profiles["national"].rules["organizational-life-meeting"].cadence is Cadence.YEAR
    wujin = profiles["wujin-2016"].rules["organizational-life-meeting"]
    assert wujin.cadence is Cadence.HALF_YEAR
    assert wujin.source == "武组发〔2016〕113号 二(三)2"
    # The override changes the cadence but keeps what it does not mention.
    assert wujin.record.file_with_parent and wujin.applies_to.kinds == frozenset({OrgKind.BRANCH})


def test_wujin_branch_terms_are_two_or_three_years(profiles) -> None:  # type: ignore[no-untyped-def]
    national = profiles["national"].rules["term-election"]
    wujin = profiles["wujin-2016"].rules["term-election"]
    assert national.term_for(OrgKind.BRANCH, 2) == 3  # not allowed nationally: the default stands
    assert wujin.term_for(OrgKind.BRANCH, 2) == 2
    assert wujin.term_for(OrgKind.BRANCH, None) == 3
    assert wujin.term_for(OrgKind.COMMITTEE, None) == 5  # merged, not replaced
    assert wujin.describe_cadence() == "任期届满换届（党支部2或3年，党总支3年，党委5年）"


def test_rule_shapes_follow_domain_md(profiles) -> None:  # type: ignore[no-untyped-def]
    rules = profiles["national"].rules
    assert rules["general-meeting"].record.quorum is Quorum.MAJORITY_OF_FULL
    assert rules["committee-meeting"].applies_to.min_full_members == 7
    assert rules["study-hours"].kind is RuleKind.QUOTA
    assert (rules["study-hours"].count, rules["study-hours"].officer_count) == (32, 56)
    assert rules["study-hours"].subject is Subject.MEMBER
    assert rules["dues-collection"].responsible == "organization"
    assert rules["term-election"].ladder.name == "long"
    assert [str(o) for o in rules["term-election"].ladder.lead_times] == ["6m", "3m", "1m"]
    assert [str(o) for o in rules["committee-meeting"].ladder.lead_times] == ["7d", "1d"]
    assert rules["vacancy-fill"].describe_cadence() == "职位空缺后6个月内"
    central = profiles["luoyang-2020"].rules["central-group-study"]
    assert (central.kind, central.count, central.cadence) == (RuleKind.QUOTA, 6, Cadence.YEAR)


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_every_problem_is_reported_at_once_with_file_rule_and_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "bad.toml",
        """
        [profile]
        id = "bad"
        title = "错误示例"
        extends = "national"

        [[rule]]
        id = "fortnightly"
        title = "双周会"
        kind = "periodic"
        cadence = "fortnight"
        applies_to = { kinds = ["branch"] }

        [[rule]]
        id = "typo-field"
        title = "拼写错误"
        kind = "periodic"
        cadence = "month"
        cadense = "month"
        applies_to = { kinds = ["brunch"] }
        source = "某文件"
        ladder = "weekly"

        [[rule]]
        id = "general-meeting"
        title = "重复"
        kind = "periodic"
        cadence = "month"
        applies_to = { kinds = ["branch"] }
        source = "某文件"

        [[override]]
        id = "no-such-rule"
        cadence = "month"
        source = "某文件"

        [[override]]
        id = "secretary-lesson"
        cadence = "month"

        [[disable]]
        id = "heart-to-heart-talk"
        """,
    )
    with pytest.raises(ProfileError) as caught:
        load_profiles([tmp_path])
    message = str(caught.value)
    file = str(bad)
    expected = [
        f"{file}：规则 fortnightly 字段 cadence：未知的周期 'fortnight'",
        f"{file}：规则 fortnightly 字段 source：缺少必填字段",
        f"{file}：规则 typo-field 字段 cadense：未知的字段",
        f"{file}：规则 typo-field 字段 applies_to：未知的组织类型 'brunch'",
        f"{file}：规则 general-meeting：规则已由",
        f"{file}：规则 no-such-rule：[[override]] 的规则在 bad → national 中都不存在",
        f"{file}：规则 secretary-lesson 字段 source：覆盖必须注明依据",
        f"{file}：规则 heart-to-heart-talk 字段 reason：停用规则必须说明理由",
    ]
    for line in expected:
        assert line in message, line
    assert message.startswith(f"职责日历有 {len(caught.value.problems)} 处错误")


def test_an_unknown_ladder_is_reported(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "ladder.toml",
        """
        [profile]
        id = "ladder"
        title = "阶梯"
        extends = "national"

        [[rule]]
        id = "weekly-thing"
        title = "周例会"
        kind = "periodic"
        cadence = "week"
        applies_to = { kinds = ["branch"] }
        source = "某文件"
        ladder = "weekly"
        """,
    )
    with pytest.raises(ProfileError, match="weekly-thing 字段 ladder：未定义的提醒阶梯 weekly"):
        load_profiles([tmp_path])


def test_a_cycle_in_extends_is_reported_with_its_path(tmp_path: Path) -> None:
    for name, parent in (("a", "b"), ("b", "c"), ("c", "a")):
        _write(
            tmp_path, f"{name}.toml", f'[profile]\nid = "{name}"\ntitle = "{name}"\nextends = "{parent}"\n'
        )
    with pytest.raises(ProfileError) as caught:
        load_profiles([tmp_path])
    assert "extends 出现循环：a → b → c → a" in str(caught.value)


def test_extending_a_missing_profile_names_the_known_ones(tmp_path: Path) -> None:
    _write(tmp_path, "x.toml", '[profile]\nid = "x"\ntitle = "x"\nextends = "natonal"\n')
    with pytest.raises(ProfileError, match=r"extends 指向不存在的职责日历 natonal，可选：.*national"):
        load_profiles([tmp_path])


def test_toml_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "broken.toml", '[profile]\nid = "broken"\ntitle = "坏"\nextends = \n')
    with pytest.raises(ProfileError) as caught:
        load_profiles([tmp_path])
    assert f"{path}：TOML 语法错误：第 4 行" in str(caught.value)


def test_a_local_profile_can_disable_and_add_rules(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "county.toml",
        """
        [profile]
        id = "county"
        title = "某县"
        extends = "wujin-2016"

        [[disable]]
        id = "mass-service-action"
        reason = "本县以季度举措代替"

        [[rule]]
        id = "mass-service-quarter"
        title = "联系服务群众季度举措"
        kind = "periodic"
        cadence = "quarter"
        applies_to = { kinds = ["branch"] }
        source = "某县委组织部文件 三(二)"
        """,
    )
    county = load_profile("county", [tmp_path])
    assert county.chain == ("county", "wujin-2016", "national")
    assert "mass-service-action" not in county.rules
    assert county.disabled["mass-service-action"] == "本县以季度举措代替"
    assert county.rules["mass-service-quarter"].cadence is Cadence.QUARTER
    assert county.rules["organizational-life-meeting"].cadence is Cadence.HALF_YEAR  # inherited from Wujin


def test_load_profile_names_the_known_profiles_when_one_is_missing() -> None:
    with pytest.raises(ProfileError, match="没有编号为 shanghai 的职责日历"):
        load_profile("shanghai")


def test_profile_ids_rule_ids_and_ladder_names_must_be_identifiers(tmp_path: Path) -> None:
    _write(tmp_path, "slash.toml", '[profile]\nid = "county/x"\ntitle = "某县"\nextends = "national"\n')
    county = _write(
        tmp_path,
        "county.toml",
        """
        [profile]
        id = "county"
        title = "某县"
        extends = "national"

        [ladder."fast lane"]
        steps = [{ name = "due", at = "0d", notify = ["responsible"] }]

        [[rule]]
        id = "weekly/../x"
        title = "周例会"
        kind = "periodic"
        cadence = "week"
        applies_to = { kinds = ["branch"] }
        source = "某文件"
        """,
    )
    with pytest.raises(ProfileError) as caught:
        load_profiles([tmp_path])

    rule = "只能由字母、数字和 . - _ 组成，且以字母或数字开头"
    assert [str(problem) for problem in caught.value.problems] == [
        f"{county}：[ladder.fast lane]：提醒阶梯名称'fast lane' {rule}",
        f"{tmp_path / 'slash.toml'}：[profile] id：职责日历编号'county/x' {rule}",
        f"{county}：规则 weekly/../x 字段 id：规则编号'weekly/../x' {rule}",
    ]


def test_every_step_of_every_shipped_ladder_has_a_chinese_name(profiles) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 §6: no 〔early〕 — the names messages and `rules show` print are Chinese, defined once."""
    for profile in profiles.values():
        for ladder in profile.ladders.values():
            for step in ladder.steps:
                assert re.fullmatch(r"[\u4e00-\u9fff]+", step.label), (profile.id, ladder.name, step.name)


def test_a_local_ladder_step_takes_its_label_or_is_named_after_its_offset(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "county.toml",
        """
        [profile]
        id = "county"
        title = "某县"
        extends = "national"

        [ladder.nudging]
        steps = [
            { name = "nudge", at = "-10d", label = "到期前十天提醒", notify = ["responsible"] },
            { name = "late", at = "+3d", notify = ["responsible", "secretary"] },
        ]
        """,
    )
    nudge, late = load_profiles([tmp_path])["county"].ladders["nudging"].steps
    assert (nudge.label, late.label) == ("到期前十天提醒", "逾期3天提醒")
