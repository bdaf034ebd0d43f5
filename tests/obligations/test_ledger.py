"""The ledger through the command line: recording, checks, double recording, undo, extensions."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from obligations import db
from obligations.models import Attachment, Completion, Task
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2026-11-21")


def _due(workspace: tuple[Path, str], *args: str) -> list[dict[str, object]]:
    result = run(workspace, "due", *AS_OF, "--all", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    records: list[dict[str, object]] = json.loads(result.stdout)
    return records


def _task(workspace: tuple[Path, str], org: str, rule: str, period: str) -> dict[str, object]:
    return next(
        r for r in _due(workspace, "--org", org, "--rule", rule) if r["period"] == period and r["org"] == org
    )


def _session(workspace: tuple[Path, str]) -> Session:
    return Session(db.make_engine(db.resolve_url(workspace[1], workspace[0].parent)))


def _completions(workspace: tuple[Path, str]) -> list[Completion]:
    with _session(workspace) as session:
        return list(session.exec(select(Completion).order_by(col(Completion.id))))


B1_COMMITTEE = ("--attendee", "jgb1m1", "--attendee", "jgb1m2")  # the secretary and … (jg.b1 positions)


def test_recording_a_committee_meeting_marks_its_task_done(imported: tuple[Path, str]) -> None:
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-11-20",
        "--place", "三楼会议室", "--form", "集中学习", "--host", "党员jgb1m1", "--topic", "学习全会精神",
        "--attendee", "jgb1m1", *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "已完成" in result.stdout
    task = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    assert (task["status"], task["done_count"]) == ("done", 1)
    open_now = json.loads(run(imported, "due", *AS_OF, "--format", "json").stdout)
    assert not [r for r in open_now if r["task_id"] == task["task_id"]]
    (completion,) = _completions(imported)
    assert (completion.place, completion.form, completion.topic, str(completion.held_on)) == (
        "三楼会议室", "集中学习", "学习全会精神", "2026-11-20",
    )  # fmt: skip


def test_a_general_meeting_without_a_majority_of_full_members_is_refused_with_the_numbers(
    imported: tuple[Path, str],
) -> None:
    # jg.b1 has 9 full members (7 of its own, 2 in its 党小组): at least 5 must attend.
    attendees = [arg for m in ("jgb1m1", "jgb1m2", "jgb1m3", "jgb1g1m1") for arg in ("--attendee", m)]
    result = run(
        imported,
        "record",
        "--org",
        "jg.b1",
        "--rule",
        "general-meeting",
        "--on",
        "2026-11-20",
        *attendees,
        *AS_OF,
    )
    assert result.exit_code == 6
    assert "到会正式党员 4 人，未超过应到会正式党员 9 人的半数（须至少 5 人）" in result.stderr
    assert _completions(imported) == []
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "general-meeting", "--on", "2026-11-20",
        *attendees, "--attendee", "jgb1g1m2", "--absent", "jgb1m4:出差", *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert _task(imported, "jg.b1", "general-meeting", "2026-Q4")["status"] == "done"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--on", "2026-11-25"), "日期 2026-11-25 在未来（今天是 2026-11-21）"),
        (("--on", "2026-10-31"), "不在任务"),
        (("--on", "2026-11-20", "--attendee", "jgb2m1"), "jgb2m1 不是第一党支部（jg.b1）的党员"),
        (
            ("--on", "2026-11-20", "--minutes", "/nonexistent/纪要.pdf"),
            "会议记录文件 /nonexistent/纪要.pdf 不存在",
        ),
    ],
)
def test_a_record_that_fails_a_check_is_refused_and_writes_nothing(
    imported: tuple[Path, str], args: tuple[str, ...], message: str
) -> None:
    task = _task(imported, "jg.b1", "theme-party-day", "2026-11")
    result = run(imported, "done", str(task["task_id"]), *args, *AS_OF)
    assert result.exit_code == 6
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _completions(imported) == []
    assert _task(imported, "jg.b1", "theme-party-day", "2026-11")["status"] == "open"


def test_every_failed_check_is_listed_at_once(imported: tuple[Path, str]) -> None:
    task = _task(imported, "jg.b1", "theme-party-day", "2026-11")
    result = run(imported, "done", str(task["task_id"]), "--on", "2026-12-02", "--attendee", "nobody", *AS_OF)
    assert result.exit_code == 6
    assert "在未来" in result.stderr and "不在任务" in result.stderr and "nobody 不是" in result.stderr


def test_the_same_completion_recorded_twice_counts_once(imported: tuple[Path, str]) -> None:
    args = ("record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18", "--topic", "重温入党誓词",
            "--attendee", "jgb1m1", "--attendee", "jgb1m3", "--hours", "4", *AS_OF)  # fmt: skip
    first = run(imported, *args)
    assert first.exit_code == 0, first.stderr
    second = run(imported, *args)
    assert second.exit_code == 0
    assert "已登记过" in second.stdout and "未重复计数" in second.stdout
    assert len(_completions(imported)) == 1
    # The 主题党日 itself counts once, however many times it is entered.
    assert _task(imported, "jg.b1", "theme-party-day", "2026-11")["done_count"] == 1
    member_hours = {
        r["subject"]: r["done_count"]
        for r in _due(imported, "--org", "jg.b1", "--rule", "study-hours")
        if r["period"] == "2026"
    }
    assert member_hours["jgb1m1"] == 4 and member_hours["jgb1m3"] == 4 and member_hours["jgb1m2"] == 0


def test_one_meeting_can_satisfy_several_duties(imported: tuple[Path, str]) -> None:
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--rule", "party-lesson",
        "--on", "2026-11-18", "--attendees", "8", *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert _task(imported, "jg.b1", "theme-party-day", "2026-11")["status"] == "done"
    assert _task(imported, "jg.b1", "party-lesson", "2026-Q4")["status"] == "done"
    assert len(_completions(imported)) == 1


def test_study_hours_accumulate_to_32_for_members_and_56_for_committee_members(
    imported: tuple[Path, str],
) -> None:
    # jgb1m1 is the secretary (56 学时), jgb1m3 an ordinary member (32 学时).
    for month in range(1, 9):
        result = run(
            imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", f"2026-{month:02d}-15",
            "--attendee", "jgb1m1", "--attendee", "jgb1m3", "--hours", "4", *AS_OF,
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
    rows = {
        r["subject"]: r
        for r in _due(imported, "--org", "jg.b1", "--rule", "study-hours")
        if r["period"] == "2026"
    }
    assert (rows["jgb1m3"]["done_count"], rows["jgb1m3"]["required_count"], rows["jgb1m3"]["status"]) == (
        32,
        32,
        "done",
    )
    assert (rows["jgb1m1"]["done_count"], rows["jgb1m1"]["required_count"], rows["jgb1m1"]["status"]) == (
        32,
        56,
        "open",
    )


def test_minutes_are_copied_into_the_attachments_folder_named_by_task(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    minutes = tmp_path / "支委会记录.txt"
    minutes.write_text("会议记录：讨论发展党员工作。", encoding="utf-8")
    task = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    result = run(
        imported,
        "done",
        str(task["task_id"]),
        "--on",
        "2026-11-20",
        *B1_COMMITTEE,
        "--minutes",
        str(minutes),
        *AS_OF,
    )
    assert result.exit_code == 0, result.stderr
    with _session(imported) as session:
        (attachment,) = session.exec(select(Attachment)).all()
    assert attachment.path.startswith("jg.b1/committee-meeting-2026-11/")
    stored = imported[0].parent / "attachments" / attachment.path
    assert stored.read_text(encoding="utf-8") == "会议记录：讨论发展党员工作。"
    assert attachment.sha256 == hashlib.sha256(minutes.read_bytes()).hexdigest()


def test_undo_keeps_the_record_marked_and_reopens_the_task(imported: tuple[Path, str]) -> None:
    task = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    run(imported, "done", str(task["task_id"]), "--on", "2026-11-20", *B1_COMMITTEE, *AS_OF)
    (completion,) = _completions(imported)
    result = run(imported, "undo", str(completion.id), "--reason", "日期登记错误")
    assert result.exit_code == 0, result.stderr
    (kept,) = _completions(imported)
    assert kept.undone_at is not None and kept.undo_reason == "日期登记错误"
    assert _task(imported, "jg.b1", "committee-meeting", "2026-11")["status"] == "open"
    again = run(imported, "undo", str(completion.id), "--reason", "再次撤销")
    assert again.exit_code != 0 and "已于" in again.stderr
    # Recording it again after the undo counts: the withdrawn record does not block it.
    redo = run(imported, "done", str(task["task_id"]), "--on", "2026-11-20", *B1_COMMITTEE, *AS_OF)
    assert redo.exit_code == 0 and "已登记台账记录" in redo.stdout


def test_an_extension_moves_the_due_date_and_keeps_the_original(imported: tuple[Path, str]) -> None:
    election = _task(imported, "jg.b1", "term-election", "2023-11-20/P3Y")
    too_long = run(imported, "waive", str(election["task_id"]), "--until", "2027-12-01", "--reason", "机构改革",
                   "--approved-by", "机关党委")  # fmt: skip
    assert too_long.exit_code == 6
    assert (
        "最多延期1年" in too_long.stderr
        and "第三条" in too_long.stderr
        and "最晚 2027-11-20" in too_long.stderr
    )
    unapproved = run(
        imported, "waive", str(election["task_id"]), "--until", "2027-06-30", "--reason", "机构改革"
    )
    assert unapproved.exit_code == 6 and "批准" in unapproved.stderr
    result = run(imported, "waive", str(election["task_id"]), "--until", "2027-06-30", "--reason", "机构改革",
                 "--approved-by", "机关党委")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    moved = _task(imported, "jg.b1", "term-election", "2023-11-20/P3Y")
    assert (moved["due"], moved["status"]) == ("2027-06-30", "open")
    with _session(imported) as session:
        task = session.get(Task, election["task_id"])
        assert task is not None and str(task.original_due) == "2026-11-20"
    # Re-planning keeps the approved date.
    assert run(imported, "plan", "--all", *AS_OF).exit_code == 0
    assert _task(imported, "jg.b1", "term-election", "2023-11-20/P3Y")["due"] == "2027-06-30"


def test_an_exemption_marks_the_task_waived(imported: tuple[Path, str]) -> None:
    task = _task(imported, "jg.b2", "theme-party-day", "2026-11")
    result = run(imported, "waive", str(task["task_id"]), "--exempt", "--reason", "支部合并")
    assert result.exit_code == 0, result.stderr
    assert _task(imported, "jg.b2", "theme-party-day", "2026-11")["status"] == "waived"
    refused = run(imported, "done", str(task["task_id"]), "--on", "2026-11-20", *AS_OF)
    assert refused.exit_code == 6 and "已免于执行" in refused.stderr
