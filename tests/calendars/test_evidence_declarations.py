"""What a record must show, as each shipped profile declares it, checked against the clauses (issue 10 §3)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from calendars.evidence_table import BEGIN, END, domain_table, replace_table
from calendars.model import Evidence, Quorum, Role, Unit
from calendars.periods import Cadence
from calendars.profiles import ProfileError, load_profiles

PROFILES = load_profiles()
README = Path(__file__).resolve().parents[2] / "README.md"

# 003 二(四)3: the 组织生活台账 records 三会一课、统一活动日、组织生活会 with 参加人员 (and 民主评议, a meeting of
# all members, 003 二(二)4), so every profile's record of them names who attended.
WITH_ATTENDEES = (
    "general-meeting",
    "committee-meeting",
    "group-meeting",
    "party-lesson",
    "secretary-lesson",
    "theme-party-day",
    "organizational-life-meeting",
    "member-appraisal",
)


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_three_meetings_one_lesson_theme_day_and_life_meeting_records_name_their_attendees_003_2_4_3(
    profile_id: str,
) -> None:
    rules = PROFILES[profile_id].rules
    # The quarterly 党课 is Wujin's rule (003 二(三)1); the national texts set no cadence for it.
    expected = [rule for rule in WITH_ATTENDEES if rule != "party-lesson" or profile_id == "wujin-2016"]
    for rule_id in expected:
        assert rules[rule_id].record.requires(Evidence.ATTENDEES), (profile_id, rule_id)


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_each_meeting_declares_whose_majority_makes_its_quorum(profile_id: str) -> None:
    """支部工作条例 第十一条 (党员大会: more than half of the voting members), 第十二条 (支委会: more than half of
    the committee); 选举工作条例 (换届: more than four fifths); 党章 第七条 (转正 decided by the 支部大会)."""
    rules = PROFILES[profile_id].rules
    assert rules["general-meeting"].record.quorum is Quorum.MAJORITY_OF_FULL
    assert rules["committee-meeting"].record.quorum is Quorum.MAJORITY_OF_COMMITTEE
    assert rules["term-election"].record.quorum is Quorum.FOUR_FIFTHS_OF_VOTING
    assert rules["probation-review"].record.quorum is Quorum.MAJORITY_OF_FULL


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_the_secretary_lesson_names_a_lecturer_who_holds_the_secretary_seat_000_4_1_003_2_3_1(
    profile_id: str,
) -> None:
    spec = PROFILES[profile_id].rules["secretary-lesson"].record
    assert spec.lecturer is Role.SECRETARY and spec.requires(Evidence.LECTURER)
    assert (
        "主讲人须为书记（空缺时由副书记代）"
        in PROFILES[profile_id].rules["secretary-lesson"].describe_record()
    )


def test_linyi_fixed_study_days_count_days_not_sessions_002_3_2() -> None:
    rule = PROFILES["linyi-mengshan-2018"].rules["study-days"]
    assert (rule.unit, rule.count, rule.cadence) == (Unit.DAYS, 2, Cadence.MONTH)
    assert "按不同日期计天数" in rule.describe_record()


FILED_WITH_PARENT = {"organizational-life-meeting", "democratic-life-meeting"}


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_records_filed_with_the_parent_are_exactly_those_the_documents_send_up(profile_id: str) -> None:
    """组织生活会: 会后形成会议记录报送上级党组织备案 (003 二(三)2); 民主生活会 likewise; Suzhou's 评估验收 is
    reported to the 市委市级机关工委 for the record (004 三4). No other duty is filed."""
    filed = {rule.id for rule in PROFILES[profile_id].rules.values() if rule.record.file_with_parent}
    expected = FILED_WITH_PARENT | ({"standard-assessment"} if profile_id == "suzhou-2020" else set())
    assert filed == expected


@pytest.mark.parametrize("profile_id", sorted(PROFILES))
def test_no_shipped_rule_demands_an_attached_file_the_documents_do_not_ask_for(profile_id: str) -> None:
    # 003 二(四)3's 台账 is the record book itself; a rule that set `minutes` would refuse every paper record.
    assert not [r.id for r in PROFILES[profile_id].rules.values() if r.record.requires(Evidence.MINUTES)]


def _profile(directory: Path, record: str, *, override: str = "") -> None:
    text = f"""
        [profile]
        id = "local"
        title = "本地"
        extends = "national"

        [[rule]]
        id = "local-meeting"
        title = "本地会议"
        kind = "periodic"
        cadence = "month"
        applies_to = {{ kinds = ["branch"] }}
        record = {record}
        source = "本地文件 一(一)"
        {override}
    """
    (directory / "local.toml").write_text(textwrap.dedent(text), encoding="utf-8")


def test_a_declaration_reads_its_fields_quorum_and_lecturer_seat(tmp_path: Path) -> None:
    _profile(tmp_path, '{ place = true, topic = true, form = false, lecturer = "deputy_secretary" }')
    spec = load_profiles([tmp_path])["local"].rules["local-meeting"].record
    assert spec.fields == (Evidence.PLACE, Evidence.TOPIC, Evidence.LECTURER)
    assert spec.lecturer is Role.DEPUTY_SECRETARY


def test_an_override_adds_one_evidence_field_and_keeps_the_others(tmp_path: Path) -> None:
    override = """
        [[override]]
        id = "theme-party-day"
        record = { place = true, topic = true }
        source = "本地文件 二(一)"
    """
    _profile(tmp_path, "{ attendees = true }", override=override)
    spec = load_profiles([tmp_path])["local"].rules["theme-party-day"].record
    assert spec.fields == (Evidence.PLACE, Evidence.ATTENDEES, Evidence.TOPIC)


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ('{ quorum = "majority_of_full" }', "有法定人数要求的记录须登记参加人员"),
        ('{ attendees = true, lecturer = "chairman" }', "未知的主讲人职务 'chairman'"),
        ("{ attendees = true, photos = true }", "未知的键 photos"),
        ('{ place = "yes" }', "应为 true 或 false"),
    ],
)
def test_a_declaration_that_cannot_be_enforced_is_a_profile_problem(
    tmp_path: Path, record: str, message: str
) -> None:
    _profile(tmp_path, record)
    with pytest.raises(ProfileError) as error:
        load_profiles([tmp_path])
    assert message in str(error.value) and "local-meeting" in str(error.value)


def test_the_readme_domain_table_is_the_one_generated_from_the_profiles() -> None:
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text and END in text
    assert replace_table(text, domain_table(PROFILES)) == text


def test_the_domain_table_lists_every_profile_with_its_own_rules_and_their_evidence() -> None:
    table = domain_table(PROFILES)
    for profile_id in PROFILES:
        assert f"**`{profile_id}`**" in table
    assert "| `study-days` | 固定学习日 | 每月不少于2天 | 日期、参加人员、按不同日期计天数 |" in table
    assert "| `standard-assessment` |" in table and "报上级党组织备案 |" in table


def test_the_declaration_in_machine_form_is_what_a_form_needs() -> None:
    rules = PROFILES["wujin-2016"].rules
    assert rules["secretary-lesson"].record.as_data() == {
        "required": ["attendees", "lecturer"],
        "quorum": None,
        "lecturer": "secretary",
        "file_with_parent": False,
    }
    assert rules["organizational-life-meeting"].record.as_data()["file_with_parent"] is True
    assert rules["general-meeting"].record.as_data()["quorum"] == "majority_of_full"
