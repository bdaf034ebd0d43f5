"""Organization shape advisories and term checks (issue 10 §2): warnings from each profile's clause — at import,
in `org show`/`org list` and in the report — never a refusal; a term the profile does not allow is refused."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from calendars.model import OrgKind
from calendars.profiles import load_profiles
from obligations.registry import OrgRecord, Registry, validate
from tests.obligations.conftest import run

PROFILES = load_profiles()
HAIMEN = PROFILES["haimen-2019"]
LINYI = PROFILES["linyi-mengshan-2018"]


def _advised(profile_id: str, kind: OrgKind, members: int, full: int, groups: bool = False) -> list[str]:
    return PROFILES[profile_id].shape_advice(kind, members, full, groups)


@pytest.mark.parametrize(
    ("profile_id", "members", "expected"),
    [
        ("haimen-2019", 19, False),  # 000 附件 一1: 党员人数在20人以上的党支部，应当划分若干党小组
        ("haimen-2019", 20, True),
        ("linyi-mengshan-2018", 30, False),  # 002 一(一): 原则上党员人数超过30人的党支部要划分党小组
        ("linyi-mengshan-2018", 31, True),
        ("national", 40, False),  # the national texts set no number
    ],
)
def test_a_large_branch_without_groups_is_advised_by_its_profile_s_clause(
    profile_id: str, members: int, expected: bool
) -> None:
    advice = _advised(profile_id, OrgKind.BRANCH, members, members)
    assert any("党小组" in line for line in advice) is expected
    assert not any("党小组" in line for line in _advised(profile_id, OrgKind.BRANCH, members, members, True))


def test_size_advisories_name_the_expected_body_and_their_clause() -> None:
    """000 附件 一1: 50-100人的成立党总支，100人以上的成立党委; 002 一(一): 超过50人 / 超过100人."""
    assert not any("党总支" in line for line in _advised("haimen-2019", OrgKind.BRANCH, 49, 49, True))
    (fifty,) = _advised("haimen-2019", OrgKind.BRANCH, 50, 50, True)
    assert "党总支" in fifty and "附件 一1" in fifty and "现有党员 50 人" in fifty
    (hundred,) = _advised("haimen-2019", OrgKind.BRANCH, 100, 100, True)
    assert "党总支" in hundred
    (more,) = _advised("haimen-2019", OrgKind.BRANCH, 101, 101, True)
    assert "党委" in more
    (general,) = _advised("haimen-2019", OrgKind.GENERAL_BRANCH, 120, 120)
    assert "党委" in general
    assert _advised("linyi-mengshan-2018", OrgKind.BRANCH, 50, 50, True) == []
    (linyi,) = _advised("linyi-mengshan-2018", OrgKind.BRANCH, 51, 51, True)
    assert "总支部" in linyi and "临蒙发〔2018〕13号 一(一)" in linyi


def test_a_branch_with_fewer_than_three_full_members_is_advised_in_every_profile() -> None:
    """党章第三十条 (000 附件 一1; 002 一(一)): a branch needs three full members."""
    for profile_id in PROFILES:
        (advice,) = _advised(profile_id, OrgKind.BRANCH, 4, 2)
        assert "正式党员" in advice and "第三十条" in advice
        assert _advised(profile_id, OrgKind.BRANCH, 3, 3) == []


def _write(tmp: Path, profile: str, branch_members: int, *, group: bool = False, full: bool = True) -> Path:
    lines = [
        f'[[org]]\ncode = "jg"\nname = "机关党委"\nkind = "committee"\nprofile = "{profile}"\n',
        '[[org]]\ncode = "jg.b1"\nname = "第一党支部"\nkind = "branch"\nparent = "jg"\n',
    ]
    if group:
        lines.append('[[org]]\ncode = "jg.b1.g1"\nname = "第一党小组"\nkind = "group"\nparent = "jg.b1"\n')
    for index in range(branch_members):
        org = "jg.b1.g1" if group and index % 2 else "jg.b1"
        status = "full" if full or index < 2 else "probationary"
        extra = "probation_start = 2026-06-01\n" if status == "probationary" else ""
        lines.append(
            f'[[member]]\nid = "m{index}"\nname = "党员{index}"\norg = "{org}"\nstatus = "{status}"\n'
            f"joined_on = 2015-07-01\n{extra}"
        )
    path = tmp / "registry.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


GROUPS_NEEDED = "党员人数在20人以上的党支部应当划分若干党小组（现有党员 20 人；依据：海门市级机关党组织示范化建设任务清单 附件 一1）"


def test_the_advisory_is_shown_at_import_in_org_show_org_list_and_the_report(
    workspace: tuple[Path, str],
) -> None:
    """000 附件 一1: a Haimen branch of 20 members without 党小组 is imported, with the warning everywhere."""
    assert run(workspace, "init").exit_code == 0
    path = _write(workspace[0].parent, "haimen-2019", 20)
    imported = run(workspace, "import", str(path), "--as-of", "2026-11-21")
    assert imported.exit_code == 0, imported.stderr
    assert GROUPS_NEEDED in imported.stderr and "jg.b1" in imported.stderr
    assert GROUPS_NEEDED in run(workspace, "org", "show", "jg.b1").stdout
    listing = run(workspace, "org", "list").stdout
    assert f"jg.b1（第一党支部）：{GROUPS_NEEDED}" in listing
    report = run(workspace, "report", "--year", "2026", "--as-of", "2026-11-21").stdout
    assert GROUPS_NEEDED in report
    record = json.loads(
        run(workspace, "report", "--year", "2026", "--as-of", "2026-11-21", "--format", "json").stdout
    )
    assert record["advisories"] == [{"org": "jg.b1", "org_name": "第一党支部", "advisory": GROUPS_NEEDED}]
    assert "党小组" not in run(workspace, "org", "show", "jg").stdout.split("职务")[0]


def test_a_branch_counted_with_its_groups_meets_no_group_advisory(workspace: tuple[Path, str]) -> None:
    """000 附件 一1: members in the branch's 党小组 count in the branch; with groups, no 党小组 advisory."""
    assert run(workspace, "init").exit_code == 0
    path = _write(workspace[0].parent, "haimen-2019", 20, group=True)
    imported = run(workspace, "import", str(path), "--as-of", "2026-11-21")
    assert imported.exit_code == 0, imported.stderr
    assert "组织设置提示" not in imported.stderr
    shown = run(workspace, "org", "show", "jg.b1").stdout
    assert "党员总数：20（其中党小组 10）" in shown and "组织设置提示" not in shown


def test_a_dry_run_also_warns_and_a_small_branch_is_warned_not_refused(workspace: tuple[Path, str]) -> None:
    """党章第三十条: two full members (and probationary ones) make no branch — a warning, the import goes on."""
    assert run(workspace, "init").exit_code == 0
    path = _write(workspace[0].parent, "national", 4, full=False)
    dry = run(workspace, "import", str(path), "--dry-run", "--as-of", "2026-11-21")
    assert dry.exit_code == 0 and "现有正式党员 2 人" in dry.stderr
    imported = run(workspace, "import", str(path), "--as-of", "2026-11-21")
    assert imported.exit_code == 0 and "现有正式党员 2 人" in imported.stderr
    assert "jg.b1" in run(workspace, "org", "list").stdout


# ---------------------------------------------------------------------------------------------------
# term_years


def _term_problems(profile: str | None, kind: OrgKind, years: int) -> list[str]:
    orgs = (
        OrgRecord("jg", "机关党委", OrgKind.COMMITTEE, None, "national", None, None),
        OrgRecord("jg.b1", "第一党支部", kind, "jg", profile, dt.date(2024, 6, 20), years),
    )
    problems = validate(
        Registry(orgs, (), ()),
        file="registry.toml",
        existing=Registry(),
        as_of=dt.date(2026, 11, 21),
        profiles=PROFILES,
        default_profile="national",
    )
    return [str(problem) for problem in problems]


def test_a_term_the_profile_does_not_allow_is_a_registry_problem() -> None:
    """003 二(一)3: a Wujin branch serves 2 or 3 years; 4 is refused, not silently replaced by 3."""
    (problem,) = _term_problems("wujin-2016", OrgKind.BRANCH, 4)
    assert "term_years" in problem and "任期 4 年不符合职责日历 wujin-2016" in problem and "2或3" in problem
    assert _term_problems("wujin-2016", OrgKind.BRANCH, 2) == []
    assert _term_problems("wujin-2016", OrgKind.BRANCH, 3) == []


def test_a_term_is_checked_against_the_inherited_profile() -> None:
    """《关于党的基层组织任期的意见》: a branch under the national baseline serves 3 years (inherited from jg)."""
    (problem,) = _term_problems(None, OrgKind.BRANCH, 2)
    assert "national" in problem and "3 年" in problem
    assert _term_problems(None, OrgKind.BRANCH, 3) == []
    (group,) = _term_problems(None, OrgKind.LEADING_GROUP, 5)
    assert "没有党组的任期规定" in group


def test_importing_a_disallowed_term_exits_4_and_imports_nothing(workspace: tuple[Path, str]) -> None:
    """003 二(一)3 through the command line: exit status 4, one Chinese message, nothing stored."""
    assert run(workspace, "init").exit_code == 0
    path = workspace[0].parent / "wujin.toml"
    path.write_text(
        '[[org]]\ncode = "wj"\nname = "武进某支部"\nkind = "branch"\nprofile = "wujin-2016"\n'
        "elected_on = 2025-01-10\nterm_years = 5\n",
        encoding="utf-8",
    )
    result = run(workspace, "import", str(path), "--as-of", "2026-11-21")
    assert result.exit_code == 4
    assert "任期 5 年不符合职责日历 wujin-2016" in result.stderr and "Traceback" not in result.stderr
    assert "wj" not in run(workspace, "org", "list").stdout
