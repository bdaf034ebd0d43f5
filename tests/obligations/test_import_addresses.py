"""Members' addresses checked at import: email, mainland mobile, WeCom userid, and ids that are no phone number.

Every check runs on the one row pipeline that TOML, CSV and .xlsx rosters share, so each case is tried in all
three formats, and each problem names the file, the line (row) and the field as that file spells it.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import openpyxl
import pytest
from sqlmodel import Session, select

from calendars.text import EMAIL_RULE, MOBILE_RULE, WECOM_USERID_RULE
from obligations import db
from obligations.models import Member
from obligations.registry import RegistryError, read_registry, validate
from tests.obligations.conftest import run

# The header each field has in a roster (CSV, .xlsx) and the key it has in a TOML registry.
HEADERS = {"id": "编号", "name": "姓名", "org": "所在组织", "status": "人员类别", "joined_on": "入党日期"}
HEADERS |= {"email": "邮箱", "wecom": "企业微信", "mobile": "手机"}
GOOD = {"id": "m900", "name": "王五", "org": "jg.b1", "status": "full", "joined_on": "2015-07-01"}
TOML_LINES_PER_MEMBER = len(HEADERS) + 2  # the header, one line per field, a blank line

Where = Callable[[int, str], str]  # (row index, field) -> where the problem is, as its message begins


def write_toml(tmp_path: Path, rows: list[Mapping[str, object]]) -> tuple[Path, Where]:
    path = tmp_path / "registry.toml"
    lines = []
    for row in rows:
        lines.append("[[member]]")
        for field in HEADERS:
            value = row.get(field)
            lines.append(f"{field} = {value!r}".replace("'", '"') if value is not None else "")
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")
    return path, lambda index, field: f"{path} 第 {1 + index * TOML_LINES_PER_MEMBER} 行 [[member]] {field}"


def write_csv(tmp_path: Path, rows: list[Mapping[str, object]]) -> tuple[Path, Where]:
    path = tmp_path / "名册.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS.values())
        writer.writerows([_roster_value(row.get(field)) for field in HEADERS] for row in rows)
    return path, lambda index, field: f"{path} 第 {index + 2} 行 {HEADERS[field]}"


def write_xlsx(tmp_path: Path, rows: list[Mapping[str, object]]) -> tuple[Path, Where]:
    path = tmp_path / "名册.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "党员"
    sheet.append(list(HEADERS.values()))
    for row in rows:
        sheet.append([_roster_value(row.get(field)) for field in HEADERS])
    book.save(path)
    return path, lambda index, field: f"{path} 工作表“党员” 第 {index + 2} 行 {HEADERS[field]}"


def _roster_value(value: object) -> object:
    return {"full": "正式党员"}.get(value, value) if isinstance(value, str) else value


FORMATS = {"toml": write_toml, "csv": write_csv, "xlsx": write_xlsx}


def problems(path: Path) -> list[str]:
    with pytest.raises(RegistryError) as raised:
        read_registry(path)
    return [str(problem) for problem in raised.value.problems]


NOT_AN_ID = "党员编号不能是手机号码（编号会出现在日历、链接、邮件和日志中）；"
NOT_A_USERID = "企业微信账号不能是手机号码（账号会出现在发送记录和日志中）；"

REFUSED = [
    ("email", "wangwu#example.org", f"'wangwu#example.org' 不是有效的邮件地址：缺少“@”；{EMAIL_RULE}"),
    (
        "email",
        "wangwu＠example.org",
        f"'wangwu＠example.org' 不是有效的邮件地址：用了全角的“＠”，应为半角的“@”；{EMAIL_RULE}",
    ),
    ("email", "wangwu@example", f"'wangwu@example' 不是有效的邮件地址：“@”后面的域名无效；{EMAIL_RULE}"),
    ("email", "王五@example.org", "'王五@example.org' 不是有效的邮件地址：“@”前面只能用英文字母"),
    ("mobile", "1380013", f"{MOBILE_RULE}；现为 7 位数字"),
    ("mobile", "12800138000", f"{MOBILE_RULE}；现为 11 位数字"),
    ("mobile", "138-0013-800x", f"{MOBILE_RULE}；含有数字以外的字符"),
    ("wecom", "wang wu", f"'wang wu' 不是有效的企业微信账号：{WECOM_USERID_RULE}"),
    ("wecom", "_wangwu", f"'_wangwu' 不是有效的企业微信账号：{WECOM_USERID_RULE}"),
    ("wecom", "wangwu|zhangsan", f"'wangwu|zhangsan' 不是有效的企业微信账号：{WECOM_USERID_RULE}"),
    ("wecom", "13800138000", NOT_A_USERID),
    ("id", "13800138000", NOT_AN_ID),
    ("id", "+86 138 0013 8000", NOT_AN_ID),
    ("id", "m13800138000", NOT_AN_ID),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("field", "value", "message"), REFUSED, ids=[f"{f}:{v}" for f, v, _ in REFUSED])
def test_a_bad_address_or_a_phone_number_as_id_is_refused_with_file_line_and_field(
    tmp_path: Path, fmt: str, field: str, value: str, message: str
) -> None:
    path, where = FORMATS[fmt](tmp_path, [GOOD | {"id": "m899", "name": "张三"}, GOOD | {field: value}])

    (only,) = problems(path)

    assert only.startswith(f"{where(1, field)}：{message}")
    if field == "id":  # a roster may leave the id out; a TOML registry may not
        assert only.endswith("，或不填编号，由“所在组织/姓名”生成") == (fmt != "toml")
    if field in ("mobile", "id") or value.isdigit():  # a phone number, even a wrong one, is not repeated back
        assert value not in only and "13800138000" not in only


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_phone_number_in_a_name_never_becomes_a_derived_id(tmp_path: Path, fmt: str) -> None:
    path, where = FORMATS[fmt](tmp_path, [GOOD | {"id": None, "name": "王五13800138000"}])

    (only,) = problems(path)

    assert only.startswith(f"{where(0, 'name')}：含有手机号码，不能由此生成党员编号")


def test_a_phone_number_stored_as_a_number_cell_is_refused_as_an_id(tmp_path: Path) -> None:
    path, where = write_xlsx(tmp_path, [GOOD | {"id": 13800138000, "mobile": 13800138000}])

    assert problems(path) == [
        f"{where(0, 'id')}：{NOT_AN_ID}请改填其他编号（如 m001 或党员管理系统中的编号），或不填编号，由“所在组织/姓名”生成"
    ]


ACCEPTED = [
    ("mobile", "13800138000", "13800138000"),
    ("mobile", "+86 138 0013 8000", "13800138000"),
    ("mobile", "86-138-0013-8000", "13800138000"),
    ("mobile", "138 0013 8000", "13800138000"),
    # full-width digits, as Chinese input methods type them
    ("mobile", "１３８００１３８０００", "13800138000"),
    ("email", "Wang.Wu@EXAMPLE.org", "Wang.Wu@example.org"),
    ("email", "wangwu@例子.中国", "wangwu@xn--fsqu00a.xn--fiqs8s"),  # stored as every relay accepts it
    ("wecom", "Wang.Wu@corp-1", "Wang.Wu@corp-1"),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(("field", "written", "stored"), ACCEPTED, ids=[f"{f}:{w}" for f, w, _ in ACCEPTED])
def test_common_written_forms_are_accepted_and_stored_normalized(
    tmp_path: Path, fmt: str, field: str, written: str, stored: str
) -> None:
    path, _ = FORMATS[fmt](tmp_path, [GOOD | {field: written}])

    (member,) = read_registry(path).members

    assert getattr(member, field) == stored


def test_a_bad_row_refuses_the_whole_import_with_every_problem_listed(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    rows = [
        GOOD | {"id": "m901", "name": "刘一", "email": "liuyi@example.org", "mobile": "13800138001"},
        GOOD | {"id": "m902", "name": "陈二", "email": "wangwu#example.org"},
        GOOD | {"id": "m903", "name": "孙三", "mobile": "1380013"},
        GOOD | {"id": "13800138004", "name": "周四"},
    ]
    path, where = write_csv(tmp_path, rows)

    result = run(imported, "import", str(path), "--as-of", "2026-11-21")

    assert result.exit_code == 4
    listed = [line for line in result.stderr.splitlines() if f"{path} 第 " in line]
    assert len(listed) == 3
    for line, (index, field) in zip(listed, [(1, "email"), (2, "mobile"), (3, "id")], strict=True):
        assert f"{where(index, field)}：" in line
    engine = db.make_engine(imported[1])
    try:
        with Session(engine) as session:
            stored = set(session.exec(select(Member.id)).all())
    finally:
        engine.dispose()
    assert not stored & {"m901", "m902", "m903", "13800138004"}


def test_members_listed_without_ids_get_the_same_ids_on_every_import(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    rows = [GOOD | {"id": None, "name": name, "mobile": f"1380013800{i}"} for i, name in enumerate("甲乙")]
    path, _ = write_csv(tmp_path, rows)

    first = run(imported, "import", str(path), "--as-of", "2026-11-21")
    rows[0] = rows[0] | {"mobile": "13900139000"}  # a new phone: the same member
    path, _ = write_csv(tmp_path, rows)
    second = run(imported, "import", str(path), "--as-of", "2026-11-22")

    assert first.exit_code == 0 and second.exit_code == 0, first.stderr + second.stderr
    engine = db.make_engine(imported[1])
    try:
        with Session(engine) as session:
            found = session.exec(select(Member.id, Member.mobile).where(Member.org == "jg.b1")).all()
    finally:
        engine.dispose()
    derived = {member_id: mobile for member_id, mobile in found if "/" in member_id}
    assert derived == {"jg.b1/甲": "13900139000", "jg.b1/乙": "13800138001"}


def test_two_namesakes_without_ids_in_one_organization_are_asked_for_ids(tmp_path: Path) -> None:
    path, where = write_csv(tmp_path, [GOOD | {"id": None}, GOOD | {"id": None, "mobile": "13800138000"}])
    incoming = read_registry(path)

    found = validate(
        incoming, file=str(path), existing=read_registry(_orgs(tmp_path)), as_of=_AS_OF, profiles=()
    )

    assert [str(problem) for problem in found] == [
        f"{where(1, 'id')}：党员编号 jg.b1/王五 与第 2 行重复（没有编号时以“所在组织/姓名”作为编号；同一组织有同名党员时请为他们填写编号）"
    ]


_AS_OF = dt.date(2026, 11, 21)


def _orgs(tmp_path: Path) -> Path:
    path = tmp_path / "orgs.toml"
    path.write_text('[[org]]\ncode = "jg.b1"\nname = "第一党支部"\nkind = "branch"\n', encoding="utf-8")
    return path
