"""A members roster kept in Excel (.xlsx): one sheet read as the CSV roster is (obligations/registry.py).

The 全国党员管理信息系统 and the branches keep their rosters as workbooks. The sheet is the first one, or the
one named; above its header row there may be title rows (“第一党支部党员名册”, merged across the columns):
the header row is the first row that holds a known column header, and rows are numbered as Excel shows them.
A cell is what Excel stored: a date cell is a date (a date typed as text is read as in a CSV), a whole number
is read without its “.0” (a mobile stored as the number 13800000000), an empty row is skipped.

The workbook is opened read-only and its rows are streamed into the roster's row pipeline one at a time, so
that a sheet of 50,000 members is never held whole (benchmarks/bench_import_xlsx.py). openpyxl parses the XML
with defusedxml (a runtime dependency), so that an entity expansion in a hostile file is refused.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from calendars.text import shown
from obligations.registry import Problem, Registry, is_roster_header, read_roster

# A 50,000-member roster unpacks to about 21 MB (benchmarks/bench_import_xlsx.py).
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
_NOT_A_WORKBOOK = "无法读取：不是有效的 Excel 工作簿（.xlsx）；旧的 .xls 文件请在 Excel 中另存为 .xlsx"


def read_members(path: Path, sheet: str | None) -> tuple[Registry, list[Problem]]:
    """The members listed on the sheet `sheet` of the workbook at `path` (None: its first sheet)."""
    file = str(path)
    try:
        unpacked = _unpacked_bytes(path)
        if unpacked > MAX_UNPACKED_BYTES:
            limit = MAX_UNPACKED_BYTES // 1024 // 1024
            return Registry(), [Problem(file, None, None, f"工作簿解压后超过 {limit} MB，请分批导入")]
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises a zip, XML or key error, whichever part of a damaged file it meets
        return Registry(), [Problem(file, None, None, _NOT_A_WORKBOOK)]
    try:
        names = book.sheetnames
        if sheet is not None and sheet not in names:
            listed = "、".join(f"“{shown(name)}”" for name in names)
            return Registry(), [
                Problem(file, None, None, f"没有名为“{shown(sheet)}”的工作表；本文件的工作表：{listed}")
            ]
        name = sheet if sheet is not None else names[0]
        worksheet = book[name]
        source = f"{file} 工作表“{shown(name)}”"
        if not isinstance(worksheet, ReadOnlyWorksheet):
            return Registry(), [
                Problem(source, None, None, "这是图表页，不是表格；请用 --sheet 选择名册所在的工作表")
            ]
        try:
            registry, problems = _read_sheet(source, worksheet)
        except Exception:  # a sheet whose XML breaks off part-way
            return Registry(), [Problem(source, None, None, _NOT_A_WORKBOOK)]
        return Registry(members=registry.members, source=source), problems
    finally:
        book.close()  # read-only mode keeps the file open until closed


def _unpacked_bytes(path: Path) -> int:
    """What the workbook's parts declare they unpack to. zipfile never inflates a part beyond its declared
    size (it stops there, and fails the part's CRC), so this bounds what openpyxl can read, shared strings
    included (read-only mode holds them whole): a zip bomb is refused before it is opened."""
    with zipfile.ZipFile(path) as archive:
        return sum(part.file_size for part in archive.infolist())


def _read_sheet(source: str, worksheet: ReadOnlyWorksheet) -> tuple[Registry, list[Problem]]:
    # The <dimension> a file declares may be wrong (too small, or a million rows of formatting): read the
    # rows that are there.
    worksheet.reset_dimensions()
    # types-openpyxl types the read-only sheet's iter_rows as the writable sheet's method.
    rows = _numbered(worksheet.iter_rows(values_only=True))  # type: ignore[misc]
    for number, cells in rows:
        if is_roster_header(cells):
            return read_roster(source, number, cells, rows)
    message = "找不到表头行：应有一行列名（姓名、所在组织、人员类别、入党日期……），其上可以有标题行"
    return Registry(), [Problem(source, None, None, message)]


def _numbered(rows: Iterator[tuple[object, ...]]) -> Iterator[tuple[int, Sequence[object]]]:
    """Each row with its number as Excel shows it (openpyxl yields the missing rows as empty ones)."""
    for number, cells in enumerate(rows, start=1):
        yield number, [_cell(value) for value in cells]


def _cell(value: object) -> object:
    """A cell as the roster reads it: a whole number as int (13800000000.0 → 13800000000, which the roster
    reads as the text "13800000000"), a date cell (stored with midnight) as a date; the rest as stored."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0, 0):
        return value.date()
    return value
