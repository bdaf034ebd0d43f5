"""Where each duty lives and what it cites (issue 10 §5): the national baseline holds only the duties a
national text sets; a duty whose only source is one city's document lives in that city's profile; every rule
an organization is given cites the documents that bind it, never another city's."""

from __future__ import annotations

import datetime as dt

import pytest

from calendars.expand import MemberFacts, OrgFacts, PositionFacts, Window, expand
from calendars.model import OrgKind, Profile
from calendars.profiles import load_profiles

D = dt.date
YEAR_2026 = Window(D(2026, 1, 1), D(2026, 12, 31))

# How each city's document is cited: its number or its issuer. The baseline cites none of them.
CITY_MARKERS = {
    "wujin-2016": ("武组发", "考核细则"),
    "haimen-2019": ("海门",),
    "luoyang-2020": ("洛阳",),
    "linyi-mengshan-2018": ("临蒙发",),
    "suzhou-2020": ("苏委工",),
}
ALL_MARKERS = tuple(marker for markers in CITY_MARKERS.values() for marker in markers)


@pytest.fixture(scope="module")
def profiles() -> dict[str, Profile]:
    return load_profiles()


def _sample(kind: OrgKind) -> OrgFacts:
    """A sample organization of `kind` with every trigger present: nine full members (one of them joined in
    July), one probationer, a term, a secretary appointed this year, a vacant seat and a staff member."""
    members = (
        *(
            MemberFacts(f"m{i}", "full", D(2010, 7, 1), staff_since=D(2021, 3, 1) if i == 0 else None)
            for i in range(9)
        ),
        MemberFacts("p1", "probationary", D(2025, 9, 1), probation_start=D(2025, 9, 1)),
    )
    positions = (
        PositionFacts("secretary", "m0", since=D(2026, 3, 1)),
        PositionFacts("deputy_secretary", vacant_since=D(2026, 2, 1)),
    )
    return OrgFacts(
        code="s", kind=kind, members=members, positions=positions, has_groups=True, elected_on=D(2023, 11, 20)
    )


def test_the_national_baseline_cites_only_national_texts(profiles: dict[str, Profile]) -> None:
    for rule in profiles["national"].rules.values():
        assert not any(marker in rule.source for marker in ALL_MARKERS), (rule.id, rule.source)


@pytest.mark.parametrize("profile_id", ["national", *CITY_MARKERS])
@pytest.mark.parametrize(
    "kind", [OrgKind.BRANCH, OrgKind.GENERAL_BRANCH, OrgKind.COMMITTEE, OrgKind.LEADING_GROUP]
)
def test_every_duty_of_a_sample_organization_cites_only_the_documents_that_bind_it(
    profiles: dict[str, Profile], profile_id: str, kind: OrgKind
) -> None:
    """A reminder prints the rule's citation: a Suzhou branch is never told of a Wujin clause."""
    profile = profiles[profile_id]
    foreign = tuple(m for pid, markers in CITY_MARKERS.items() if pid != profile_id for m in markers)
    occurrences = expand(profile, _sample(kind), YEAR_2026)
    assert occurrences
    for rule_id in {occurrence.rule for occurrence in occurrences}:
        citation = profile.rules[rule_id].citation
        assert citation and not any(marker in citation for marker in foreign), (rule_id, citation)


@pytest.mark.parametrize("profile_id", list(CITY_MARKERS))
def test_each_city_rule_cites_its_own_document(profiles: dict[str, Profile], profile_id: str) -> None:
    profile = profiles[profile_id]
    baseline = profiles["national"].rules
    for rule in profile.rules.values():
        if rule.id in baseline and rule.citation == baseline[rule.id].citation:
            continue  # a baseline duty the city leaves as it is
        assert any(marker in rule.citation for marker in CITY_MARKERS[profile_id]), (rule.id, rule.citation)


def test_a_city_override_adds_its_clause_after_the_national_one(profiles: dict[str, Profile]) -> None:
    """Wujin's 二(三)1 on the quarterly 支部党员大会 is cited after 《支部工作条例》第十一条, not instead of it."""
    citation = profiles["wujin-2016"].rules["general-meeting"].citation
    assert citation.startswith("《中国共产党支部工作条例（试行）》第十一条；")
    assert "武组发〔2016〕113号 二(三)1" in citation


# Duties no national text sets, and the profiles whose documents require them.
CITY_ONLY = {
    "party-lesson": {"wujin-2016"},  # 003 二(三)1: 党课一般每三个月安排一次
    "lesson-plan": {"wujin-2016"},  # 003 二(二)2、二(三)1: 每年初制定党课计划、支部教育计划
    "dues-base-review": {"wujin-2016"},  # 003 二(二)3: 党费基数核定一年一次
    "political-birthday": {"haimen-2019", "luoyang-2020"},  # 000 四(一)、附件9; 001 (十三)30
}


@pytest.mark.parametrize("rule_id", list(CITY_ONLY))
def test_a_duty_set_only_by_city_documents_lives_in_those_cities_profiles(
    profiles: dict[str, Profile], rule_id: str
) -> None:
    holding = {profile.id for profile in profiles.values() if rule_id in profile.rules}
    assert holding == CITY_ONLY[rule_id]


def test_political_birthdays_are_owed_in_haimen_but_not_in_suzhou(profiles: dict[str, Profile]) -> None:
    """000 四(一): 党员过“政治生日”; Suzhou's 方案 says nothing of it."""
    org = _sample(OrgKind.BRANCH)
    haimen = [o for o in expand(profiles["haimen-2019"], org, YEAR_2026) if o.rule == "political-birthday"]
    assert {o.subject for o in haimen} >= {"m0", "m8"} and {o.due for o in haimen} >= {D(2026, 7, 1)}
    assert not [o for o in expand(profiles["suzhou-2020"], org, YEAR_2026) if o.rule == "political-birthday"]


def test_new_secretary_training_cites_the_national_clause_first(profiles: dict[str, Profile]) -> None:
    rule = profiles["national"].rules["new-secretary-training"]
    assert rule.source.startswith("《中国共产党支部工作条例（试行）》")
    luoyang = profiles["luoyang-2020"].rules["new-secretary-training"].citation
    assert luoyang.startswith("《中国共产党支部工作条例（试行）》") and "(十一)24" in luoyang


def test_the_six_month_vacancy_fill_is_the_baselines_reading_of_timely_and_its_note_says_so(
    profiles: dict[str, Profile],
) -> None:
    rule = profiles["national"].rules["vacancy-fill"]
    assert str(rule.offset) == "6m"
    assert "及时补选" in rule.note and "默认" in rule.note and "6个月" in rule.note


def test_haimen_general_branches_hold_the_yearly_democratic_life_meeting(
    profiles: dict[str, Profile],
) -> None:
    """000 附件9: 党委（党总支）每年至少召开1次班子成员民主生活会."""
    general_branch = _sample(OrgKind.GENERAL_BRANCH)
    (meeting,) = [
        o
        for o in expand(profiles["haimen-2019"], general_branch, YEAR_2026)
        if o.rule == "democratic-life-meeting"
    ]
    assert (meeting.period, meeting.due) == ("2026", D(2026, 12, 31))
    assert "附件9" in profiles["haimen-2019"].rules["democratic-life-meeting"].citation
    national = expand(profiles["national"], general_branch, YEAR_2026)
    assert not [o for o in national if o.rule == "democratic-life-meeting"]


def test_suzhou_building_plans_are_due_before_february(profiles: dict[str, Profile]) -> None:
    """004 三2: 「2021年、2022年2月前」 制定建设计划 — before February is 31 January (2020: 6月底前)."""
    org = _sample(OrgKind.BRANCH)
    (plan,) = [o for o in expand(profiles["suzhou-2020"], org, YEAR_2026) if o.rule == "building-plan"]
    assert plan.due == D(2026, 1, 31)
    first = Window(D(2020, 1, 1), D(2020, 12, 31))
    (plan_2020,) = [o for o in expand(profiles["suzhou-2020"], org, first) if o.rule == "building-plan"]
    assert plan_2020.due == D(2020, 6, 30)


def test_haimen_keeps_a_committees_five_year_term_and_its_note_says_why(profiles: dict[str, Profile]) -> None:
    """000 附件4 writes 机关党组织每届任期3年; the profile deliberately keeps the national 5 years for a 机关党委."""
    rule = profiles["haimen-2019"].rules["term-election"]
    assert "附件4" in rule.note and "机关党委" in rule.note and "5年" in rule.note
    committee = OrgFacts("c", OrgKind.COMMITTEE, elected_on=D(2022, 3, 10))
    window = Window(D(2027, 1, 1), D(2027, 12, 31))
    (term,) = [o for o in expand(profiles["haimen-2019"], committee, window) if o.rule == "term-election"]
    assert term.due == D(2027, 3, 10)
    branch = OrgFacts("b", OrgKind.BRANCH, elected_on=D(2023, 11, 20))
    (branch_term,) = [
        o for o in expand(profiles["haimen-2019"], branch, YEAR_2026) if o.rule == "term-election"
    ]
    assert branch_term.due == D(2026, 11, 20)


# The article of 《中国共产党支部工作条例（试行）》(2018) that sets each national duty. Checked against the text:
# 第十一条 (党员大会 每季度), 第十二条 (支委会 每月), 第十三条 (党小组会 每月), 第十四条 (who convenes) and 第十七条
# (组织生活会 每年, 第四季度) are quoted with their numbers in published copies; 第十五条 (三会一课, 党课) and 第十六条
# (主题党日) are the two articles between 第十四条 and 第十七条, in the 条例's own order (三会一课, 主题党日,
# 组织生活会, 民主评议党员, 谈心谈话), which puts 民主评议党员 and 谈心谈话 at 第十八条 and 第十九条.
BRANCH_REGULATION_ARTICLES = {
    "general-meeting": "第十一条",
    "committee-meeting": "第十二条",
    "group-meeting": "第十三条",
    "secretary-lesson": "第十五条",
    "theme-party-day": "第十六条",
    "organizational-life-meeting": "第十七条",
    "member-appraisal": "第十八条",
    "heart-to-heart-talk": "第十九条",
}


@pytest.mark.parametrize(("rule_id", "article"), sorted(BRANCH_REGULATION_ARTICLES.items()))
def test_national_duties_cite_the_article_of_the_branch_regulation_that_sets_them(
    profiles: dict[str, Profile], rule_id: str, article: str
) -> None:
    source = profiles["national"].rules[rule_id].source
    assert source.startswith(f"《中国共产党支部工作条例（试行）》{article}"), source
