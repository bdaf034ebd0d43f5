"""`obligations calendar`: tasks as RFC 5545 to-dos, parsed back with icalendar."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from icalendar import Calendar, Todo

from obligations.ical import uid
from tests.obligations.conftest import POSITIONS, REGISTRY, _members, run

AS_OF = ("--as-of", "2026-11-21")
# Default range: from the first of the as-of month to the end of next year.
FIRST, LAST = dt.date(2026, 11, 1), dt.date(2027, 12, 31)


def _calendar(workspace: tuple[Path, str], *args: str) -> bytes:
    result = run(workspace, "calendar", *args, *AS_OF)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def _todos(data: bytes) -> dict[str, Todo]:
    todos = Calendar.from_ical(data).walk("VTODO")
    return {str(todo["UID"]): todo for todo in todos}


def _tasks(workspace: tuple[Path, str], *args: str) -> list[dict[str, Any]]:
    result = run(workspace, "due", "--all", "--format", "json", *AS_OF, *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return [row for row in rows if FIRST <= dt.date.fromisoformat(row["due"]) <= LAST]


def _task(workspace: tuple[Path, str], org: str, rule: str, period: str) -> dict[str, Any]:
    return next(
        row
        for row in _tasks(workspace, "--org", org, "--rule", rule)
        if (row["org"], row["period"]) == (org, period)
    )


def _without_stamp(data: bytes) -> bytes:
    return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"DTSTAMP:"))


def test_one_todo_per_task_with_stable_unique_uids_that_round_trip(imported: tuple[Path, str]) -> None:
    data = _calendar(imported, "--org", "jg.b1")
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    calendar = Calendar.from_ical(data)
    assert calendar.to_ical() == data
    assert (
        str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]) == "-//obligations//党组织职责日历//ZH"
    )
    assert str(calendar["X-WR-CALNAME"]) == "第一党支部职责日历"
    todos = calendar.walk("VTODO")
    tasks = _tasks(imported, "--org", "jg.b1")  # jg.b1 and its 党小组
    assert len(todos) == len(tasks) > 0
    uids = [str(todo["UID"]) for todo in todos]
    assert len(set(uids)) == len(uids)
    assert set(uids) == {uid(t["rule"], t["subject"], t["period"]) for t in tasks}
    assert "committee-meeting.jg.b1.2026-11@obligations" in uids
    assert "group-meeting.jg.b1.g1.2026-12@obligations" in uids
    again = _calendar(imported, "--org", "jg.b1")
    assert _without_stamp(again) == _without_stamp(data)


def test_uids_are_the_same_in_another_database(imported: tuple[Path, str], tmp_path: Path) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (other_dir / "registry.toml").write_text(REGISTRY + _members() + POSITIONS, encoding="utf-8")
    other = (other_dir / "config.toml", f"sqlite:///{other_dir / 'other.db'}")
    assert run(other, "init").exit_code == 0
    # Imported on another day, so rows are planned in another order and get other ids.
    assert run(other, "import", str(other_dir / "registry.toml"), "--as-of", "2026-11-01").exit_code == 0
    ours, theirs = _todos(_calendar(imported, "--org", "jg")), _todos(_calendar(other, "--org", "jg"))
    assert set(ours) == set(theirs)


def test_each_todo_has_its_dates_status_description_and_alarm(imported: tuple[Path, str]) -> None:
    meeting = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    result = run(
        imported, "done", str(meeting["task_id"]), "--on", "2026-11-20", "--attendee", "jgb1m1", *AS_OF
    )
    assert result.exit_code == 0, result.stderr
    december = _task(imported, "jg.b1", "theme-party-day", "2026-12")
    waived = run(imported, "waive", str(december["task_id"]), "--exempt", "--reason", "支部合并")
    assert waived.exit_code == 0, waived.stderr
    todos = _todos(_calendar(imported, "--org", "jg.b1"))

    done = todos["committee-meeting.jg.b1.2026-11@obligations"]
    assert str(done["SUMMARY"]) == "第一党支部：支部委员会会议（支委会）"
    assert (done["DTSTART"].dt, done["DUE"].dt) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert done["DUE"].params.get("VALUE") == "DATE" and done["DTSTART"].params.get("VALUE") == "DATE"
    assert str(done["STATUS"]) == "COMPLETED"
    # Done on 20 November in party time: midnight in Shanghai is 16:00 UTC the day before.
    assert done["COMPLETED"].dt == dt.datetime(2026, 11, 19, 16, 0, tzinfo=dt.UTC)
    assert done.walk("VALARM") == []

    assert str(todos["theme-party-day.jg.b1.2026-12@obligations"]["STATUS"]) == "CANCELLED"

    lesson_task = _task(imported, "jg.b1", "general-meeting", "2026-Q4")
    lesson = todos["general-meeting.jg.b1.2026-Q4@obligations"]
    assert str(lesson["STATUS"]) == "NEEDS-ACTION"
    assert (lesson["DTSTART"].dt, lesson["DUE"].dt) == (dt.date(2026, 10, 1), dt.date(2026, 12, 31))
    description = str(lesson["DESCRIPTION"])
    assert f"obligations done {lesson_task['task_id']} --on YYYY-MM-DD" in description
    assert (
        "依据：《中国共产党支部工作条例（试行）》第十一条" in description
        and "责任人：党员jgb1m1" in description
    )
    assert "武组发" not in description  # a national branch is not told of a Wujin clause (issue 10 §5)
    (alarm,) = lesson.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    # Seven days before DUE: RELATED=END, since a bare trigger of a to-do counts from DTSTART.
    assert alarm["TRIGGER"].dt == dt.timedelta(days=-7) and alarm["TRIGGER"].params["RELATED"] == "END"
    assert "还有7天到期（期限 2026-12-31）" in str(alarm["DESCRIPTION"])

    for todo in todos.values():
        assert isinstance(todo["DUE"].dt, dt.date) and not isinstance(todo["DUE"].dt, dt.datetime)
        assert "DTSTAMP" in todo
        assert bool(todo.walk("VALARM")) == (str(todo["STATUS"]) == "NEEDS-ACTION")


def test_a_member_calendar_holds_the_tasks_they_hold_or_that_concern_them(imported: tuple[Path, str]) -> None:
    data = _calendar(imported, "--member", "jgb1m1", "--from", "2027-01-01", "--to", "2027-06-30")
    calendar = Calendar.from_ical(data)
    assert str(calendar["X-WR-CALNAME"]) == "党员jgb1m1的职责日历"
    todos = {str(todo["UID"]) for todo in calendar.walk("VTODO")}
    rows = [
        row
        for row in _tasks(imported)
        if (row["assignee"] == "党员jgb1m1" or row["subject"] == "jgb1m1")
        and dt.date(2027, 1, 1) <= dt.date.fromisoformat(row["due"]) <= dt.date(2027, 6, 30)
    ]
    assert todos == {uid(row["rule"], row["subject"], row["period"]) for row in rows}
    assert "committee-meeting.jg.b1.2027-01@obligations" in todos
    assert "political-birthday.jgb1m1.2027@obligations" not in todos  # 1 July: outside the range


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--org", "jg.b1", "--member", "jgb1m1"), 1, "--org 与 --member 只能选一个"),
        (("--member", "nobody"), 2, "没有党员 'nobody'"),
        (("--from", "2027-01-01", "--to", "2026-01-01"), 1, "早于起始日期"),
    ],
)
def test_mistakes_are_one_chinese_message(
    imported: tuple[Path, str], args: tuple[str, ...], code: int, message: str
) -> None:
    result = run(imported, "calendar", *args, *AS_OF)
    assert result.exit_code == code and message in result.stderr and "Traceback" not in result.stderr


def test_uids_escape_what_is_unsafe_and_stay_distinct() -> None:
    assert uid("vacancy-fill", "jg.b1", "vacancy:deputy_secretary:2026-06-01") == (
        "vacancy-fill.jg.b1.vacancy%3Adeputy_secretary%3A2026-06-01@obligations"
    )
    assert (
        uid("term-election", "jg.b1", "2023-11-20/P3Y") == "term-election.jg.b1.2023-11-20%2FP3Y@obligations"
    )
    chinese = uid("study-hours", "jg.b1/张三", "2026")
    assert chinese == "study-hours.jg.b1%2F%E5%BC%A0%E4%B8%89.2026@obligations"
    assert uid("a", "b/c", "d") != uid("a", "b%2Fc", "d")
    assert uid("a.b", "c", "d") != uid("a", "b.c", "d")
