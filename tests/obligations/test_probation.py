"""The 转正 discussion (《中国共产党章程》第七条): when it may be held, who decides, and what each outcome does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlmodel import col, select

from obligations.models import Completion, Member, ProbationDecision, Task
from tests.obligations.conftest import run
from tests.obligations.member_registry import BRANCH_FULL, attending, due, load, session

AS_OF = ("--as-of", "2026-12-15")
QUORUM = attending(BRANCH_FULL[:6])  # 6 of the branch's 10 full members: more than half


@pytest.fixture
def members(workspace: tuple[Path, str]) -> tuple[Path, str]:
    return load(workspace, "2026-11-21")


def _decide(workspace: tuple[Path, str], member: str, *args: str) -> tuple[int, str]:
    result = run(workspace, "probation", "decide", member, *args, *AS_OF)
    return result.exit_code, result.stdout + result.stderr


def _member(workspace: tuple[Path, str], member_id: str) -> Member:
    with session(workspace) as db_session:
        found = db_session.get(Member, member_id)
        assert found is not None
        return found


def test_party_constitution_art7_conversion_is_not_discussed_before_the_probation_ends(
    members: tuple[Path, str],
) -> None:
    """党章 第七条, 发展党员工作细则 第三十二条: 预备期满，党支部应当及时讨论 — the end calls the meeting. g1p1's
    probation began 2025-12-10 and ends 2026-12-10: a discussion on 2026-12-09 is refused, on 2026-12-10 accepted."""
    code, text = _decide(members, "g1p1", "--on", "2026-12-09", "--outcome", "转正", *QUORUM)
    assert code == 6
    assert "过早" in text and "最早可在 2026-12-10" in text and "第七条" in text and "第三十二条" in text
    with session(members) as db_session:
        assert db_session.exec(select(Completion)).first() is None
        assert db_session.exec(select(ProbationDecision)).first() is None
    assert _member(members, "g1p1").status == "probationary"
    code, text = _decide(members, "g1p1", "--on", "2026-12-10", "--outcome", "转正", *QUORUM)
    assert code == 0, text


def test_party_constitution_art7_conversion_makes_the_member_full_as_of_the_probation_end(
    members: tuple[Path, str],
) -> None:
    code, text = _decide(members, "g1p1", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 0, text
    assert "转正日期 2026-12-10" in text
    member = _member(members, "g1p1")
    assert (member.status, member.full_on, member.active) == ("full", dt.date(2026, 12, 10), True)
    review = [r for r in due(members, "2026-12-15", "--rule", "probation-review") if r["subject"] == "g1p1"]
    assert [(r["status"], r["period"]) for r in review] == [("done", "probation:2025-12-10")]
    # The 支部大会 that decided is the branch's 党员大会 of that quarter.
    meeting = [r for r in due(members, "2026-12-15", "--org", "jg.b1", "--rule", "general-meeting")]
    assert {r["period"]: r["status"] for r in meeting}["2026-Q4"] == "done"


def test_a_group_member_is_decided_by_the_branch_meeting_against_the_branch_quorum(
    members: tuple[Path, str],
) -> None:
    # g1p1 sits in the 党小组: the 支部大会 of jg.b1 decides, and more than half of its 10 full members
    # (7 in the branch, 3 in the group) must attend; branch members outside the group may attend.
    code, text = _decide(
        members, "g1p1", "--on", "2026-12-12", "--outcome", "转正", *attending(BRANCH_FULL[:5])
    )
    assert code == 6
    assert "到会正式党员 5 人，未超过应到会正式党员 10 人的半数（须至少 6 人）" in text
    code, text = _decide(members, "g1p1", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 0, text
    with session(members) as db_session:
        (completion,) = db_session.exec(select(Completion)).all()
        (decision,) = db_session.exec(select(ProbationDecision)).all()
    assert completion.org == "jg.b1" and decision.org == "jg.b1"


def test_party_constitution_art7_extension_opens_a_new_review_due_at_the_new_end(
    members: tuple[Path, str],
) -> None:
    code, text = _decide(
        members, "b1p1", "--on", "2026-11-26", "--outcome", "延长", "--until", "2027-08-25", *QUORUM
    )
    assert code == 0, text
    member = _member(members, "b1p1")
    assert (member.status, member.probation_until) == ("probationary", dt.date(2027, 8, 25))
    review = {
        r["period"]: r
        for r in due(members, "2026-12-15", "--rule", "probation-review")
        if r["subject"] == "b1p1"
    }
    assert review["probation:2025-11-25"]["status"] == "done"
    assert review["probation-extended:2027-08-25"]["status"] == "open"
    assert review["probation-extended:2027-08-25"]["due"] == "2027-08-25"
    # At the new end the branch decides again; the early bound now follows the new end.
    code, text = _decide(members, "b1p1", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 6 and "2027-08-25" in text


@pytest.mark.parametrize(
    ("until", "message"),
    [
        ("2026-12-25", "延长预备期至少半年"),  # one month
        ("2027-11-26", "延长预备期不能超过一年"),  # a year and a day after the one-year end
    ],
)
def test_party_constitution_art7_an_extension_is_six_to_twelve_months(
    members: tuple[Path, str], until: str, message: str
) -> None:
    code, text = _decide(
        members, "b1p1", "--on", "2026-11-26", "--outcome", "延长", "--until", until, *QUORUM
    )
    assert code == 6
    assert message in text
    assert _member(members, "b1p1").probation_until is None


def test_party_constitution_art7_a_second_extension_cannot_pass_one_year_in_all(
    members: tuple[Path, str],
) -> None:
    code, text = _decide(
        members, "b1p1", "--on", "2026-11-26", "--outcome", "延长", "--until", "2027-05-25", *QUORUM
    )
    assert code == 0, text
    run(members, "due", *AS_OF)
    code, text = _decide(
        members, "b1p1", "--on", "2026-12-12", "--outcome", "延长", "--until", "2027-12-25", *QUORUM
    )
    assert code == 6
    assert "延长预备期不能超过一年" in text and "2027-11-25" in text


def test_cancellation_takes_the_member_off_the_roll_and_keeps_the_history(members: tuple[Path, str]) -> None:
    code, text = _decide(members, "b1p1", "--on", "2026-11-26", "--outcome", "取消", *QUORUM)
    assert code == 0, text
    member = _member(members, "b1p1")
    assert (member.active, member.status) == (False, "probationary")
    with session(members) as db_session:
        (decision,) = db_session.exec(select(ProbationDecision)).all()
        assert (decision.outcome, decision.probation_end) == ("cancelled", dt.date(2026, 11, 25))
        # Inactive members are not planned: nothing new is owed for them, the decided review stays.
        tasks = db_session.exec(select(Task).where(col(Task.subject) == "b1p1")).all()
        assert [task.status for task in tasks if task.rule == "probation-review"] == ["done"]
    assert "b1p1" not in run(members, "org", "show", "jg.b1").stdout


def test_a_decision_needs_a_probationary_member_and_a_known_outcome(members: tuple[Path, str]) -> None:
    code, text = _decide(members, "b1m3", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 1 and "不是预备党员" in text
    code, text = _decide(members, "g1p1", "--on", "2026-12-12", "--outcome", "通过", *QUORUM)
    assert code == 2 and "转正、延长 或 取消" in text
    code, text = _decide(members, "nobody\x1b", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 1 and "控制字符" in text
    code, text = _decide(
        members, "g1p1", "--on", "2026-12-12", "--outcome", "转正", "--until", "2027-06-10", *QUORUM
    )
    assert code == 6 and "--until" in text


def test_a_probation_is_decided_once(members: tuple[Path, str]) -> None:
    code, text = _decide(
        members, "b1p1", "--on", "2026-11-26", "--outcome", "延长", "--until", "2027-05-25", *QUORUM
    )
    assert code == 0, text
    # The same meeting entered again (another secretary, the same day): nothing is applied twice.
    code, text = _decide(members, "b1p1", "--on", "2026-11-27", "--outcome", "取消", *QUORUM)
    assert code == 6 and "2027-05-25" in text  # the probation now ends at the new end: too early for it
    with session(members) as db_session:
        assert len(db_session.exec(select(ProbationDecision)).all()) == 1
    assert _member(members, "b1p1").active


def test_a_review_marked_done_by_hand_still_takes_the_decision(members: tuple[Path, str]) -> None:
    (review,) = [
        r for r in due(members, "2026-12-15", "--rule", "probation-review") if r["subject"] == "b1p1"
    ]
    code = run(members, "done", str(review["task_id"]), "--on", "2026-11-26", *QUORUM, *AS_OF).exit_code
    assert code == 0
    code, text = _decide(members, "b1p1", "--on", "2026-11-27", "--outcome", "转正", *QUORUM)
    assert code == 0, text
    assert _member(members, "b1p1").status == "full"
    code, text = _decide(members, "b1p1", "--on", "2026-11-28", "--outcome", "转正", *QUORUM)
    assert code == 1 and "不是预备党员" in text


def test_the_decision_and_grades_and_dues_recorded_on_the_command_line_say_who_recorded_them(
    members: tuple[Path, str],
) -> None:
    """Issue 11 'Records know who made them': the 支部大会's record of a 转正 keeps the command line's actor, and
    the grades and dues entered there are in the audit log."""
    import getpass

    from obligations.models import AuditEvent

    code, text = _decide(members, "g1p1", "--on", "2026-12-12", "--outcome", "转正", *QUORUM)
    assert code == 0, text
    assert (
        run(
            members, "dues", "pay", "--org", "jg.b1", "--month", "2026-11", "--member", BRANCH_FULL[0]
        ).exit_code
        == 0
    )
    with session(members) as db_session:
        completion = db_session.exec(select(Completion)).one()
        assert (completion.recorded_by, completion.recorded_via) == (getpass.getuser(), "cli")
        actions = {event.action: event.channel for event in db_session.exec(select(AuditEvent))}
    assert actions["record"] == "cli" and actions["dues"] == "cli"
