"""`obligations calendar`: tasks as RFC 5545 all-day events (or to-dos with --todo), parsed back with icalendar,
with vobject (a second, independent parser) and imported into khal."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import vobject
from icalendar import Calendar, Component, Event, Todo
from icalendar.parser import unescape_backslash

from obligations.ical import uid
from tests.obligations.conftest import POSITIONS, REGISTRY, _members, run

AS_OF = ("--as-of", "2026-11-21")
TODAY = dt.date(2026, 11, 21)
# Default range: from the first of the as-of month to the end of next year, and every open overdue task.
FIRST, LAST = dt.date(2026, 11, 1), dt.date(2027, 12, 31)
ALARM_AT = dt.timedelta(hours=8, minutes=30)  # the opening of the default [reminders] office_hours


def _calendar(workspace: tuple[Path, str], *args: str) -> bytes:
    result = run(workspace, "calendar", *args, *AS_OF)
    assert result.exit_code == 0, result.stderr
    return result.stdout_bytes


def _entries(data: bytes, kind: str) -> dict[str, Component]:
    return {str(entry["UID"]): entry for entry in Calendar.from_ical(data).walk(kind)}


def _todos(data: bytes) -> dict[str, Todo]:
    return {key: entry for key, entry in _entries(data, "VTODO").items() if isinstance(entry, Todo)}


def _events(data: bytes) -> dict[str, Event]:
    return {key: entry for key, entry in _entries(data, "VEVENT").items() if isinstance(entry, Event)}


def _all_tasks(workspace: tuple[Path, str], *args: str) -> list[dict[str, Any]]:
    result = run(workspace, "due", "--all", "--format", "json", *AS_OF, *args)
    assert result.exit_code == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def _tasks(workspace: tuple[Path, str], *args: str) -> list[dict[str, Any]]:
    """The tasks of the default range: due in it, or open and overdue."""
    return [
        row
        for row in _all_tasks(workspace, *args)
        if FIRST <= dt.date.fromisoformat(row["due"]) <= LAST or row["status"] == "overdue"
    ]


def _task(workspace: tuple[Path, str], org: str, rule: str, period: str) -> dict[str, Any]:
    return next(
        row
        for row in _all_tasks(workspace, "--org", org, "--rule", rule)
        if (row["org"], row["period"]) == (org, period)
    )


def _without_stamp(data: bytes) -> bytes:
    return b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"DTSTAMP:"))


def test_each_task_is_an_all_day_event_on_its_due_date_by_default(imported: tuple[Path, str]) -> None:
    data = _calendar(imported, "--org", "jg.b1")
    calendar = Calendar.from_ical(data)
    assert calendar.walk("VTODO") == []
    events = _events(data)
    tasks = {uid(t["rule"], t["subject"], t["period"]): t for t in _tasks(imported, "--org", "jg.b1")}
    assert set(events) == set(tasks) and len(events) > 0
    for key, event in events.items():
        due = dt.date.fromisoformat(tasks[key]["due"])
        assert event["DTSTART"].params.get("VALUE") == "DATE" and event["DTEND"].params.get("VALUE") == "DATE"
        assert (event["DTSTART"].dt, event["DTEND"].dt) == (due, due + dt.timedelta(days=1))
        assert str(event["TRANSP"]) == "TRANSPARENT" and "DUE" not in event
    meeting = events["theme-party-day.jg.b1.2026-12@obligations"]
    assert str(meeting["SUMMARY"]) == "第一党支部：主题党日" and str(meeting["STATUS"]) == "CONFIRMED"
    assert meeting.categories == ["第一党支部", "待办"]
    description = str(meeting["DESCRIPTION"])
    assert "依据：" in description and "登记完成：obligations done" in description


def test_open_overdue_tasks_are_in_the_default_range_and_marked_done_ones_only_within_it(
    imported: tuple[Path, str],
) -> None:
    october = _task(imported, "jg.b1", "committee-meeting", "2026-10")
    recorded = run(
        imported, "done", str(october["task_id"]), "--on", "2026-10-20", "--attendee", "jgb1m1", *AS_OF
    )
    assert recorded.exit_code == 0, recorded.stderr
    overdue = [row for row in _all_tasks(imported, "--org", "jg.b1") if row["status"] == "overdue"]
    # Tracked since 2025: last year's yearly duties and October's monthly ones are still owed.
    assert any(dt.date.fromisoformat(row["due"]) < dt.date(2026, 1, 1) for row in overdue)

    events = _events(_calendar(imported, "--org", "jg.b1"))

    for row in overdue:
        event = events[uid(row["rule"], row["subject"], row["period"])]
        assert event["DTSTART"].dt == dt.date.fromisoformat(row["due"])
        assert str(event["SUMMARY"]).startswith(f"【逾期】{row['org_name']}：{row['title']}")
        assert event.categories == [row["org_name"], "逾期"] and event.walk("VALARM") == []
    assert "committee-meeting.jg.b1.2026-10@obligations" not in events  # done, and due before the range
    todos = _todos(_calendar(imported, "--org", "jg.b1", "--todo"))
    assert {uid(row["rule"], row["subject"], row["period"]) for row in overdue} < set(todos)
    theme_day = todos["theme-party-day.jg.b1.2026-10@obligations"]
    assert (
        str(theme_day["SUMMARY"]) == "【逾期】第一党支部：主题党日"
        and str(theme_day["STATUS"]) == "NEEDS-ACTION"
    )
    # A range asked for is that range: --from leaves out what is due before it.
    chosen = _events(_calendar(imported, "--org", "jg.b1", "--from", "2026-11-01"))
    assert all(event["DTSTART"].dt >= dt.date(2026, 11, 1) for event in chosen.values())
    assert "theme-party-day.jg.b1.2026-10@obligations" not in chosen


def test_event_alarms_follow_the_ladder_from_the_start_of_the_due_date(imported: tuple[Path, str]) -> None:
    events = _events(_calendar(imported, "--org", "jg.b1"))
    # A quarterly duty (the extended ladder: a month, a week and a day ahead), due 31 December: a month
    # before is 30 November, 31 days ahead.
    quarter = events["general-meeting.jg.b1.2026-Q4@obligations"]
    alarms = quarter.walk("VALARM")
    assert [alarm["TRIGGER"].dt for alarm in alarms] == [
        dt.timedelta(days=-days) + ALARM_AT for days in (31, 7, 1)
    ]
    assert all("RELATED" not in alarm["TRIGGER"].params for alarm in alarms)  # from DTSTART, the due date
    assert "还有31天到期（期限 2026-12-31）" in str(alarms[0]["DESCRIPTION"])
    # A monthly duty due 30 November: its week-ahead step (23 November) is still ahead, none is past.
    monthly = events["theme-party-day.jg.b1.2026-11@obligations"]
    assert [alarm["TRIGGER"].dt for alarm in monthly.walk("VALARM")] == [
        dt.timedelta(days=-days) + ALARM_AT for days in (7, 1)
    ]
    for event in events.values():
        start = event["DTSTART"].dt
        for alarm in event.walk("VALARM"):
            assert start + alarm["TRIGGER"].dt >= TODAY and alarm["TRIGGER"].dt < dt.timedelta(days=1)


def test_todo_gives_one_vtodo_per_task_with_stable_unique_uids_that_round_trip(
    imported: tuple[Path, str],
) -> None:
    data = _calendar(imported, "--org", "jg.b1", "--todo")
    assert data.startswith(b"BEGIN:VCALENDAR\r\n") and data.endswith(b"END:VCALENDAR\r\n")
    calendar = Calendar.from_ical(data)
    assert calendar.to_ical() == data
    assert (
        str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]) == "-//obligations//党组织职责日历//ZH"
    )
    assert unescape_backslash(str(calendar["X-WR-CALNAME"])) == "第一党支部职责日历"
    assert calendar.walk("VEVENT") == []
    todos = calendar.walk("VTODO")
    tasks = _tasks(imported, "--org", "jg.b1")  # jg.b1 and its 党小组
    assert len(todos) == len(tasks) > 0
    uids = [str(todo["UID"]) for todo in todos]
    assert len(set(uids)) == len(uids)
    assert set(uids) == {uid(t["rule"], t["subject"], t["period"]) for t in tasks}
    assert "committee-meeting.jg.b1.2026-11@obligations" in uids
    assert "group-meeting.jg.b1.g1.2026-12@obligations" in uids
    again = _calendar(imported, "--org", "jg.b1", "--todo")
    assert _without_stamp(again) == _without_stamp(data)
    assert set(_events(_calendar(imported, "--org", "jg.b1"))) == set(uids)  # the same UIDs either way


def test_uids_are_the_same_in_another_database(imported: tuple[Path, str], tmp_path: Path) -> None:
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    (other_dir / "registry.toml").write_text(REGISTRY + _members() + POSITIONS, encoding="utf-8")
    other = (other_dir / "config.toml", f"sqlite:///{other_dir / 'other.db'}")
    assert run(other, "init").exit_code == 0
    # Imported on another day, so rows are planned in another order and get other ids.
    assert run(other, "import", str(other_dir / "registry.toml"), "--as-of", "2026-11-01").exit_code == 0
    # The same range (the other database, tracked only from its import, owes nothing overdue).
    ours = _events(_calendar(imported, "--org", "jg", "--from", "2026-11-01"))
    theirs = _events(_calendar(other, "--org", "jg", "--from", "2026-11-01"))
    assert len(ours) > 0
    assert set(ours) == set(theirs)


def test_each_todo_has_its_dates_status_description_and_alarms(imported: tuple[Path, str]) -> None:
    meeting = _task(imported, "jg.b1", "committee-meeting", "2026-11")
    result = run(
        imported, "done", str(meeting["task_id"]), "--on", "2026-11-20", "--attendee", "jgb1m1", *AS_OF
    )
    assert result.exit_code == 0, result.stderr
    december = _task(imported, "jg.b1", "theme-party-day", "2026-12")
    waived = run(imported, "waive", str(december["task_id"]), "--exempt", "--reason", "支部合并")
    assert waived.exit_code == 0, waived.stderr
    todos = _todos(_calendar(imported, "--org", "jg.b1", "--todo"))

    done = todos["committee-meeting.jg.b1.2026-11@obligations"]
    assert str(done["SUMMARY"]) == "第一党支部：支部委员会会议（支委会）"
    assert (done["DTSTART"].dt, done["DUE"].dt) == (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert done["DUE"].params.get("VALUE") == "DATE" and done["DTSTART"].params.get("VALUE") == "DATE"
    assert str(done["STATUS"]) == "COMPLETED" and done.categories == ["第一党支部", "已完成"]
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
    assert "URL" not in lesson  # no [web] public_url: no desk to link to
    alarms = lesson.walk("VALARM")
    assert all(str(alarm["ACTION"]) == "DISPLAY" for alarm in alarms)
    # From DUE: RELATED=END, since a bare trigger of a to-do counts from DTSTART.
    assert [alarm["TRIGGER"].dt for alarm in alarms] == [dt.timedelta(days=-d) + ALARM_AT for d in (31, 7, 1)]
    assert all(alarm["TRIGGER"].params["RELATED"] == "END" for alarm in alarms)
    assert "还有7天到期（期限 2026-12-31）" in str(alarms[1]["DESCRIPTION"])

    for todo in todos.values():
        assert isinstance(todo["DUE"].dt, dt.date) and not isinstance(todo["DUE"].dt, dt.datetime)
        assert "DTSTAMP" in todo
        if todo.walk("VALARM"):
            assert str(todo["STATUS"]) == "NEEDS-ACTION" and todo["DUE"].dt >= TODAY


def test_entries_link_to_their_task_page_when_the_desk_has_a_public_url(imported: tuple[Path, str]) -> None:
    config = imported[0]
    text = config.read_text(encoding="utf-8")
    assert 'public_url = ""' in text
    config.write_text(
        text.replace('public_url = ""', 'public_url = "https://dangjian.example.org/"'), "utf-8"
    )
    lesson = _task(imported, "jg.b1", "general-meeting", "2026-Q4")
    url = f"https://dangjian.example.org/tasks/{lesson['task_id']}"
    for data, kind in (
        (_calendar(imported, "--org", "jg.b1"), "VEVENT"),
        (_calendar(imported, "--todo"), "VTODO"),
    ):
        entry = _entries(data, kind)["general-meeting.jg.b1.2026-Q4@obligations"]
        assert str(entry["URL"]) == url and f"在工作台办理：{url}" in str(entry["DESCRIPTION"])


def test_a_member_calendar_holds_the_tasks_they_hold_or_that_concern_them(imported: tuple[Path, str]) -> None:
    data = _calendar(imported, "--member", "jgb1m1", "--from", "2027-01-01", "--to", "2027-06-30")
    calendar = Calendar.from_ical(data)
    assert unescape_backslash(str(calendar["X-WR-CALNAME"])) == "党员jgb1m1的职责日历"
    events = {str(event["UID"]) for event in calendar.walk("VEVENT")}
    rows = [
        row
        for row in _all_tasks(imported)
        if (row["assignee"] == "党员jgb1m1" or row["subject"] == "jgb1m1")
        and dt.date(2027, 1, 1) <= dt.date.fromisoformat(row["due"]) <= dt.date(2027, 6, 30)
    ]
    assert events == {uid(row["rule"], row["subject"], row["period"]) for row in rows}
    assert "committee-meeting.jg.b1.2027-01@obligations" in events
    assert "political-birthday.jgb1m1.2027@obligations" not in events  # 1 July: outside the range


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("--org", "jg.b1", "--member", "jgb1m1"), 1, "--org 与 --member 只能选一个"),
        (("--member", "nobody"), 8, "没有党员 'nobody'"),
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


# Names as a registry may hold them: commas, semicolons, a backslash before an "n" (not a line break: import
# refuses control characters), which RFC 5545 text must escape or readers cut or change the name.
BRANCH = "红旗,第一党支部;研发\\n中心"
SECRETARY = "欧阳,明;\\远"


@pytest.fixture
def punctuated(tmp_path: Path, database_url: str) -> tuple[Path, str]:
    registry = (REGISTRY + _members() + POSITIONS).replace(
        'name = "第一党支部"', f"name = {json.dumps(BRANCH, ensure_ascii=False)}"
    )
    registry = registry.replace('name = "党员jgb1m1"', f"name = {json.dumps(SECRETARY, ensure_ascii=False)}")
    assert BRANCH.replace("\\", "\\\\") in registry  # written as a TOML string, read back as BRANCH
    (tmp_path / "registry.toml").write_text(registry, encoding="utf-8")
    workspace = (tmp_path / "config.toml", database_url)
    assert run(workspace, "init").exit_code == 0
    result = run(workspace, "import", str(tmp_path / "registry.toml"), *AS_OF, "--track-from", "2025-01-01")
    assert result.exit_code == 0, result.stderr
    return workspace


def _lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def test_names_with_commas_semicolons_and_backslashes_round_trip_through_two_parsers(
    punctuated: tuple[Path, str],
) -> None:
    data = _calendar(punctuated, "--org", "jg.b1")
    name = f"{BRANCH}职责日历"
    escaped = "红旗\\,第一党支部\\;研发\\\\n中心职责日历"  # RFC 5545 §3.3.11
    lines = _lines(data)
    assert f"X-WR-CALNAME:{escaped}".encode() in lines and f"NAME:{escaped}".encode() in lines
    for line in lines:  # folded at 75 octets, never inside a UTF-8 character
        assert len(line) <= 75 and line.decode("utf-8")
    assert any(line.startswith(b" ") for line in lines)

    # icalendar: it leaves X- and NAME untyped (raw), so their text is unescaped as RFC 5545 TEXT.
    calendar = Calendar.from_ical(data)
    assert (
        unescape_backslash(str(calendar["X-WR-CALNAME"])) == name == unescape_backslash(str(calendar["NAME"]))
    )
    events = _events(data)
    theme_day = events["theme-party-day.jg.b1.2026-11@obligations"]
    assert str(theme_day["SUMMARY"]) == f"{BRANCH}：主题党日"
    assert theme_day.categories == [BRANCH, "待办"]
    assert f"组织：{BRANCH}（jg.b1）\n" in str(theme_day["DESCRIPTION"])
    assert f"责任人：{SECRETARY}\n" in str(theme_day["DESCRIPTION"])

    # vobject, a second parser that shares no code with icalendar.
    parsed = vobject.readOne(data.decode("utf-8"))
    assert parsed.contents["x-wr-calname"][0].value == name == parsed.contents["name"][0].value
    by_uid = {event.uid.value: event for event in parsed.vevent_list}
    assert set(by_uid) == set(events)
    for key, event in events.items():
        other = by_uid[key]
        assert other.summary.value == str(event["SUMMARY"])
        assert other.categories.value == event.categories
        assert other.description.value == str(event["DESCRIPTION"])
        assert other.dtstart.value == event["DTSTART"].dt and other.dtend.value == event["DTEND"].dt
    branch = [event.summary.value for event in parsed.vevent_list if "（jg.b1）" in event.description.value]
    assert len(branch) > 5 and all(BRANCH in summary for summary in branch)
    todo = vobject.readOne(_calendar(punctuated, "--org", "jg.b1", "--todo").decode("utf-8"))
    assert todo.contents["x-wr-calname"][0].value == name and "vevent" not in todo.contents
    assert {entry.summary.value for entry in todo.vtodo_list} >= {f"【逾期】{BRANCH}：主题党日"}


def _khal(config: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # A dev dependency, installed beside this Python: missing, the test fails (it is never skipped).
    beside = Path(sys.executable).with_name("khal")
    khal = str(beside) if beside.exists() else shutil.which("khal")
    assert khal is not None, "khal is missing: pip install -e '.[dev]'"
    result = subprocess.run(
        [khal, "-c", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def test_khal_shows_every_event_on_its_due_date_with_the_whole_name(
    punctuated: tuple[Path, str], tmp_path: Path
) -> None:
    data = _calendar(punctuated, "--org", "jg.b1")
    feed = tmp_path / "duties.ics"
    feed.write_bytes(data)
    vdir = tmp_path / "khal" / "duties"
    vdir.mkdir(parents=True)
    config = tmp_path / "khal" / "config"
    config.write_text(
        textwrap.dedent(
            f"""
            [calendars]
            [[duties]]
            path = {vdir}
            type = calendar

            [locale]
            timeformat = %H:%M
            dateformat = %Y-%m-%d
            longdateformat = %Y-%m-%d
            datetimeformat = %Y-%m-%d %H:%M
            longdatetimeformat = %Y-%m-%d %H:%M
            local_timezone = Asia/Shanghai
            default_timezone = Asia/Shanghai

            [default]
            default_calendar = duties
            """
        ),
        encoding="utf-8",
    )
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "LANG": "C.UTF-8",
        "TZ": "Asia/Shanghai",
    }
    _khal(config, "import", "--batch", str(feed), env=env)
    listed = _khal(
        config,
        "list",
        "--format",
        "{start-date}|{end-date}|{uid}|{title}",
        "--day-format",
        "",
        "2025-01-01",
        "2027-12-31",
        env=env,
    ).stdout
    shown = {}
    for line in filter(None, listed.splitlines()):
        start, end, key, title = line.rstrip().split("|", 3)
        shown[key] = (start, end, title)

    tasks = _tasks(punctuated, "--org", "jg.b1")
    assert len(tasks) > 0
    expected = {}
    for row in tasks:
        prefix = "【逾期】" if row["status"] == "overdue" else ""
        subject = f"（{SECRETARY}）" if row["subject"] == "jgb1m1" else ""
        if row["subject"] not in (row["org"], "jgb1m1"):
            continue  # another member's duty: named after them, not of interest here
        expected[uid(row["rule"], row["subject"], row["period"])] = (
            row["due"],
            row["due"],  # khal shows an all-day event's inclusive last day
            f"{prefix}{row['org_name']}：{row['title']}{subject}",
        )
    assert len(expected) > 10 and {key: shown[key] for key in expected} == expected
    assert any(title.startswith(f"【逾期】{BRANCH}：") for _start, _end, title in expected.values())
    assert all(row["org_name"] == BRANCH for row in tasks if row["org"] == "jg.b1")


def test_open_overdue_tasks_go_back_three_years_and_no_further(imported: tuple[Path, str]) -> None:
    """Replayed in March 2029 on a registry tracked since 2025, with nothing recorded: the feed holds the open
    overdue tasks due since 2026-03-15 and none of the older ones, which `due` still lists."""
    later = ("--as-of", "2029-03-15")
    shown_by_due = run(imported, "due", "--all", "--format", "json", "--org", "jg.b1", *later)
    assert shown_by_due.exit_code == 0, shown_by_due.stderr
    overdue = [row for row in json.loads(shown_by_due.stdout) if row["status"] == "overdue"]
    oldest = dt.date(2026, 3, 15)
    kept = {
        uid(r["rule"], r["subject"], r["period"])
        for r in overdue
        if dt.date.fromisoformat(r["due"]) >= oldest
    }
    dropped = {uid(r["rule"], r["subject"], r["period"]) for r in overdue} - kept
    assert kept and dropped

    feed = run(imported, "calendar", "--org", "jg.b1", *later)
    assert feed.exit_code == 0, feed.stderr
    events = _events(feed.stdout_bytes)
    in_feed = {key for key, event in events.items() if "逾期" in event.categories}
    assert in_feed == kept
