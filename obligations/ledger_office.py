"""The 台账 as offices hand it over: an Excel workbook and a Word 记录本 (ledger_export.Ledger in, bytes out).

- The workbook (openpyxl) has a summary sheet — each of the organization's duties due in the year with its
  period, due date, where it stands, and the date, place and attendance of the records that count toward it —
  then one sheet per kind of activity (党员大会, 支委会, 党小组会, 党课, 主题党日, 组织生活会, 其他: the
  record book's sections, each a duty of the calendars) with every record's full row, then the member tables
  (转正讨论, 民主评议, 党费).
- The 记录本 (python-docx) gives each activity its own section, starting on a new page: date, place, form, host,
  lecturer, attendees and absentees, topic, the duties it counts toward, the minutes and photos filed with it,
  and the secretary's signature line; every page's footer carries its number and the page count (PAGE and
  NUMPAGES fields, which Word and LibreOffice fill in). The member tables follow.

Everything written comes from the ledger, typed by people outside the server. A text cell is stored as a
string (an inline string, never a formula), so a topic like “=1+1” or “-2” shows as typed; one that starts
like a formula (render.FORMULA_START, as the CSV's OWASP rule) is also marked quote-prefixed, so that editing
it in Excel keeps it text. python-docx escapes what it writes by construction; the characters XML cannot hold at all (NUL, ESC…) are
replaced by U+FFFD in both formats, where they would otherwise stop the export.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from obligations.ledger_export import (
    CSV_HEADERS,
    SIGNATURE,
    Entry,
    Ledger,
    entry_row,
    member_tables,
)
from obligations.render import FORMULA_START

SUMMARY_TITLE = "职责汇总"
SUMMARY_HEADERS = (
    "职责",
    "组织",
    "周期",
    "期限",
    "状态",
    "开展日期",
    "地点",
    "参加人数",
    "台账记录编号",
)

# What XML 1.0 cannot hold (openpyxl and lxml refuse them): C0 controls but tab, line feed and carriage return.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value: str) -> str:
    return _NOT_XML.sub("\ufffd", value)


def _cell(value: object) -> object:
    return _text(value) if isinstance(value, str) else value


# --- the workbook --------------------------------------------------------------------------------------------


def summary_rows(book: Ledger) -> list[list[object]]:
    """The summary sheet's rows: one per duty due in the year; several records are listed side by side."""
    entries = {entry.id: entry for entry in book.entries}
    rows: list[list[object]] = []
    for duty in book.duties:
        held = [entries[record] for record in duty.records if record in entries]
        rows.append(
            [
                duty.title,
                duty.org_name,
                duty.period_text,
                duty.due.isoformat(),
                duty.outcome.label,
                "、".join(entry.held_on.isoformat() for entry in held),
                "、".join(entry.place or "" for entry in held if entry.place),
                "、".join(str(entry.headcount) for entry in held if entry.headcount is not None),
                "、".join(str(record) for record in duty.records),
            ]
        )
    return rows


def _sheet_name(title: str) -> str:
    """A title as a sheet's name: Excel allows 31 characters and none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", "_", title.split("（")[0])[:31]


def _fill(sheet: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(value) for value in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # a string, whatever it looks like: never a formula
                cell.quotePrefix = cell.value.startswith(FORMULA_START)  # and kept text when edited
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A2"


def to_xlsx(book: Ledger) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    assert summary is not None
    summary.title = SUMMARY_TITLE
    _fill(summary, SUMMARY_HEADERS, summary_rows(book))
    for name, entries in book.sections:
        _fill(workbook.create_sheet(name), CSV_HEADERS, [entry_row(entry) for entry in entries])
    for title, headers, rows in member_tables(book):
        _fill(workbook.create_sheet(_sheet_name(title)), headers, rows)
    workbook.properties.title = _text(f"{book.org_name}{book.year}年度党组织生活台账")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- the 记录本 ------------------------------------------------------------------------------------------------


def _field(paragraph: Paragraph, instruction: str) -> None:
    """A Word field (PAGE, NUMPAGES) that the word processor fills in when it lays out the page."""
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def _footer(document: DocumentObject) -> None:
    """第 N 页 共 M 页, centred at the foot of every page (later sections link to the first's footer)."""
    paragraph = document.sections[0].footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.add_run("第 ")
    _field(paragraph, "PAGE")
    paragraph.add_run(" 页　共 ")
    _field(paragraph, "NUMPAGES")
    paragraph.add_run(" 页")


def activity_fields(entry: Entry) -> list[tuple[str, str]]:
    """The lines of one activity's record, as the 记录本 lists them."""
    lines = [
        ("时间", entry.held_on.strftime("%Y年%m月%d日")),
        ("组织", entry.org_name),
        ("地点", entry.place or ""),
        ("方式", entry.form or ""),
        ("主持人", entry.host or ""),
    ]
    if entry.lecturer:
        lines.append(("主讲人", entry.lecturer))
    attendees = entry.attendees_text
    if entry.attendees:
        attendees += f"（共{entry.headcount}人）"
    lines += [
        ("参加人员", attendees),
        ("缺席人员及原因", entry.absentees_text or "无"),
        ("主题和内容", entry.topic or ""),
        ("计入职责", entry.duties_text),
    ]
    if entry.note:
        lines.append(("备注", entry.note))
    if entry.undone:
        lines.append(("状态", f"已撤销：{entry.undo_reason}" if entry.undo_reason else "已撤销"))
    return lines


def to_docx(book: Ledger) -> bytes:
    document = Document()
    first = document.sections[0]
    first.orientation = WD_ORIENT.PORTRAIT
    first.page_width, first.page_height = Mm(210), Mm(297)  # A4
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(first, side, Mm(20))
    style = document.styles["Normal"]
    style.font.size = Pt(11)
    _footer(document)
    document.core_properties.title = _text(f"{book.org_name}{book.year}年度党组织生活记录本")

    title = document.add_heading(_text("党组织生活记录本"), level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    subtitle = document.add_paragraph(_text(f"{book.org_name}（{book.org}）　{book.year}年度"))
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    withdrawn = sum(1 for entry in book.entries if entry.undone)
    document.add_paragraph(f"共 {len(book.entries)} 次活动，其中已撤销 {withdrawn} 条记录。")

    for number, entry in enumerate(book.entries, start=1):
        document.add_section(WD_SECTION.NEW_PAGE)
        heading = f"{number}. {'、'.join(entry.types)}（台账记录 {entry.id}）"
        document.add_heading(_text(heading), level=1)
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for label, value in activity_fields(entry):
            cells = table.add_row().cells
            cells[0].text = label
            cells[1].text = _text(value)
        document.add_paragraph("会议记录及附件：")
        for path in entry.attachments or ("（无）",):
            document.add_paragraph(_text(path), style="List Bullet")
        signature = document.add_paragraph(SIGNATURE)
        signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        signature.paragraph_format.space_before = Pt(24)

    document.add_section(WD_SECTION.NEW_PAGE)
    for heading, headers, rows in member_tables(book):
        document.add_heading(_text(heading), level=1)
        table = document.add_table(rows=1, cols=len(headers))
        table.style = "Table Grid"
        for cell, header in zip(table.rows[0].cells, headers, strict=True):
            cell.text = header
        for row in rows:
            for cell, item in zip(table.add_row().cells, row, strict=True):
                cell.text = _text(str(item))
        if not rows:
            document.add_paragraph("本年度无记录")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
