from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import select

import obligations.registry
from calendars.model import OrgKind
from calendars.text import MOBILE_RULE
from obligations import db
from obligations.models import Organization
from obligations.registry import (
    MemberRecord,
    OrgRecord,
    PositionRecord,
    Registry,
    RegistryError,
    read_registry,
    resolve_org_names,
    validate,
)
from tests.obligations.conftest import run

AS_OF = dt.date(2026, 11, 20)
PROFILES = {"national", "wujin-2016"}
EMPTY = Registry()

# A valid registry; the headers are on lines 1, 8, 14 (orgs), 20, 27 (members) and 34 (position). Blocks that
# tests append start on line 40.
BASE = """\
[[org]]
code = "jg"
name = "机关党委"
kind = "committee"
profile = "national"
elected_on = 2022-03-10

[[org]]
code = "jg.b1"
name = "第一党支部"
kind = "branch"
parent = "jg"

[[org]]
code = "jg.b1.g1"
name = "第一党小组"
kind = "group"
parent = "jg.b1"

[[member]]
id = "m001"
name = "张三"
org = "jg.b1"
status = "full"
joined_on = 2010-07-01

[[member]]
id = "m002"
name = "李四"
org = "jg.b1.g1"
status = "full"
joined_on = 2012-07-01

[[position]]
org = "jg.b1"
role = "secretary"
member = "m001"
since = 2024-06-20
"""

CSV_HEADER = "姓名,所在组织,人员类别,入党日期,预备期开始日期,手机\n"


def registry_file(tmp_path: Path, *blocks: str, base: str = BASE) -> Path:
    """BASE followed by `blocks`, each after a blank line: the first block starts on line 40."""
    path = tmp_path / "registry.toml"
    path.write_text(base + "".join("\n" + dedent(block) for block in blocks), encoding="utf-8")
    return path


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text), encoding=encoding)
    return path


def reading_problems(path: Path) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        read_registry(path)
    return [str(problem) for problem in raised.value.problems]


def validation_problems(path: Path, *, existing: Registry = EMPTY, as_of: dt.date = AS_OF) -> list[str]:
    incoming = read_registry(path)
    problems = validate(incoming, file=str(path), existing=existing, as_of=as_of, profiles=PROFILES)
    return [str(problem) for problem in problems]


def member(member_id: str, org: str, *, name: str = "王五", status: str = "full") -> MemberRecord:
    return MemberRecord(member_id, name, org, status, dt.date(2015, 7, 1), None, None, None, None, None)


# --- reading TOML --------------------------------------------------------------------------------------------


def test_documented_example_reads_and_validates(tmp_path: Path) -> None:
    assert obligations.registry.__doc__ is not None
    example = re.search(r"```toml\n(.*?)```", obligations.registry.__doc__, re.DOTALL)
    assert example is not None
    path = write(tmp_path, "registry.toml", example.group(1))

    registry = read_registry(path)

    assert [org.code for org in registry.orgs] == ["jg", "jg.b1", "jg.b1.g1"]
    assert [m.id for m in registry.members] == ["m001", "m002"]
    assert [(p.org, p.role, p.member) for p in registry.positions] == [
        ("jg.b1", "secretary", "m001"),
        ("jg.b1", "deputy_secretary", None),
    ]
    assert validate(registry, file=str(path), existing=Registry(), as_of=AS_OF, profiles=PROFILES) == []


def test_toml_records_carry_their_header_line_and_typed_fields(tmp_path: Path) -> None:
    registry = read_registry(registry_file(tmp_path))

    assert [org.line for org in registry.orgs] == [1, 8, 14]
    assert [m.line for m in registry.members] == [20, 27]
    assert [p.line for p in registry.positions] == [34]
    assert registry.orgs[0] == OrgRecord(
        "jg", "机关党委", OrgKind.COMMITTEE, None, "national", dt.date(2022, 3, 10), None, line=1
    )
    assert registry.members[0] == MemberRecord(
        "m001", "张三", "jg.b1", "full", dt.date(2010, 7, 1), None, None, None, None, None, line=20
    )
    assert registry.positions[0] == PositionRecord(
        "jg.b1", "secretary", "m001", dt.date(2024, 6, 20), None, line=34
    )


def test_toml_dates_may_be_strings(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "probationary"
        joined_on = "2026-03-01"
        probation_start = "2026/3/1"
        """,
    )

    added = read_registry(path).members[-1]

    assert (added.joined_on, added.probation_start) == (dt.date(2026, 3, 1), dt.date(2026, 3, 1))


def test_impossible_date_names_file_line_table_and_field(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "full"
        joined_on = "2026-02-30"
        """,
    )

    assert reading_problems(path) == [f"{path} 第 40 行 [[member]] joined_on：日期 2026-02-30 不存在"]


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "registry.toml", '[[member]]\nid = "m1"\njoined_on = 2026-02-30\n')

    assert reading_problems(path) == [f"{path} 第 3 行：TOML 语法错误：第 13 列：无效的日期"]


def test_unknown_field_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "full"
        joined_on = 2015-07-01
        emial = "wangwu@example.org"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[member]] emial：没有字段 'emial'。您是不是要找：email、mobile？"
    ]


def test_unknown_kind_role_and_status_are_reported_with_the_allowed_values(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "cell"
        parent = "jg"

        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "candidate"
        joined_on = 2015-07-01

        [[position]]
        org = "jg.b1"
        role = "treasurer"
        member = "m002"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] kind：未知的组织类型 'cell'，应为 committee（党委）、general_branch（党总支）、"
        "branch（党支部）、group（党小组）、leading_group（党组）",
        f"{path} 第 46 行 [[member]] status：未知的人员类别 'candidate'，应为 full（正式党员）或 probationary（预备党员）",
        f"{path} 第 53 行 [[position]] role：未知的职务 'treasurer'，应为 secretary（书记）、"
        "deputy_secretary（副书记）、organization（组织委员）、propaganda（宣传委员）、discipline（纪检委员）、"
        "group_leader（党小组长）",
    ]


def test_chinese_kind_and_role_labels_are_accepted(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "党支部"
        parent = "jg"

        [[position]]
        org = "jg.b1.g1"
        role = "党小组长"
        member = "m002"
        """,
    )

    registry = read_registry(path)

    assert registry.orgs[-1].kind is OrgKind.BRANCH
    assert registry.positions[-1].role == "group_leader"


def test_every_missing_required_field_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        parent = "jg"

        [[member]]
        email = "x@example.org"

        [[position]]
        member = "m001"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] code：必须填写",
        f"{path} 第 40 行 [[org]] name：必须填写",
        f"{path} 第 40 行 [[org]] kind：必须填写",
        f"{path} 第 43 行 [[member]] id：必须填写",
        f"{path} 第 43 行 [[member]] name：必须填写",
        f"{path} 第 43 行 [[member]] org：必须填写",
        f"{path} 第 43 行 [[member]] status：必须填写",
        f"{path} 第 43 行 [[member]] joined_on：必须填写",
        f"{path} 第 46 行 [[position]] org：必须填写",
        f"{path} 第 46 行 [[position]] role：必须填写",
    ]


def test_values_of_the_wrong_type_are_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = true
        kind = "branch"
        parent = "jg"
        elected_on = 2024-06-20T09:00:00
        term_years = "five"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] name：应为文本，而不是真假值",
        f"{path} 第 40 行 [[org]] elected_on：应为日期，不应带时间",
        f"{path} 第 40 行 [[org]] term_years：应为整数（年），而不是文本",
    ]


def test_unknown_table_and_a_single_table_instead_of_an_array_are_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "registry.toml",
        """\
        [[members]]
        id = "m001"

        [position]
        org = "jg"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 1 行 members：没有表 'members'。您是不是要找：member？",
        f"{path} 第 4 行 position：每条记录应写成一个 [[position]] 表",
    ]


def test_reading_reports_all_problems_of_a_file_at_once(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"
        elected_on = "2024-13-01"

        [[member]]
        id = "m003"
        org = "jg.b2"
        status = "full"
        joined_on = 2015-07-01

        [[position]]
        org = "jg.b2"
        role = "secretary"
        since = 2024
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] elected_on：日期 2024-13-01 不存在",
        f"{path} 第 47 行 [[member]] name：必须填写",
        f"{path} 第 53 行 [[position]] since：应为日期，而不是整数",
    ]


def test_registry_error_is_exit_code_4_with_one_problem_per_line(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        kind = "branch"
        elected_on = "someday"
        """,
    )

    with pytest.raises(RegistryError) as raised:
        read_registry(path)

    assert raised.value.exit_code == 4
    assert str(raised.value).splitlines() == [
        f"{path} 第 40 行 [[org]] name：必须填写",
        f"{path} 第 40 行 [[org]] elected_on：无法识别的日期 'someday'，应写成 2020-07-01、2020/7/1、2020.7.1 或 2020年7月1日",
    ]


def test_a_file_that_is_neither_toml_csv_nor_xlsx_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "registry.xls", "")

    assert reading_problems(path) == [f"{path}：不支持的文件类型：应为 .toml、.csv 或 .xlsx"]


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "members.csv"

    assert reading_problems(path) == [f"{path}：无法读取：No such file or directory"]


# --- reading CSV ---------------------------------------------------------------------------------------------


def test_gb18030_csv_with_chinese_headers_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        """\
        党员编号,姓名,所在组织,人员类别,入党日期,转正日期,预备期开始日期,邮箱,企业微信,手机,专职党务工作起始日期
        m101,欧阳娜娜,jg.b1,正式党员,2010-07-01,2011-07-01,,ouyang@example.org,ouyangnn,13800000101,2020-01-01
        m102,司马懿,jg.b1,预备党员,2026-03-01,,2026-03-01,,,,
        """,
        encoding="gb18030",
    )

    registry = read_registry(path)

    assert registry.members == (
        MemberRecord(
            "m101",
            "欧阳娜娜",
            "jg.b1",
            "full",
            dt.date(2010, 7, 1),
            None,
            dt.date(2011, 7, 1),
            "ouyang@example.org",
            "ouyangnn",
            "13800000101",
            dt.date(2020, 1, 1),
            line=2,
        ),
        MemberRecord(
            "m102",
            "司马懿",
            "jg.b1",
            "probationary",
            dt.date(2026, 3, 1),
            dt.date(2026, 3, 1),
            None,
            None,
            None,
            None,
            line=3,
        ),
    )


def test_utf8_csv_with_bom_is_read(tmp_path: Path) -> None:
    path = write(
        tmp_path, "members.csv", CSV_HEADER + "张三,jg.b1,正式党员,2010-07-01,,13800000001\n", "utf-8-sig"
    )
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    (only,) = read_registry(path).members

    assert (only.id, only.name, only.org, only.status) == ("jg.b1/张三", "张三", "jg.b1", "full")


def test_english_headers_in_any_order_are_read(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        """\
        status,Joined_On,org,name,id,email
        probationary,2026-03-01,jg.b1,Li Si,m200,lisi@example.org
        """,
    )

    (only,) = read_registry(path).members

    assert (only.id, only.name, only.org, only.status, only.joined_on, only.email) == (
        "m200",
        "Li Si",
        "jg.b1",
        "probationary",
        dt.date(2026, 3, 1),
        "lisi@example.org",
    )


@pytest.mark.parametrize(
    "written",
    ["2020-07-01", "2020-7-1", "2020/7/1", "2020.7.1", "2020年7月1日", "2020年07月01日", "2020/7/1 0:00"],
)
def test_each_spreadsheet_date_format_is_accepted(tmp_path: Path, written: str) -> None:
    path = write(tmp_path, "members.csv", CSV_HEADER + f"张三,jg.b1,正式党员,{written},,\n")

    (only,) = read_registry(path).members

    assert only.joined_on == dt.date(2020, 7, 1)


def test_member_without_id_takes_org_and_name_never_the_mobile_number(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER + "张三,jg.b1,正式党员,2010-07-01,,13800000001\n李四,jg.b1.g1,正式党员,2012-07-01,,\n",
    )

    assert [(m.id, m.mobile) for m in read_registry(path).members] == [
        ("jg.b1/张三", "13800000001"),
        ("jg.b1.g1/李四", None),
    ]


def test_empty_id_cell_is_derived_like_a_missing_id_column(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        "编号,姓名,所在组织,人员类别,入党日期\nm1,张三,jg.b1,正式党员,2010-07-01\n,李四,jg.b1,正式党员,2012-07-01\n",
    )

    assert [m.id for m in read_registry(path).members] == ["m1", "jg.b1/李四"]


def test_blank_rows_are_skipped_and_rows_keep_their_spreadsheet_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER + "张三,jg.b1,正式党员,2010-07-01,,\n\n,,,,,\n李四,jg.b1,正式党员,2012-07-01,,\n",
    )

    assert [(m.name, m.line) for m in read_registry(path).members] == [("张三", 2), ("李四", 5)]


def test_every_bad_row_is_listed_with_its_row_number_and_header(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER
        + "张三,jg.b1,正式党员,2010-02-30,,\n"
        + "李四,jg.b1,正式党员,2012-07-01,,\n"
        + "王五,jg.b1,党员,2015-07-01,,\n"
        + ",jg.b1,预备党员,2026-03-01,2026/3/1,\n",
    )

    assert reading_problems(path) == [
        f"{path} 第 2 行 入党日期：日期 2010-02-30 不存在",
        f"{path} 第 4 行 人员类别：未知的人员类别 '党员'，应为 full（正式党员）或 probationary（预备党员）",
        f"{path} 第 5 行 姓名：必须填写",
    ]


def test_problems_name_csv_fields_by_the_header_the_file_uses(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", "name,org,status,joined_on\nZhang San,jg.b1,full,yesterday\n")

    assert reading_problems(path) == [
        f"{path} 第 2 行 joined_on：无法识别的日期 'yesterday'，应写成 2020-07-01、2020/7/1、2020.7.1 或 2020年7月1日"
    ]


def test_unknown_and_missing_headers_are_reported_once_not_on_every_row(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        "姓名,所在组织,人员类别,性别\n张三,jg.b1,正式党员,男\n李四,jg.b1,正式党员,女\n",
    )

    assert reading_problems(path) == [
        f"{path} 第 1 行 性别：没有列名 '性别'。",
        f"{path} 第 1 行：缺少必需的列“入党日期”",
    ]


def test_a_header_given_twice_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", "姓名,所在组织,人员类别,入党日期,手机,mobile\n")

    assert reading_problems(path) == [f"{path} 第 1 行 mobile：与前面的列“手机”重复"]


def test_a_value_in_a_column_without_header_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path, "members.csv", "姓名,所在组织,人员类别,入党日期\n张三,jg.b1,正式党员,2010-07-01,备注\n"
    )

    assert reading_problems(path) == [f"{path} 第 2 行：第 E 列有内容，但该列没有表头"]


def test_csv_in_an_unsupported_encoding_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path, "members.csv", CSV_HEADER + "张三,jg.b1,正式党员,2010-07-01,,\n", encoding="utf-16"
    )

    assert reading_problems(path) == [
        f"{path}：无法识别文件编码：应为 UTF-8（可带 BOM）或 GB18030/GBK 编码的 CSV；请在 Excel 中另存为“CSV UTF-8”"
    ]


@pytest.mark.parametrize("content", ["", "\n,,\n"])
def test_an_empty_csv_is_refused_as_empty(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "members.csv", content)

    assert reading_problems(path) == [f"{path}：文件是空的，没有可导入的内容"]


def test_a_csv_whose_first_row_is_blank_asks_for_a_header_row(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", "\n张三,jg.b1,正式党员,2010-07-01\n")

    assert reading_problems(path) == [
        f"{path} 第 1 行：第 1 行应为表头（姓名、所在组织、人员类别、入党日期……）"
    ]


# --- validation ----------------------------------------------------------------------------------------------


def test_a_consistent_registry_has_no_problems(tmp_path: Path) -> None:
    assert validation_problems(registry_file(tmp_path)) == []


def test_unknown_parent_org_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "zz"
        """,
    )

    assert validation_problems(path) == [f"{path} 第 40 行 [[org]] parent：没有上级组织 'zz'。"]


def test_a_cycle_of_parents_is_reported_once(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "x1"
        name = "甲"
        kind = "committee"
        parent = "x2"

        [[org]]
        code = "x2"
        name = "乙"
        kind = "committee"
        parent = "x1"

        [[org]]
        code = "x3"
        name = "丙"
        kind = "committee"
        parent = "x3"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[org]] parent：上级组织形成循环：x1 → x2 → x1",
        f"{path} 第 52 行 [[org]] parent：上级组织形成循环：x3 → x3",
    ]


def test_a_cycle_through_an_existing_org_is_reported_on_the_incoming_one(tmp_path: Path) -> None:
    existing = Registry(orgs=(OrgRecord("x1", "甲", OrgKind.COMMITTEE, "x2", None, None, None),))
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "x2"
        name = "乙"
        kind = "committee"
        parent = "x1"
        """,
    )

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 40 行 [[org]] parent：上级组织形成循环：x2 → x1 → x2"
    ]


def test_duplicate_org_codes_member_ids_and_positions_within_the_file_are_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b1"
        name = "第一党支部"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m001"
        name = "张三"
        org = "jg.b1"
        status = "full"
        joined_on = 2010-07-01

        [[position]]
        org = "jg.b1"
        role = "secretary"
        member = "m001"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[org]] code：组织编码 jg.b1 与第 8 行重复",
        f"{path} 第 46 行 [[member]] id：党员编号 m001 与第 20 行重复",
        f"{path} 第 53 行 [[position]] role：职务 jg.b1 书记 与第 34 行重复",
    ]


def test_incoming_records_replace_existing_ones_with_the_same_key(tmp_path: Path) -> None:
    existing = Registry(
        orgs=(OrgRecord("jg", "旧名称", OrgKind.BRANCH, "gone", "unknown-profile", None, None),),
        members=(member("m001", "jg"),),
        positions=(PositionRecord("jg.b1", "secretary", "m999", None, None),),
    )

    assert validation_problems(registry_file(tmp_path), existing=existing) == []


def test_member_of_an_unknown_org_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "zz"
        status = "full"
        joined_on = 2015-07-01
        """,
    )

    assert validation_problems(path) == [f"{path} 第 40 行 [[member]] org：没有组织 'zz'。"]


def test_position_in_an_unknown_org_or_held_by_an_unknown_member_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "zz"
        role = "secretary"
        member = "m001"

        [[position]]
        org = "jg.b1"
        role = "propaganda"
        member = "q9"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[position]] org：没有组织 'zz'。",
        f"{path} 第 45 行 [[position]] member：没有党员 'q9'。",
    ]


def test_a_committee_seat_may_be_held_by_a_member_registered_in_a_branch_below_it(tmp_path: Path) -> None:
    """A 党委 secretary's membership sits in one of its branches (党章 第八条: every member belongs to a 支部 or
    小组; the 党委 is elected from them): the seat of jg is held by m001 of jg.b1, and by m002 of its 党小组."""
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg"
        role = "secretary"
        member = "m001"

        [[position]]
        org = "jg"
        role = "organization"
        member = "m002"
        """,
    )

    assert validation_problems(path) == []


def test_a_committee_seat_held_by_a_member_outside_the_subtree_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m009"
        name = "赵六"
        org = "jg.b2"
        status = "full"
        joined_on = 2015-07-01

        [[position]]
        org = "jg.b1"
        role = "propaganda"
        member = "m009"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 53 行 [[position]] member：担任宣传委员的党员 m009（赵六）属于 jg.b2（第二党支部），"
        "不是 jg.b1（第一党支部）或其下属组织 的党员"
    ]


def test_branch_committee_role_may_be_held_by_a_member_of_one_of_its_groups(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1"
        role = "organization"
        member = "m002"
        """,
    )

    assert validation_problems(path) == []


def test_group_leader_must_be_a_member_of_the_group_itself(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1.g1"
        role = "group_leader"
        member = "m001"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[position]] member：担任党小组长的党员 m001（张三）属于 jg.b1（第一党支部），"
        "不是 jg.b1.g1（第一党小组） 的党员"
    ]


def test_group_leader_from_the_group_is_accepted(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1.g1"
        role = "group_leader"
        member = "m002"
        since = 2025-01-01
        """,
    )

    assert validation_problems(path) == []


def test_dates_in_the_future_or_before_the_founding_of_the_party_are_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "full"
        joined_on = 1920-07-01
        full_on = 2026-11-21
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[member]] joined_on：日期 1920-07-01 早于中国共产党成立（1921-07-01）",
        f"{path} 第 40 行 [[member]] full_on：日期 2026-11-21 在将来（晚于 2026-11-20）",
    ]


def test_probationary_member_without_probation_start_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "probationary"
        joined_on = 2026-03-01
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[member]] probation_start：预备党员必须填写预备期开始日期"
    ]


def test_vacant_since_on_a_held_position_and_a_vacancy_without_it_are_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1"
        role = "deputy_secretary"
        member = "m002"
        vacant_since = 2026-01-01

        [[position]]
        org = "jg.b1"
        role = "propaganda"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[position]] vacant_since：职务已有人担任，不应填写空缺日期；空缺职务不填 member",
        f"{path} 第 46 行 [[position]] vacant_since：空缺职务必须填写空缺起始日期（或用 member 填写任职党员）",
    ]


def test_unknown_profile_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"
        profile = "wujin"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[org]] profile：没有职责日历 'wujin'。您是不是要找：wujin-2016？"
    ]


def test_group_under_a_committee_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.g9"
        name = "机关党小组"
        kind = "group"
        parent = "jg"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[org]] parent：党小组只能设在党支部或党总支之下，而上级组织 jg（机关党委） 是党委"
    ]


def test_group_under_a_general_branch_is_accepted(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.z1"
        name = "第一党总支"
        kind = "general_branch"
        parent = "jg"

        [[org]]
        code = "jg.z1.g1"
        name = "总支党小组"
        kind = "group"
        parent = "jg.z1"

        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.z1.g1"
        status = "full"
        joined_on = 2015-07-01

        [[position]]
        org = "jg.z1"
        role = "secretary"
        member = "m003"
        """,
    )

    assert validation_problems(path) == []


def test_group_leader_outside_a_group_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1"
        role = "group_leader"
        member = "m001"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[position]] role：党小组长只能设在党小组，而 jg.b1（第一党支部） 是党支部"
    ]


def test_secretary_of_a_group_is_reported(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[position]]
        org = "jg.b1.g1"
        role = "secretary"
        member = "m002"
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[position]] role：党小组不设书记，只设党小组长（group_leader）"
    ]


def test_validation_reports_all_problems_of_a_file_at_once(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"
        profile = "nowhere"

        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b2"
        status = "probationary"
        joined_on = 2026-03-01

        [[position]]
        org = "jg.b2"
        role = "secretary"
        """,
    )

    problems = validation_problems(path)

    assert problems == [
        f"{path} 第 40 行 [[org]] profile：没有职责日历 'nowhere'。",
        f"{path} 第 47 行 [[member]] probation_start：预备党员必须填写预备期开始日期",
        f"{path} 第 54 行 [[position]] vacant_since：空缺职务必须填写空缺起始日期（或用 member 填写任职党员）",
    ]


def test_moving_a_member_who_holds_a_stored_position_is_reported_on_the_member(tmp_path: Path) -> None:
    existing = Registry(positions=(PositionRecord("jg.b1", "propaganda", "m003", None, None),))
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m003"
        name = "王五"
        org = "jg"
        status = "full"
        joined_on = 2015-07-01
        """,
    )

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 40 行 [[member]] org：担任宣传委员的党员 m003（王五）属于 jg（机关党委），不是 "
        "jg.b1（第一党支部）或其下属组织 的党员（这与数据库中已有的职务 jg.b1 宣传委员冲突）"
    ]


def test_problems_only_between_stored_records_are_not_this_files_doing(tmp_path: Path) -> None:
    path = registry_file(tmp_path)
    stored = read_registry(path)
    existing = Registry(
        orgs=(*stored.orgs, OrgRecord("old", "旧支部", OrgKind.BRANCH, "jg", None, None, None)),
        members=(*stored.members, member("m900", "jg")),
        positions=(*stored.positions, PositionRecord("old", "secretary", "m900", None, None)),
    )

    assert validation_problems(path, existing=existing) == []


def test_csv_member_org_given_by_name_resolves_against_stored_orgs(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER
        + "王五,第一党支部,正式党员,2015-07-01,,\n赵六,第一党小组,正式党员,2016-07-01,,13800000006\n",
    )
    incoming = read_registry(path)

    assert validate(incoming, file=str(path), existing=existing, as_of=AS_OF, profiles=PROFILES) == []
    resolved = resolve_org_names(incoming, existing)
    assert [(m.id, m.org) for m in resolved.members] == [
        ("jg.b1/王五", "jg.b1"),
        ("jg.b1.g1/赵六", "jg.b1.g1"),
    ]


def test_csv_member_with_unknown_or_ambiguous_org_name_is_reported(tmp_path: Path) -> None:
    existing = Registry(
        orgs=(
            OrgRecord("a.b1", "第一党支部", OrgKind.BRANCH, None, None, None, None),
            OrgRecord("b.b1", "第一党支部", OrgKind.BRANCH, None, None, None, None),
        )
    )
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER + "王五,第一党支部,正式党员,2015-07-01,,\n赵六,第九党支部,正式党员,2016-07-01,,\n",
    )

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 2 行 所在组织：组织名称“第一党支部”对应多个组织（a.b1、b.b1），请改填组织编码",
        f"{path} 第 3 行 所在组织：没有组织 '第九党支部'。您是不是要找：第一党支部？",
    ]


def test_csv_rows_that_derive_the_same_id_are_duplicates(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER + "王五,jg.b1,正式党员,2015-07-01,,\n王五,第一党支部,正式党员,2015-07-01,,\n",
    )

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 3 行 编号：党员编号 jg.b1/王五 与第 2 行重复（没有编号时以“所在组织/姓名”作为编号；同一组织有同名党员时请为他们填写编号）"
    ]


def test_csv_validation_names_fields_by_chinese_header(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))
    path = write(tmp_path, "members.csv", CSV_HEADER + "王五,jg.b1,预备党员,2026-03-01,,\n")

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 2 行 预备期开始日期：预备党员必须填写预备期开始日期"
    ]


# --- identifiers, control characters and lengths --------------------------------------------------------------


def test_org_codes_and_references_to_them_must_be_identifiers(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2/x"
        name = "第二党支部"
        kind = "branch"
        parent = "../jg"

        [[position]]
        org = "/tmp/escape"
        role = "secretary"
        member = "m001"
        """,
    )

    rule = "只能由字母、数字和 . - _ 组成，且以字母或数字开头"
    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] code：'jg.b2/x' {rule}",
        f"{path} 第 40 行 [[org]] parent：'../jg' {rule}",
        f"{path} 第 46 行 [[position]] org：'/tmp/escape' {rule}",
    ]


def test_control_characters_in_any_text_field_are_refused(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二\\u001b[31m党支部"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m003"
        name = "王\\u2028五"
        org = "jg.b2"
        status = "full"
        joined_on = 2015-07-01
        email = "a@example.org\\u0000"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] name：含有不可见的控制字符 U+001B（第 3 个字符），请删除后重试",
        f"{path} 第 46 行 [[member]] name：含有不可见的控制字符 U+2028（第 2 个字符），请删除后重试",
        f"{path} 第 46 行 [[member]] email：含有不可见的控制字符 U+0000（第 14 个字符），请删除后重试",
    ]


def test_a_line_break_or_a_bell_inside_a_csv_cell_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER + '"张\n三",jg.b1,正式党员,2010-07-01,,\n李四\a,jg.b1,正式党员,2011-07-01,,\n',
    )

    assert reading_problems(path) == [
        f"{path} 第 2 行 姓名：含有不可见的控制字符 U+000A（第 2 个字符），请删除后重试",
        f"{path} 第 3 行 姓名：含有不可见的控制字符 U+0007（第 3 个字符），请删除后重试",
    ]


def test_values_longer_than_their_database_column_are_refused_when_read(tmp_path: Path) -> None:
    long_code = "b" * 101
    path = registry_file(
        tmp_path,
        f"""\
        [[org]]
        code = "{long_code}"
        name = "{"第二党支部" * 41}"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m003"
        name = "王五"
        org = "jg.b1"
        status = "full"
        joined_on = 2015-07-01
        email = "zhangsan@{".".join(["b" * 60] * 3)}.example.org"
        mobile = "1380000000113800000001138000000011"
        """,
    )

    assert reading_problems(path) == [
        f"{path} 第 40 行 [[org]] code：不能超过 100 个字符（现为 101 个）",
        f"{path} 第 40 行 [[org]] name：不能超过 200 个字符（现为 205 个）",
        f"{path} 第 46 行 [[member]] email：不能超过 200 个字符（现为 203 个）",
        f"{path} 第 46 行 [[member]] mobile：{MOBILE_RULE}；现为 34 位数字",
    ]


def test_a_derived_member_id_longer_than_its_column_is_reported(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))
    name = "欧阳" * 50  # 100 characters: a valid name, but "jg.b1/" + name is too long for an id
    path = write(tmp_path, "members.csv", CSV_HEADER + f"{name},jg.b1,正式党员,2015-07-01,,\n")

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 2 行 编号：党员编号不能超过 100 个字符（现为 106 个）（没有编号时以“所在组织/姓名”作为编号；同一组织有同名党员时请为他们填写编号）"
    ]


def test_the_same_id_under_two_organizations_names_both(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[member]]
        id = "m001"
        name = "张三"
        org = "jg.b1.g1"
        status = "full"
        joined_on = 2010-07-01
        """,
    )

    assert validation_problems(path) == [
        f"{path} 第 40 行 [[member]] id：党员编号 m001 与第 20 行重复：同一党员不能同时属于 jg.b1 和 jg.b1.g1"
    ]


# --- edge cases of files -------------------------------------------------------------------------------------


def test_a_toml_file_with_a_utf8_byte_order_mark_is_read_with_its_lines(tmp_path: Path) -> None:
    path = tmp_path / "registry.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))

    registry = read_registry(path)

    assert [(org.code, org.line) for org in registry.orgs] == [("jg", 1), ("jg.b1", 8), ("jg.b1.g1", 14)]


@pytest.mark.parametrize("content", ["", "\n# 名册稍后补充\n"])
def test_an_empty_toml_file_is_refused_as_empty(tmp_path: Path, content: str) -> None:
    path = write(tmp_path, "registry.toml", content)

    assert reading_problems(path) == [
        f"{path}：文件中没有 [[org]]、[[member]] 或 [[position]] 记录，没有可导入的内容"
    ]


def test_a_csv_with_only_its_header_row_is_refused_as_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", CSV_HEADER + ",,,,,\n\n")

    assert reading_problems(path) == [f"{path}：文件中只有表头，没有党员记录，没有可导入的内容"]


def test_an_unclosed_quote_in_a_csv_names_the_row_where_it_opens(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        CSV_HEADER
        + "张三,jg.b1,正式党员,2010-07-01,,\n"
        + '"李四,jg.b1,正式党员,2011-07-01,,\n'
        + "王五,jg.b1,正式党员,2012-07-01,,\n",
    )

    assert reading_problems(path) == [
        f"{path} 第 3 行：引号没有闭合：从这一行的引号起到文件末尾都成了一个单元格，请检查这一行的引号"
    ]


# --- the same person in another branch's roster ---------------------------------------------------------------

ID_CSV_HEADER = "编号,姓名,所在组织,人员类别,入党日期\n"


def test_a_member_listed_in_another_branchs_roster_is_reported_not_moved(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))  # m002 李四 is in the group jg.b1.g1
    path = write(tmp_path, "members.csv", ID_CSV_HEADER + "m002,李四,第一党支部,正式党员,2012-07-01\n")

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 2 行 所在组织：党员 m002（李四）已登记在 jg.b1.g1（第一党小组），不在本文件所涉的组织范围内，"
        "不能在这里转到 jg.b1（第一党支部）；如果是同名的另一人，请改用不同的编号；"
        "如确是转移组织关系，请导入同时列出两个组织党员的名册"
    ]


def test_a_file_covering_both_organizations_transfers_a_member(tmp_path: Path) -> None:
    existing = read_registry(registry_file(tmp_path))
    both = write(
        tmp_path,
        "members.csv",
        ID_CSV_HEADER
        + "m002,李四,第一党支部,正式党员,2012-07-01\nm009,赵六,第一党小组,正式党员,2016-07-01\n",
    )
    # A TOML that declares the branch speaks for its group too.
    branch = write(
        tmp_path,
        "branch.toml",
        """\
        [[org]]
        code = "jg.b1"
        name = "第一党支部"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m002"
        name = "李四"
        org = "jg.b1"
        status = "full"
        joined_on = 2012-07-01
        """,
    )

    assert validation_problems(both, existing=existing) == []
    assert validation_problems(branch, existing=existing) == []


def test_a_toml_declaring_one_branch_cannot_take_a_member_from_its_sibling(tmp_path: Path) -> None:
    stored = read_registry(registry_file(tmp_path))
    existing = replace(
        stored,
        orgs=(*stored.orgs, OrgRecord("jg.b2", "第二党支部", OrgKind.BRANCH, "jg", None, None, None)),
        members=(*stored.members, member("m009", "jg.b2", name="赵六")),
    )
    path = write(
        tmp_path,
        "branch.toml",
        """\
        [[org]]
        code = "jg.b1"
        name = "第一党支部"
        kind = "branch"
        parent = "jg"

        [[member]]
        id = "m009"
        name = "赵六"
        org = "jg.b1"
        status = "full"
        joined_on = 2015-07-01
        """,
    )

    assert validation_problems(path, existing=existing) == [
        f"{path} 第 7 行 [[member]] org：党员 m009（赵六）已登记在 jg.b2（第二党支部），不在本文件所涉的组织范围内，"
        "不能在这里转到 jg.b1（第一党支部）；如果是同名的另一人，请改用不同的编号；"
        "如确是转移组织关系，请导入同时列出这两个组织（或它们共同的上级组织）的文件"
    ]


def test_a_header_or_key_with_control_characters_is_named_escaped(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "members.csv",
        "姓名,所在组织,人员类别,入党日期,\x1b]0;pwned\x07\n张三,jg.b1,正式党员,2010-07-01,\n",
    )

    problems = reading_problems(path)

    assert len(problems) == 1 and problems[0].startswith(f"{path} 第 1 行 '\\x1b]0;pwned\\x07'：没有列名")
    assert not [problem for problem in problems if "\x1b" in problem or "\x07" in problem]


@pytest.mark.parametrize("cell", ["x" * 200_000, '"' + "x" * 200_000])
def test_a_csv_cell_beyond_the_field_limit_names_its_line_in_chinese_only(tmp_path: Path, cell: str) -> None:
    path = write(
        tmp_path, "members.csv", CSV_HEADER + "张三,jg.b1,正式党员,2010-07-01,,\n" + cell + ",jg.b1\n"
    )

    assert reading_problems(path) == [
        f"{path} 第 3 行：有一个单元格超过 131072 个字符，不像是名册的内容，请检查这一行"
    ]


def test_a_stray_quote_inside_a_csv_cell_is_explained_without_the_csv_modules_english(tmp_path: Path) -> None:
    path = write(tmp_path, "members.csv", CSV_HEADER + '"张"三,jg.b1,正式党员,2010-07-01,,\n')

    assert reading_problems(path) == [
        f'{path} 第 2 行：CSV 格式错误：引号用法不对，单元格内的引号应写成两个 ""'
    ]


@pytest.mark.parametrize("value", ["[" * 5000 + "]" * 5000, "{a = " * 5000 + "1" + "}" * 5000])
def test_a_toml_nested_beyond_the_parsers_depth_is_a_reading_problem_not_a_crash(
    tmp_path: Path, value: str
) -> None:
    path = write(tmp_path, "registry.toml", f"x = {value}\n")

    assert reading_problems(path) == [f"{path}：TOML 语法错误：数组或表嵌套的层数太多"]


# --- group robots --------------------------------------------------------------------------------------------


def test_an_organizations_group_robot_is_named_by_an_environment_variable(tmp_path: Path) -> None:
    path = registry_file(
        tmp_path,
        """\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"
        wecom_robot_env = "OBLIGATIONS_ROBOT_B2"
        """,
    )

    registry = read_registry(path)

    assert [org.wecom_robot_env for org in registry.orgs] == [None, None, None, "OBLIGATIONS_ROBOT_B2"]
    assert validation_problems(path) == []


def robot_problem(tmp_path: Path, written: str) -> tuple[Path, str]:
    """The one problem of a registry whose branch jg.b2 (line 40) names `written` as its robot's variable."""
    path = registry_file(
        tmp_path,
        f"""\
        [[org]]
        code = "jg.b2"
        name = "第二党支部"
        kind = "branch"
        parent = "jg"
        wecom_robot_env = "{written}"
        """,
    )
    [problem] = reading_problems(path)
    return path, problem


@pytest.mark.parametrize(
    "written",
    [
        "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",  # the key itself, pasted where its variable's name belongs
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx",
        "obligations_robot_b2",
        "9ROBOT",
        "ROBOT_" + "X" * 95,
    ],
)
def test_a_robot_key_or_anything_but_a_variable_name_is_refused_without_being_repeated(
    tmp_path: Path, written: str
) -> None:
    path, problem = robot_problem(tmp_path, written)

    assert problem.startswith(f"{path} 第 40 行 [[org]] wecom_robot_env：")
    assert "环境变量名" in problem and "不要填写 key 本身" in problem
    assert written not in problem and "693a91f6" not in problem


@pytest.mark.parametrize(
    "written",
    [
        "OBLIGATIONS_SMTP_PASSWORD",  # the server's other secrets: a registry must not send them as a robot key
        "OBLIGATIONS_WECOM_SECRET",
        "OBLIGATIONS_DATABASE_URL",
        "HOME",
        "OBLIGATIONS_ROBOT_",  # the prefix alone names no robot
        "OBLIGATIONS_ROBOTS_B2",
    ],
)
def test_a_robot_variable_outside_the_robots_own_prefix_is_refused_naming_file_line_and_field(
    tmp_path: Path, written: str
) -> None:
    path, problem = robot_problem(tmp_path, written)

    assert problem == (  # the name written is not repeated: what is typed here may be a secret
        f"{path} 第 40 行 [[org]] wecom_robot_env：应为以 OBLIGATIONS_ROBOT_ 开头的环境变量名，"
        "群机器人 key 只能取自这类专用变量（如 OBLIGATIONS_ROBOT_JG）；请填写存放群机器人 key 的环境变量名，"
        "不要填写 key 本身"
    )


def test_a_robot_is_stored_by_import_and_removed_by_a_file_that_no_longer_names_it(
    workspace: tuple[Path, str],
) -> None:
    assert run(workspace, "init").exit_code == 0
    registry = workspace[0].parent / "registry.toml"
    original = registry.read_text(encoding="utf-8")
    named = original.replace(
        'parent = "jg"\nprofile = "wujin-2016"',
        'parent = "jg"\nprofile = "wujin-2016"\nwecom_robot_env = "OBLIGATIONS_ROBOT_B2"',
    )
    assert named != original
    registry.write_text(named, encoding="utf-8")
    assert run(workspace, "import", str(registry), "--as-of", "2026-11-21").exit_code == 0
    assert _robot_env(workspace[1], "jg.b2") == "OBLIGATIONS_ROBOT_B2"
    assert (
        "企业微信群机器人：key 取自环境变量 OBLIGATIONS_ROBOT_B2"
        in run(workspace, "org", "show", "jg.b2").stdout
    )
    registry.write_text(original, encoding="utf-8")
    result = run(workspace, "import", str(registry), "--as-of", "2026-11-21")
    assert result.exit_code == 0 and "组织：新增 0，更新 1" in result.stdout
    assert _robot_env(workspace[1], "jg.b2") is None


def _robot_env(url: str, code: str) -> str | None:
    engine = db.make_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                select(Organization.wecom_robot_env).where(Organization.code == code)
            ).scalar_one()
    finally:
        engine.dispose()
