"""Members rosters kept in Excel: `obligations import 名册.xlsx [--sheet NAME]` reads them as it reads a CSV."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, col, select

from obligations import db
from obligations.models import Member
from obligations.registry import RegistryError, read_registry
from tests.obligations.conftest import run

HEADERS = ("编号", "姓名", "所在组织", "人员类别", "入党日期", "预备期开始日期", "手机")


def workbook(path: Path, sheets: dict[str, Sequence[Sequence[object]]], *, title: str | None = None) -> Path:
    """A workbook with one sheet per entry (rows as written); `title` adds a merged title row above each."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        if title is not None:
            sheet.append([title])
            sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
            sheet.append([])  # a blank row between the title and the header, as offices leave one
        for row in rows:
            sheet.append(list(row))
    book.save(path)
    return path


def members(url: str, org: str) -> dict[str, Member]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return {m.id: m for m in session.exec(select(Member).where(col(Member.org) == org)).all()}
    finally:
        engine.dispose()


def reading_problems(path: Path, sheet: str | None = None) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        read_registry(path, sheet=sheet)
    return [str(problem) for problem in raised.value.problems]


def test_a_roster_under_a_merged_title_with_excel_dates_and_numeric_phones_imports_on_both_backends(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "名册.xlsx",
        {
            "党员": [
                HEADERS,
                (9001, "刘新", "jg.b2", "正式党员", dt.datetime(2015, 7, 1), None, 13800000000.0),
                ("m9002", "陈预", "第二党支部", "预备党员", "2026年3月1日", "2026/3/1", "13900000001"),
                (None, None, None, None, None, None, None),  # empty rows at the end of the sheet
                ("", "  ", None),
            ]
        },
        title="第二党支部党员名册",
    )

    result = run(imported, "import", str(path), "--as-of", "2026-11-21")

    assert result.exit_code == 0, result.stderr
    assert f"已导入 {path} 工作表“党员”：组织：新增 0，更新 0，移除 0；党员：新增 2" in result.stdout
    stored = members(imported[1], "jg.b2")
    assert stored["9001"].name == "刘新"
    assert stored["9001"].mobile == "13800000000"  # a number cell, read without its ".0"
    assert stored["9001"].joined_on == dt.date(2015, 7, 1)  # an Excel date
    assert stored["m9002"].org == "jg.b2"  # the organization given by its name
    assert stored["m9002"].joined_on == dt.date(2026, 3, 1)  # a date typed as text
    assert stored["m9002"].probation_start == dt.date(2026, 3, 1)


def test_sheet_picks_a_later_sheet_and_an_unknown_sheet_is_one_chinese_error_listing_the_sheets(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "members.xlsx",
        {
            "说明": [("本工作簿第二页为党员名册",)],
            "第二党支部": [HEADERS, ("m9101", "王五", "jg.b2", "正式党员", dt.date(2012, 7, 1), None, None)],
        },
    )

    unknown = run(imported, "import", str(path), "--sheet", "名册", "--as-of", "2026-11-21")
    first = run(imported, "import", str(path), "--as-of", "2026-11-21")
    chosen = run(imported, "import", str(path), "--sheet", "第二党支部", "--as-of", "2026-11-21")

    assert unknown.exit_code == 4
    assert unknown.stderr.strip().splitlines() == [
        f"错误：{path}：没有名为“名册”的工作表；本文件的工作表：“说明”、“第二党支部”"
    ]
    assert first.exit_code == 4  # the first sheet holds no roster
    assert f"{path} 工作表“说明”：找不到表头行" in first.stderr
    assert chosen.exit_code == 0, chosen.stderr
    assert "m9101" in members(imported[1], "jg.b2")


def test_a_bad_cell_names_file_sheet_row_and_column_header_and_nothing_is_imported(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    path = workbook(
        tmp_path / "members.xlsx",
        {
            "党员": [
                HEADERS,
                ("m9201", "赵六", "jg.b2", "正式党员", dt.date(2014, 7, 1), None, None),  # row 4: good
                ("m9202", "钱七", "jg.b2", "正式党员", "去年七一", None, None),  # row 5
                ("m9203", "孙八", "jg.b2", "正式党员", dt.datetime(2014, 7, 1, 9, 30), None, None),  # row 6
                ("m9204", True, "jg.b2", "正式党员", dt.date(2014, 7, 1), None, None),  # row 7
            ]
        },
        title="党员名册",
    )
    before = members(imported[1], "jg.b2")

    result = run(imported, "import", str(path), "--as-of", "2026-11-21")

    assert result.exit_code == 4
    where = f"{path} 工作表“党员”"
    assert result.stderr.strip().splitlines() == [
        f"错误：{where} 第 5 行 入党日期：无法识别的日期 '去年七一'，应写成 2020-07-01、2020/7/1、2020.7.1 或 2020年7月1日",
        f"{where} 第 6 行 入党日期：应为日期，不应带时间",
        f"{where} 第 7 行 姓名：应为文本，而不是真假值",
    ]
    assert members(imported[1], "jg.b2") == before  # row 4 was good, and is not imported either


def test_a_workbook_reads_the_same_members_as_the_csv_of_the_same_roster(tmp_path: Path) -> None:
    csv = tmp_path / "members.csv"
    csv.write_text(
        "编号,姓名,所在组织,人员类别,入党日期,预备期开始日期,手机\n"
        "1001,张三,jg.b1,正式党员,2010-07-01,,13800000001\n"
        "m02,李四,jg.b1,预备党员,2025-09-01,2025-09-01,\n",
        encoding="utf-8",
    )
    xlsx = workbook(
        tmp_path / "members.xlsx",
        {
            "Sheet1": [
                HEADERS,
                (1001, "张三", "jg.b1", "正式党员", dt.datetime(2010, 7, 1), None, 13800000001),
                ("m02", "李四", "jg.b1", "预备党员", "2025-09-01", dt.date(2025, 9, 1), None),
            ]
        },
    )

    from_csv, from_xlsx = read_registry(csv), read_registry(xlsx)

    assert from_xlsx.source == f"{xlsx} 工作表“Sheet1”"
    assert [(*vars(m).values(),) for m in from_xlsx.members] == [
        (*vars(m).values(),) for m in from_csv.members
    ]


def test_a_sheet_without_a_header_row_a_file_that_is_no_workbook_and_sheet_on_a_csv_are_refused(
    tmp_path: Path,
) -> None:
    titles_only = workbook(tmp_path / "titles.xlsx", {"名册": [("党员名册",), ("填报单位：第一党支部",)]})
    fake = tmp_path / "fake.xlsx"
    fake.write_text("姓名,所在组织\n", encoding="utf-8")
    csv = tmp_path / "members.csv"
    csv.write_text("姓名,所在组织,人员类别,入党日期\n", encoding="utf-8")

    assert reading_problems(titles_only) == [
        f"{titles_only} 工作表“名册”：找不到表头行：应有一行列名（姓名、所在组织、人员类别、入党日期……），其上可以有标题行"
    ]
    assert reading_problems(fake) == [
        f"{fake}：无法读取：不是有效的 Excel 工作簿（.xlsx）；旧的 .xls 文件请在 Excel 中另存为 .xlsx"
    ]
    assert reading_problems(csv, sheet="名册") == [f"{csv}：只有 Excel 工作簿（.xlsx）才能选择工作表"]


def test_header_problems_are_reported_on_the_header_row_below_the_titles(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "members.xlsx",
        {"名册": [("姓名", "所在组织", "入党日期", "职称"), ("张三", "jg.b1", dt.date(2010, 7, 1), "高级")]},
        title="党员名册",
    )

    assert reading_problems(path) == [
        f"{path} 工作表“名册” 第 3 行 职称：没有列名 '职称'。",
        f"{path} 工作表“名册” 第 3 行：缺少必需的列“人员类别”",
    ]
