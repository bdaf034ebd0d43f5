"""A 党小组 is part of its branch (issue 10 §1), on SQLite and PostgreSQL: one read model of the registry decides
who counts where — the 支部大会 that discusses a group member's 转正, who is a 班子成员 (56 学时) — and
`org list`/`org show` give a branch's total with its groups' share."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from calendars.model import OrgKind
from calendars.profiles import load_profiles
from obligations import importer, ledger, planner, planstate, roster
from obligations.db import session_scope
from obligations.errors import LedgerError
from obligations.models import Task
from obligations.registry import MemberRecord, OrgRecord, PositionRecord, Registry, validate
from tests.obligations.conftest import run
from tests.obligations.registry_fixtures import member

D = dt.date
AS_OF = D(2026, 11, 21)
NOW = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
PROFILES = load_profiles()


def _registry(profile: str = "haimen-2019") -> Registry:
    """机关党委 jg; its branch jg.b1 has 4 members of its own and a 党小组 of 6 (one probationary).

    The branch secretary g1 sits in the group; the group's leader g2 holds no committee seat.
    """
    orgs = (
        OrgRecord("jg", "机关党委", OrgKind.COMMITTEE, None, profile, D(2022, 3, 10), None),
        OrgRecord("jg.b1", "第一党支部", OrgKind.BRANCH, "jg", None, D(2024, 6, 20), None),
        OrgRecord("jg.b1.g1", "第一党小组", OrgKind.GROUP, "jg.b1", None, None, None),
    )
    probationary = MemberRecord(
        "gp", "预备党员甲", "jg.b1.g1", "probationary", D(2025, 11, 1), D(2025, 11, 1), None, None, None, None
    )
    members = (
        member("c1", "jg"),
        *(member(f"b{i}", "jg.b1") for i in range(1, 4)),
        *(member(f"g{i}", "jg.b1.g1") for i in range(1, 6)),
        probationary,
    )
    positions = (
        PositionRecord("jg", "secretary", "c1", D(2022, 3, 10), None),
        PositionRecord("jg.b1", "secretary", "g1", D(2024, 6, 20), None),
        PositionRecord("jg.b1", "organization", "b1", D(2024, 6, 20), None),
        PositionRecord("jg.b1.g1", "group_leader", "g2", D(2024, 7, 1), None),
    )
    return Registry(orgs, members, positions)


def _import(engine: Engine, registry: Registry) -> None:
    with session_scope(engine) as session:
        existing = importer.existing_registry(session)
        assert validate(registry, file="test", existing=existing, as_of=AS_OF, profiles=PROFILES) == []
        importer.apply(session, registry, prune=False, default_profile="national", as_of=AS_OF)
        planner.ensure_planned(session, PROFILES, AS_OF, planstate.default_horizon(AS_OF))


@pytest.fixture
def planned(engine: Engine) -> Engine:
    _import(engine, _registry())
    return engine


def _tasks(session: Session, rule: str, period: str | None = None) -> dict[tuple[str, str], Task]:
    query = select(Task).where(col(Task.rule) == rule)
    if period is not None:
        query = query.where(col(Task.period) == period)
    return {(task.org, task.subject): task for task in session.exec(query)}


def test_study_hours_follow_committee_seats_not_the_group_leader_s(planned: Engine) -> None:
    """000 附件7–8, 002 三(二): 56 学时 for 班子成员 wherever they sit, 32 for a 党小组长 without a committee seat."""
    with session_scope(planned) as session:
        hours = {
            subject: task.required_count
            for (_, subject), task in _tasks(session, "study-hours", "2026").items()
        }
    assert hours["g1"] == 56  # the branch secretary, who sits in the group
    assert hours["g2"] == 32  # the group's leader only
    assert hours["c1"] == 56  # the 党委's secretary
    assert hours["b1"] == 56  # a branch committee member
    assert hours["b2"] == hours["g3"] == 32


def test_officer_training_is_owed_by_every_committee_member_wherever_they_sit(planned: Engine) -> None:
    """000 附件7: 党组织书记及班子成员每人每年至少参加1次集中培训 — by seat on the branch or the 党委."""
    with session_scope(planned) as session:
        owed = set(_tasks(session, "officer-central-training", "2026"))
    assert owed == {("jg.b1", "g1"), ("jg.b1", "b1"), ("jg", "c1")}


def test_a_group_members_conversion_is_decided_by_the_branch_meeting(planned: Engine, tmp_path: Path) -> None:
    """党章第七条、《支部工作条例》第十一条: the 支部大会 discusses a group member's 转正; branch members outside
    the group attend and vote, and the quorum is the branch's 8 full members, not the group's 5."""
    minutes = tmp_path / "支部大会记录.txt"
    minutes.write_text("讨论预备党员甲转正", encoding="utf-8")

    def activity(*attendees: str) -> ledger.Activity:
        return ledger.Activity(
            held_on=D(2026, 11, 10), place="党员活动室", host="g1", topic="讨论预备党员甲转正",
            attendees=attendees, minutes=(minutes,),
        )  # fmt: skip

    with session_scope(planned) as session:
        (task,) = _tasks(session, "probation-review").values()
        assert (task.org, task.subject) == ("jg.b1.g1", "gp")
        assert task.assignee == "g1"  # the branch secretary holds a group member's 转正 discussion
        with pytest.raises(LedgerError) as refused:
            ledger.record(
                session, PROFILES, [task], activity("g1", "g2", "g3", "g4"),
                as_of=AS_OF, now=NOW, attachments_dir=tmp_path / "files",
            )  # fmt: skip
        assert "未超过应到会正式党员 8 人的半数" in str(refused.value)
        recorded = ledger.record(
            session, PROFILES, [task], activity("b1", "b2", "b3", "g1", "g2"),
            as_of=AS_OF, now=NOW, attachments_dir=tmp_path / "files",
        )  # fmt: skip
        assert recorded.tasks[0].status == "done"


def test_the_read_model_counts_a_branch_with_its_groups(planned: Engine) -> None:
    """《支部工作条例》第五条: a group member is a member of the branch for every count (≥7 → 支委会)."""
    with session_scope(planned) as session:
        registry = roster.load(session)
        count = registry.headcount("jg.b1")
        assert (count.full, count.probationary, count.in_groups) == (8, 1, 6)
        assert count.describe() == "9（其中党小组 6）"
        assert registry.voting_members("jg.b1.g1") == registry.members_of("jg.b1")
        assert roster.load(session, around="jg.b1.g1").headcount("jg.b1") == count
        assert set(_tasks(session, "committee-meeting", "2026-11")) == {("jg.b1", "jg.b1")}


def test_org_list_and_show_give_the_branch_total_with_the_groups_share(
    workspace: tuple[Path, str],
) -> None:
    """`org list` / `org show` show the number the documents are about: the branch with its 党小组."""
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(workspace[0].parent / "registry.toml"), "--as-of", "2026-11-21")
    assert result.exit_code == 0, result.stderr
    listing = run(workspace, "org", "list").stdout
    (line,) = [row for row in listing.splitlines() if row.strip().startswith("jg.b1 ")]
    assert "9（其中党小组 2）" in line  # 7 of its own and 2 in jg.b1.g1 (tests/obligations/conftest.py)
    shown = run(workspace, "org", "show", "jg.b1").stdout
    assert "党员总数：9（其中党小组 2）" in shown
