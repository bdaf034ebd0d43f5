"""`obligations ledger --format xlsx|docx`, and the HTML 台账 printed by Chromium: page numbers, signature line."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import openpyxl
import pytest
from playwright import sync_api as playwright_api

from obligations.render import FORMULA_START
from tests.chromium import chromium_path
from tests.obligations.conftest import run
from tests.obligations.test_ledger_export import AS_OF, HEADERS, _activities, _record

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["党员大会", "支委会", "党小组会", "党课", "主题党日", "组织生活会", "其他"]
# A majority of jg.b1's 9 full members (its 党小组's included), so that the general meeting is valid.
PRESENT = [arg for m in ("jgb1m1", "jgb1m2", "jgb1m3", "jgb1m4", "jgb1g1m1") for arg in ("--attendee", m)]
# Text typed by people that a spreadsheet would run as a formula if written as is.
FORMULAS = {
    "--topic": '=HYPERLINK("http://x","点击")',
    "--place": "+1+1",
    "--host": "@SUM(A1)",
    "--note": "-2",
}


@pytest.fixture
def office_book(imported: tuple[Path, str], tmp_path: Path) -> dict[str, int]:
    """jg.b1's year: a general meeting with attendees, absentees and minutes, a record whose fields look like
    formulas, a withdrawn committee meeting, and a 党小组 meeting."""
    minutes = tmp_path / "党员大会记录.txt"
    minutes.write_text("会议记录", encoding="utf-8")
    ids = {}
    ids["general"] = _record(
        imported, "--org", "jg.b1", "--rule", "general-meeting", "--on", "2026-03-15",
        *PRESENT, "--absent", "jgb1m5:出差", "--place", "三楼会议室",
        "--form", "集中学习", "--host", "党员jgb1m1", "--topic", "学习全会精神", "--minutes", str(minutes),
    )  # fmt: skip
    ids["formulas"] = _record(
        imported, "--org", "jg.b1", "--rule", "theme-party-day", "--on", "2026-04-18", "--attendees", "6",
        *(item for option, value in FORMULAS.items() for item in (option, value)),
    )  # fmt: skip
    ids["withdrawn"] = _record(
        imported, "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-05-20", "--attendees", "3",
        "--topic", "研究发展党员",
    )  # fmt: skip
    assert run(imported, "undo", str(ids["withdrawn"]), "--reason", "日期登记错误").exit_code == 0
    ids["group"] = _record(
        imported, "--org", "jg.b1.g1", "--rule", "group-meeting", "--on", "2026-02-10",
        "--attendee", "jgb1g1m1", "--topic", "学习党章",
    )  # fmt: skip
    return ids


def _export(workspace: tuple[Path, str], output_format: str, target: Path) -> None:
    result = run(
        workspace, "ledger", "--org", "jg.b1", "--year", "2026", "--format", output_format,
        "--output", str(target), *AS_OF,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert f"到 {target}" in result.stderr


def _csv_ledger(workspace: tuple[Path, str]) -> list[dict[str, str]]:
    """The ledger as CSV: the reference the other formats must match."""
    result = run(workspace, "ledger", "--org", "jg.b1", "--year", "2026", *AS_OF)
    assert result.exit_code == 0, result.stderr
    return _activities(result.stdout_bytes)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _as_typed(cell: str) -> str:
    """A CSV cell as it was typed: without the apostrophe the CSV puts before text that looks like a formula."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(FORMULA_START) else cell


def test_the_workbook_has_a_duty_summary_and_a_sheet_per_kind_of_activity_matching_the_ledger(
    imported: tuple[Path, str], office_book: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "台账.xlsx"
    _export(imported, "xlsx", target)

    workbook = openpyxl.load_workbook(target)
    assert workbook.sheetnames == ["职责汇总", *SECTIONS, "转正讨论", "民主评议党员", "党费交纳"]
    expected = _csv_ledger(imported)
    assert len(expected) == 4
    for record in expected:
        for kind in record["活动类型"].split("、"):
            rows = list(workbook[kind].iter_rows(values_only=True))
            assert list(rows[0]) == HEADERS
            found = {_text(row[0]): dict(zip(HEADERS, map(_text, row), strict=True)) for row in rows[1:]}
            typed = {header: _as_typed(cell) for header, cell in record.items()}
            assert found[record["编号"]] == typed  # date, place, topic, attendees… cell for cell
    assert [row[0] for row in workbook["党课"].iter_rows(min_row=2, values_only=True)] == []

    summary = [dict(zip(row_headers := [c.value for c in workbook["职责汇总"][1]], row, strict=True))
               for row in workbook["职责汇总"].iter_rows(min_row=2, values_only=True)]  # fmt: skip
    assert row_headers == [
        "职责",
        "组织",
        "周期",
        "期限",
        "状态",
        "开展日期",
        "地点",
        "参加人数",
        "台账记录编号",
    ]
    general = next(
        row for row in summary if row["周期"] == "2026年第一季度" and row["职责"] == "支部党员大会"
    )
    assert general["组织"] == "第一党支部" and general["状态"] == "按时完成"
    assert (general["开展日期"], general["地点"], general["参加人数"]) == ("2026-03-15", "三楼会议室", "5")
    assert general["台账记录编号"] == str(office_book["general"])
    # The withdrawn committee meeting counts toward nothing: May's 支委会 stands overdue.
    may = next(row for row in summary if row["职责"].endswith("（支委会）") and row["周期"] == "2026年5月")
    assert may["状态"] == "已逾期" and may["台账记录编号"] is None
    assert {row["状态"] for row in summary} >= {"按时完成", "已逾期", "未到期"}


def test_no_workbook_cell_starts_a_formula(
    imported: tuple[Path, str], office_book: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "台账.xlsx"
    _export(imported, "xlsx", target)

    workbook = openpyxl.load_workbook(target)
    record = {
        dict(zip(HEADERS, row, strict=True))["编号"]: dict(zip(HEADERS, row, strict=True))
        for row in workbook["主题党日"].iter_rows(min_row=2, values_only=True)
    }[office_book["formulas"]]
    # Shown as typed, without a CSV's leading apostrophe ...
    assert record["主题和内容"] == FORMULAS["--topic"]
    assert (record["地点"], record["主持人"], record["备注"]) == ("+1+1", "@SUM(A1)", "-2")
    # ... as strings, never formulas, and quote-prefixed where they look like one (kept text when edited).
    looked_like_formulas = 0
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith(("=", "+", "-", "@")):
                    assert cell.quotePrefix, (sheet.title, cell.coordinate, cell.value)
                    looked_like_formulas += 1
    assert looked_like_formulas >= 4


def test_the_record_book_has_a_section_per_activity_page_numbers_and_signature_lines(
    imported: tuple[Path, str], office_book: dict[str, int], tmp_path: Path
) -> None:
    target = tmp_path / "记录本.docx"
    _export(imported, "docx", target)

    document = docx.Document(str(target))
    expected = _csv_ledger(imported)
    # The title page, one section per activity, the member tables.
    assert len(document.sections) == 1 + len(expected) + 1
    footer = document.sections[0].footer._element.xml
    assert 'w:instr="PAGE"' in footer and 'w:instr="NUMPAGES"' in footer
    assert all(section.footer.is_linked_to_previous for section in document.sections[1:])
    activity_tables = document.tables[: len(expected)]
    for record, table in zip(expected, activity_tables, strict=True):
        fields = {row.cells[0].text: row.cells[1].text for row in table.rows}
        year, month, day = record["日期"].split("-")
        assert fields["时间"] == f"{year}年{month}月{day}日"
        assert fields["组织"] == record["组织"]
        # The CSV's cells are made safe for spreadsheets; a Word table holds the text as typed.
        assert fields["地点"] == record["地点"].removeprefix("'")
        assert fields["主题和内容"] == record["主题和内容"].removeprefix("'")
        assert fields["参加人员"].startswith(record["参加人员"] or record["参加人数"])
        assert fields["缺席人员及原因"] == (record["缺席人员及原因"] or "无")
        assert fields["计入职责"] == record["计入职责"]
    general = {row.cells[0].text: row.cells[1].text for row in activity_tables[1].rows}
    assert general["参加人员"] == "党员jgb1g1m1、党员jgb1m1、党员jgb1m2、党员jgb1m3、党员jgb1m4（共5人）"
    assert general["缺席人员及原因"] == "党员jgb1m5（出差）"
    withdrawn = {row.cells[0].text: row.cells[1].text for row in activity_tables[3].rows}
    assert withdrawn["状态"] == "已撤销：日期登记错误"
    paragraphs = [paragraph.text for paragraph in document.paragraphs]
    assert sum(text.startswith("书记签字：") and "日期：" in text for text in paragraphs) == len(expected)
    # Each activity's minutes list: the files filed with it, as the CSV names them, or （无）.
    listed = [text for text in paragraphs if text.startswith("jg.b1/") or text == "（无）"]
    assert listed == [record["附件"] or "（无）" for record in expected]
    assert listed[1] == f"jg.b1/general-meeting-2026-Q1/{office_book['general']}-1.txt"


def test_a_binary_ledger_is_refused_on_a_terminal_and_written_to_a_pipe(
    imported: tuple[Path, str], office_book: dict[str, int]
) -> None:
    config, url = imported
    command = [
        sys.executable, "-c", "from obligations.cli import main; main()", "--config", str(config), "--db", url,
        "ledger", "--org", "jg.b1", "--year", "2026", "--format", "xlsx", *AS_OF,
    ]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    main, terminal = pty.openpty()
    try:
        on_terminal = subprocess.run(
            command, stdout=terminal, stderr=subprocess.PIPE, env=environment, timeout=120, check=False
        )
    finally:
        os.close(terminal)
        os.close(main)
    piped = run(imported, "ledger", "--org", "jg.b1", "--year", "2026", "--format", "docx", *AS_OF)

    assert on_terminal.returncode == 1
    assert on_terminal.stderr.decode().strip() == (
        "错误：xlsx 是二进制文件，不能显示在终端上：请用 --output 指定文件，或重定向到文件。"
    )
    assert piped.exit_code == 0 and piped.stdout_bytes.startswith(b"PK\x03\x04")  # a zip: the .docx itself


def _pdftotext() -> str:
    found = shutil.which("pdftotext")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("REQUIRE_CHROMIUM") == "1":
        pytest.fail(
            "pdftotext is not installed: CI must read the printed 台账 (.ci/run installs poppler-utils)"
        )
    pytest.skip("pdftotext not installed here (apt-get install poppler-utils); CI runs this test")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_printed_html_ledger_numbers_its_a4_pages_and_ends_with_the_signature_line(
    imported: tuple[Path, str], office_book: dict[str, int], tmp_path: Path
) -> None:
    pdftotext = _pdftotext()
    page = tmp_path / "台账.html"
    _export(imported, "html", page)
    pdf = tmp_path / "台账.pdf"
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path("print the 台账"), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page()
            tab.goto(page.as_uri())
            tab.pdf(path=str(pdf), prefer_css_page_size=True)
        finally:
            browser.close()

    def text(first: int, last: int) -> str:
        done = subprocess.run(
            [pdftotext, "-layout", "-f", str(first), "-l", str(last), str(pdf), "-"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout

    pages = text(1, 9999).count("\f")
    assert pages >= 2, "the ledger with its seven sections and member tables takes more than one A4 page"
    for number in range(1, pages + 1):
        # pdftotext closes up the spaces of "1 / 4" at the page's foot.
        assert re.search(rf"(?m)^\s*{number}\s*/\s*{pages}\s*$", text(number, number)), number
    assert "书记签字：" in text(pages, pages) and "日期：" in text(pages, pages)
    assert "书记签字：" not in text(1, pages - 1)
