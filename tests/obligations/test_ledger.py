"""The ledger through the command line: recording, checks, double recording, undo, extensions."""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from obligations import db
from obligations.models import Attachment, AuditEvent, Completion, Task
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
        imported, "record", "--org", "jg.b2", "--rule", "theme-party-day", "--rule", "party-lesson",
        "--on", "2026-11-18", "--attendees", "4", *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert _task(imported, "jg.b2", "theme-party-day", "2026-11")["status"] == "done"
    assert _task(imported, "jg.b2", "party-lesson", "2026-Q4")["status"] == "done"  # Wujin's quarterly 党课
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
    assert refused.exit_code == 6 and "已免办" in refused.stderr


@pytest.mark.parametrize(
    "hours", ["inf", "-inf", "nan", "1e308", "56.5", "0", "-4", "1e-300", "0.05", "2.25"]
)
def test_hours_a_person_could_not_mean_are_refused_before_anything_is_written(
    imported: tuple[Path, str], hours: str
) -> None:
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendee", "jgb1m1", "--hours", hours, *AS_OF)  # fmt: skip
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert "学时（--hours）应为 0.1 至 56 之间、最多一位小数的数" in result.stderr
    assert _completions(imported) == []
    assert _task(imported, "jg.b1", "theme-party-day", "2026-11")["done_count"] == 0


def test_hours_written_with_underscores_are_not_a_number(imported: tuple[Path, str]) -> None:
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendee", "jgb1m1", "--hours", "1_0", *AS_OF)  # fmt: skip
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stderr.strip() == "错误：学时（--hours）'1_0' 不是数字，应写作 4 或 1.5。"
    assert _completions(imported) == []


def test_a_years_training_is_the_most_one_record_credits(imported: tuple[Path, str]) -> None:
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendee", "jgb1m1", "--hours", "56", *AS_OF)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "各计入 56 学时" in result.stdout


@pytest.mark.parametrize("count", ["0", "-3", "10001", "999999999999"])
def test_an_attendee_count_out_of_range_is_a_ledger_problem(imported: tuple[Path, str], count: str) -> None:
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendees", count, *AS_OF)  # fmt: skip
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert "参加人数（--attendees）应在 1 至 10000 之间" in result.stderr
    assert _completions(imported) == []


def test_dates_before_the_founding_and_extensions_by_decades_are_refused(imported: tuple[Path, str]) -> None:
    ancient = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "1900-01-15",
                  "--attendees", "8", *AS_OF)  # fmt: skip
    assert ancient.exit_code == 6 and "早于建党" in ancient.stderr
    task = _task(imported, "jg.b2", "theme-party-day", "2026-11")
    far = run(imported, "waive", str(task["task_id"]), "--until", "9999-12-31", "--reason", "机构改革",
              "--approved-by", "机关党委")  # fmt: skip
    assert far.exit_code == 6 and "晚 5 年以上" in far.stderr
    assert _task(imported, "jg.b2", "theme-party-day", "2026-11")["due"] == task["due"]


@pytest.mark.parametrize(
    ("option", "value", "named"),
    [
        ("--place", "三楼\x1b[2J会议室", "地点（--place）含有不可见的控制字符 U+001B"),
        ("--form", "集中\x07学习", "方式（--form）含有不可见的控制字符 U+0007"),
        ("--host", "张三\r\n李四", "主持人（--host）含有不可见的控制字符 U+000D"),
        ("--topic", "学习\u2028全会精神", "主题和内容（--topic）含有不可见的控制字符 U+2028"),
        ("--note", "第一项\x00", "备注（--note）含有不可见的控制字符 U+0000"),
        ("--absent", "jgb1m2:出\n差", "缺席原因（--absent）含有不可见的控制字符 U+000A"),
        ("--attendee", "jgb1m1\x1b", "参加人员（--attendee）含有不可见的控制字符 U+001B"),
        ("--place", "会" * 201, "地点（--place）不能超过 200 个字符（现为 201 个）"),
        ("--topic", "学" * 501, "主题和内容（--topic）不能超过 500 个字符（现为 501 个）"),
        ("--host", "张" * 101, "主持人（--host）不能超过 100 个字符"),
        ("--absent", "jgb1m2:" + "病" * 201, "缺席原因（--absent）不能超过 200 个字符"),
    ],
)
def test_control_characters_and_over_long_text_are_refused_naming_the_field(
    imported: tuple[Path, str], option: str, value: str, named: str
) -> None:
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendees", "8", option, value, *AS_OF)  # fmt: skip
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert named in result.stderr
    assert _completions(imported) == []


def test_a_note_keeps_its_line_breaks_and_tabs(imported: tuple[Path, str]) -> None:
    note = "一、学习全会精神\n二、讨论\t发展党员"
    result = run(imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-11-18",
                 "--attendees", "8", "--note", note, *AS_OF)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert [completion.note for completion in _completions(imported)] == [note]


def test_undo_and_waive_reasons_with_control_characters_are_ledger_problems(
    imported: tuple[Path, str],
) -> None:
    task = _task(imported, "jg.b1", "theme-party-day", "2026-11")
    run(imported, "done", str(task["task_id"]), "--on", "2026-11-18", "--attendees", "8", *AS_OF)
    (completion,) = _completions(imported)
    undo = run(imported, "undo", str(completion.id), "--reason", "登记错误\x1b]0;pwned\x07")
    assert undo.exit_code == 6 and "撤销理由（--reason）含有不可见的控制字符 U+001B" in undo.stderr
    assert _completions(imported)[0].undone_at is None
    other = _task(imported, "jg.b2", "theme-party-day", "2026-11")
    waive = run(imported, "waive", str(other["task_id"]), "--until", "2026-12-31", "--reason", "机构改革",
                "--approved-by", "机关" * 101)  # fmt: skip
    assert waive.exit_code == 6 and "批准单位（--approved-by）不能超过 200 个字符" in waive.stderr
    exempt = run(imported, "waive", str(other["task_id"]), "--exempt", "--reason", "支部\u2028合并")
    assert exempt.exit_code == 6 and "理由（--reason）含有不可见的控制字符 U+2028" in exempt.stderr


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999", "0", "12x"])
@pytest.mark.parametrize(
    "command",
    [("done", "{}", "--on", "2026-11-20", "--attendees", "5"), ("undo", "{}", "--reason", "登记错误"),
     ("outbox", "--retry", "{}")],
)  # fmt: skip
def test_a_number_no_row_can_have_is_an_unknown_id_on_both_backends(
    imported: tuple[Path, str], command: tuple[str, ...], number: str
) -> None:
    result = run(imported, *(part.format(number) for part in command))

    assert result.exit_code == 8, result.output
    assert result.stderr.startswith("错误：编号") or result.stderr.startswith("错误：没有编号为")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_cli_record_and_undo_store_who_through_the_cli_and_are_audited(imported: tuple[Path, str]) -> None:
    """Issue 11 "Records know who made them": the operating-system user, channel cli, this host."""
    result = run(
        imported, "record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-11-20",
        *B1_COMMITTEE, *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (completion,) = _completions(imported)
    who = (getpass.getuser(), "cli", socket.gethostname())
    assert (completion.recorded_by, completion.recorded_via, completion.recorded_from) == who
    assert run(imported, "undo", str(completion.id), "--reason", "日期登记错误").exit_code == 0
    (withdrawn,) = _completions(imported)
    assert (withdrawn.undone_by, withdrawn.undone_via, withdrawn.undone_from) == who
    with _session(imported) as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(e.action, e.channel, e.actor, e.target) for e in events if e.action in ("record", "undo")] == [
        ("record", "cli", who[0], f"completion {completion.id}"),
        ("undo", "cli", who[0], f"completion {completion.id}"),
    ]


def test_a_meeting_held_after_its_period_is_recorded_as_a_make_up_and_done_late(
    imported: tuple[Path, str],
) -> None:
    """Issue 11 "Make-up records": November's 支委会 held on 3 December counts, with its real date, late."""
    task = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    args = ("done", str(task["task_id"]), "--on", "2026-12-03", *B1_COMMITTEE)
    future = run(imported, *args, *AS_OF)  # on 21 November, 3 December is still to come
    assert future.exit_code == 6 and "在未来" in future.stderr and "不在任务" in future.stderr
    result = run(imported, *args, "--as-of", "2026-12-05")
    assert result.exit_code == 0, result.stderr
    with _session(imported) as session:
        stored = session.get(Task, task["task_id"])
        assert stored is not None
        assert (stored.status, str(stored.done_on), str(stored.due)) == ("done", "2026-12-03", "2026-11-30")
    before = run(
        imported, "done", str(task["task_id"]), "--on", "2026-10-30", *B1_COMMITTEE, "--as-of", "2026-12-05"
    )
    assert before.exit_code == 6 and "不在任务" in before.stderr
