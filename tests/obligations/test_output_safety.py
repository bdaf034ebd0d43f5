"""What the program writes from the store cannot act on another person's screen or program.

Names are set directly in the database, as data stored before the import checks (or by hand) would be: CSV
cells that start like formulas are neutralised in every CSV, terminal tables show control characters as �,
and the .ics feed stays whole. Each CLI test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from icalendar import Calendar
from sqlalchemy import update
from sqlmodel import col

from obligations import db, render
from obligations.models import Member, Organization
from tests.obligations.conftest import run

AS_OF = ("--as-of", "2027-03-01")  # late enough for some tasks of jg.b1 to be overdue: days_left < 0
FORMULA = '=HYPERLINK("http://evil.example","点我")'
TERMINAL = "第一\x1b[2J\x1b]0;owned\x07党支部\x9b31m"  # clears the screen, sets the title, CSI in C1
LINE_BREAKING = "党员\r\nEND:VTODO\nBEGIN:VEVENT\x1b\x07\u2028甲"  # as stored, before the import checks


def _set(workspace: tuple[Path, str], model: type[Organization] | type[Member], key: str, name: str) -> None:
    engine = db.make_engine(db.resolve_url(workspace[1], Path.cwd()))
    try:
        with engine.begin() as connection:
            key_column = col(Organization.code) if model is Organization else col(Member.id)
            connection.execute(update(model).where(key_column == key).values(name=name))
    finally:
        engine.dispose()


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


# The rule, on its own.


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_cell_starting_like_a_formula_gets_a_leading_quote(start: str) -> None:
    out = io.StringIO()
    render.write_csv(out, ("name", "days_left"), [(f"{start}1+2", -3), ("1+2", 4)])

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))

    shown = "\n" if start == "\r" else start  # a CR is written as a line break the reader sees as one
    assert rows == [["name", "days_left"], [f"'{shown}1+2", "-3"], ["1+2", "4"]]


def test_a_stored_line_break_stays_inside_its_cell() -> None:
    out = io.StringIO()
    render.write_csv(out, ("name", "n"), [("甲\r乙", 1), ("丙\r\n丁", 2), ("戊\n己", 3)])

    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))

    assert rows == [["name", "n"], ["甲\n乙", "1"], ["丙\n丁", "2"], ["戊\n己", "3"]]


def test_every_csv_the_program_writes_goes_through_the_one_helper() -> None:
    root = Path(__file__).parents[2]
    writers = [
        f"{path.relative_to(root)}:{number}"
        for package in ("obligations", "notifiers", "calendars")
        for path in sorted((root / package).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if re.search(r"csv\.(writer|DictWriter)\(", line)
    ]
    assert writers == ["obligations/render.py:" + str(_line_of_the_helper(root))]


def _line_of_the_helper(root: Path) -> int:
    lines = (root / "obligations" / "render.py").read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if "csv.writer(" in line)


# Every CSV command.


def test_due_csv_neutralises_a_formula_name_and_keeps_numbers_and_json_as_they_are(
    imported: tuple[Path, str],
) -> None:
    _set(imported, Organization, "jg.b1", FORMULA)

    rows = _csv(run(imported, "due", "--org", "jg.b1", "--all", "--format", "csv", *AS_OF).stdout)
    records = json.loads(run(imported, "due", "--org", "jg.b1", "--all", "--format", "json", *AS_OF).stdout)

    mine = [row for row in rows if row["org"] == "jg.b1"]
    assert mine and {row["org_name"] for row in mine} == {"'" + FORMULA}
    assert any(int(row["days_left"]) < 0 for row in rows)  # negative numbers are written as numbers
    assert [int(row["days_left"]) for row in rows] == [record["days_left"] for record in records]
    assert {record["org_name"] for record in records if record["org"] == "jg.b1"} == {FORMULA}


def test_report_csv_neutralises_a_formula_name(imported: tuple[Path, str]) -> None:
    _set(imported, Organization, "jg.b1", FORMULA)

    result = run(imported, "report", "--org", "jg", "--year", "2026", "--format", "csv", *AS_OF)

    assert result.exit_code == 0, result.stderr
    names = {row["org_name"] for row in _csv(result.stdout) if row["org"] == "jg.b1"}
    assert names == {"'" + FORMULA}


def test_ledger_csv_neutralises_formulas_in_every_typed_field(imported: tuple[Path, str]) -> None:
    recorded = run(
        imported, "record", "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-03-15",
        "--attendee", "jgb1m1", "--attendee", "jgb1m2", "--place", "@SUM(A1:A9)", "--host", "+cmd|' /C calc'!A0",
        "--topic", FORMULA, "--note", "-1+1", "--as-of", "2026-11-21",
    )  # fmt: skip
    assert recorded.exit_code == 0, recorded.stderr
    _set(imported, Member, "jgb1m1", "=1+1")  # the first attendee's name starts the cell

    result = run(imported, "ledger", "--org", "jg.b1", "--year", "2026", "--format", "csv", *AS_OF)

    activities, *member_tables = result.stdout.split("\n\n")  # the member tables follow a blank row
    [row] = _csv(activities)
    assert row["地点"] == "'@SUM(A1:A9)"
    assert row["主持人"] == "'+cmd|' /C calc'!A0"
    assert row["主题和内容"] == "'" + FORMULA
    assert row["备注"] == "'-1+1"
    assert row["参加人员"].startswith("'=1+1、")
    assert row["参加人数"] == "2"
    # The member tables (民主评议, 党费) name the member through the same rule.
    for table in member_tables[1:]:
        assert ",'=1+1," in table and ",=1+1" not in table


def test_rules_list_csv_goes_through_the_same_rule(imported: tuple[Path, str]) -> None:
    result = run(imported, "rules", "list", "--profile", "national", "--format", "csv")

    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert len(rows) > 1 and not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


# Terminal tables and the .ics feed.


def test_a_table_shows_control_characters_in_a_stored_name_as_replacement_marks(
    imported: tuple[Path, str],
) -> None:
    _set(imported, Organization, "jg.b1", TERMINAL)

    result = run(imported, "due", "--org", "jg.b1", *AS_OF)

    assert result.exit_code == 0, result.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout)
    assert "第一�[2J" in result.stdout


def test_org_show_prints_stored_names_without_control_characters(imported: tuple[Path, str]) -> None:
    _set(imported, Organization, "jg.b1.g1", TERMINAL)  # a child, listed under 下级组织
    _set(imported, Member, "jgb1m1", TERMINAL)  # the secretary, listed under 职务

    result = run(imported, "org", "show", "jg.b1")

    assert result.exit_code == 0, result.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", result.stdout)
    assert result.stdout.count("第一�[2J") == 3  # the child, the secretary's seat and the member table


@pytest.mark.parametrize("kind", ["VEVENT", "VTODO"])
def test_a_line_break_or_control_character_in_a_stored_name_leaves_every_event_of_the_feed_whole(
    imported: tuple[Path, str], kind: str
) -> None:
    _set(imported, Organization, "jg.b1", LINE_BREAKING)
    _set(imported, Member, "jgb1m1", LINE_BREAKING)  # jg.b1's secretary: the assignee of its tasks

    result = run(imported, "calendar", "--org", "jg.b1", *(("--todo",) if kind == "VTODO" else ()), *AS_OF)

    assert result.exit_code == 0, result.stderr
    data = result.stdout_bytes
    assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", data)
    lines = data.split(b"\r\n")
    begin, end = f"BEGIN:{kind}".encode(), f"END:{kind}".encode()
    assert lines.count(begin) == lines.count(end) > 0
    other = b"BEGIN:VEVENT" if kind == "VTODO" else b"BEGIN:VTODO"
    assert other not in lines and b"\n" not in data.replace(b"\r\n", b"")
    entries = Calendar.from_ical(data).walk(kind)
    assert len(entries) == lines.count(begin)
    shown = "党员��END:VTODO�BEGIN:VEVENT���甲"
    for entry in entries:
        assert {"UID", "SUMMARY", "DUE" if kind == "VTODO" else "DTSTART", "DESCRIPTION"} <= set(entry.keys())
    summaries = [str(entry["SUMMARY"]) for entry in entries]
    assert sum(f"{shown}：" in summary for summary in summaries) > 1  # jg.b1's own tasks
    assert any(f"责任人：{shown}" in str(entry["DESCRIPTION"]) for entry in entries)
