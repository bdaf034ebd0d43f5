"""The registry of organizations, members and positions: read from a file and checked before anything is stored.

`read_registry` turns a file into plain records and reports every problem the file has on its own (syntax,
unknown fields, bad types, impossible dates, unknown kinds, roles and statuses, missing required fields).
`validate` then checks the records against each other and against what the database already holds (unknown
parents, cycles, duplicates, who may hold which position, dates out of range, unknown profiles). Both report
every problem at once, in Chinese, with the file, the line and the field; the caller imports nothing unless
both are clean, so a bad row never half-imports. `resolve_org_names` replaces organization names given in
place of codes (as spreadsheets often do) by the codes, for storing.

A TOML registry has one table per record:

```toml
[[org]]
code = "jg"                       # unique code; children's codes need not extend it, but it helps
name = "市直机关工委机关党委"
kind = "committee"                # committee | general_branch | branch | group | leading_group
profile = "national"              # duty calendar; omit to inherit the parent's
elected_on = 2022-03-10           # last election of its committee or secretary
term_years = 5                    # optional: the term when the profile allows a choice
wecom_robot_env = "OBLIGATIONS_ROBOT_JG"  # optional: the env variable holding its group robot's key

[[org]]
code = "jg.b1"
name = "第一党支部"
kind = "branch"
parent = "jg"
elected_on = 2024-06-20

[[org]]
code = "jg.b1.g1"
name = "第一党支部第一党小组"
kind = "group"                    # a 党小组 sits under a branch or a general branch
parent = "jg.b1"

[[member]]
id = "m001"
name = "张三"
org = "jg.b1"                     # the organization's code (or its exact name)
status = "full"                   # full | probationary
joined_on = 2010-07-01            # 入党日期
full_on = 2011-07-01              # optional: 转正日期
email = "zhangsan@example.org"
wecom = "zhangsan"                # WeCom userid: letters, digits, _ - @ . (not a mobile number)
mobile = "13800000001"            # mainland mobile; "+86 138 0000 0001" is stored as 13800000001
staff_since = 2021-01-01          # optional: full-time party staff (专职党务干部) since

[[member]]
id = "m002"
name = "李四"
org = "jg.b1.g1"
status = "probationary"
joined_on = "2025-09-01"          # dates may also be strings
probation_start = 2025-09-01      # required for a probationary member: 预备期开始日期

[[position]]
org = "jg.b1"
role = "secretary"                # secretary | deputy_secretary | organization | propaganda | discipline
member = "m001"                   #   | group_leader (in a 党小组 only)
since = 2024-06-20

[[position]]
org = "jg.b1"
role = "deputy_secretary"
vacant_since = 2025-12-01         # a vacancy: no member
```

Organization codes are identifiers (letters, digits, `.`, `-`, `_`: see calendars/text.py); no text field
may hold a control character, and no value may be longer than its column in obligations/models.py. A member
already registered under an organization outside the file's scope (`file_scope`) is reported rather than
moved: a transfer is a file whose scope covers both organizations.

A member's addresses are checked as calendars/text.py says, in every format alike: email by email-validator
(no DNS lookup; the part before the @ in ASCII), stored normalized; mobile as a mainland mobile number (11
digits, 1[3-9]…; +86, spaces and hyphens accepted), stored as its 11 digits; wecom by WeCom's userid rule, and
not a mobile number. A member's id is never a mobile number (it goes into UIDs, links, headers and logs).

A member must belong to the organization whose position they hold; a committee seat (党委, 党总支, 支委会) may
also be held by a member registered in an organization below it (a 党委 member's membership sits in a branch),
and a 党小组长 belongs to the group itself.

A CSV file lists members only, one per row under a header row, as spreadsheets export it (UTF-8 with or
without BOM, or GB18030/GBK as Excel saves on Chinese Windows). Headers, in any order, in Chinese or
English: 编号 or 党员编号 (id, optional), 姓名 (name), 所在组织 (org: a code or an organization's exact
name), 人员类别 (status: 正式党员 | 预备党员), 入党日期 (joined_on), 转正日期 (full_on), 预备期开始日期
(probation_start), 邮箱 (email), 企业微信 (wecom), 手机 (mobile), 专职党务工作起始日期 (staff_since).
姓名, 所在组织, 人员类别 and 入党日期 are required. Dates may be written 2020-07-01, 2020/7/1, 2020.7.1 or
2020年7月1日. Without an id the member's id is "组织/姓名" (never the mobile number); two members of one
name in one organization need ids. Rows are numbered as the spreadsheet shows them (the header is row 1); blank rows are skipped. An Excel workbook (.xlsx) is
read as such a CSV, from one of its sheets, through the same row pipeline (`read_roster`; obligations/workbook.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

from calendars import tomlfile
from calendars.instants import FOUNDING
from calendars.model import OrgKind, Profile, Role
from calendars.text import (
    contains_mobile,
    control_problem,
    email_address,
    identifier_problem,
    length_problem,
    mobile_number,
    robot_env_problem,
    wecom_userid_problem,
)
from obligations.errors import UserError, not_found
from obligations.models import Member, Organization, Position
from obligations.tables import column_width


@dataclass(frozen=True)
class OrgRecord:
    code: str
    name: str
    kind: OrgKind
    parent: str | None  # parent's code
    profile: str | None  # duty-calendar id; None = inherit from parent
    elected_on: dt.date | None  # last election of its committee or secretary
    term_years: int | None
    profile_since: dt.date | None = None  # the profile applies to duties due from this date (default: as-of)
    tracked_from: dt.date | None = None  # 跟踪起始: earlier routine periods are not owed (default: as-of)
    wecom_robot_env: str | None = None  # the environment variable holding its group robot's key
    line: int | None = None  # line (TOML) or row (CSV) in the source file, for messages


@dataclass(frozen=True)
class MemberRecord:
    id: str
    name: str
    org: str  # org code (or, straight from a file, possibly an org's name: see resolve_org_names)
    status: str  # "full" | "probationary"
    joined_on: dt.date | None  # 入党日期
    probation_start: dt.date | None  # 预备期开始日期 (probationary members)
    full_on: dt.date | None  # 转正日期 (full members, optional)
    email: str | None
    wecom: str | None  # WeCom userid
    mobile: str | None
    staff_since: dt.date | None = None  # full-time party staff (专职党务干部) since
    line: int | None = None


@dataclass(frozen=True)
class PositionRecord:
    org: str
    role: str  # a calendars.model.Role value
    member: str | None  # member id; None = vacant
    since: dt.date | None
    vacant_since: dt.date | None
    line: int | None = None


@dataclass(frozen=True)
class Registry:
    orgs: tuple[OrgRecord, ...] = ()
    members: tuple[MemberRecord, ...] = ()
    positions: tuple[PositionRecord, ...] = ()
    # How messages name where the records were read, when the path alone does not say it: a workbook's file
    # and sheet (名册.xlsx 工作表“党员”). Its records are a roster's rows, named by their column headers.
    source: str | None = None


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    field: str | None  # as the file spells it: "[[member]] joined_on", or a CSV header such as 入党日期
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file} 第 {self.line} 行"
        if self.field:
            # A field is named as the file spells it (a CSV header, a TOML key): never let it reach a terminal raw.
            where += f" {self.field if control_problem(self.field) is None else ascii(self.field)}"
        return f"{where}：{self.message}"


class RegistryError(UserError):
    """A registry file that cannot be imported; the message lists every problem, one per line."""

    exit_code = 4

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


_AnyRecord = OrgRecord | MemberRecord | PositionRecord

# --- reading -------------------------------------------------------------------------------------------------

ORG_FIELDS = (
    "code", "name", "kind", "parent", "profile", "elected_on", "term_years", "profile_since", "tracked_from",
    "wecom_robot_env",
)  # fmt: skip
MEMBER_FIELDS = (
    "id",
    "name",
    "org",
    "status",
    "joined_on",
    "probation_start",
    "full_on",
    "email",
    "wecom",
    "mobile",
    "staff_since",
)
POSITION_FIELDS = ("org", "role", "member", "since", "vacant_since")
_TABLE_FIELDS = {"org": ORG_FIELDS, "member": MEMBER_FIELDS, "position": POSITION_FIELDS}

# CSV headers: the canonical Chinese one first (used in messages), then accepted aliases.
_CSV_HEADERS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "党员编号", "id"),
    "name": ("姓名", "name"),
    "org": ("所在组织", "org"),
    "status": ("人员类别", "status"),
    "joined_on": ("入党日期", "joined_on"),
    "full_on": ("转正日期", "full_on"),
    "probation_start": ("预备期开始日期", "probation_start"),
    "email": ("邮箱", "电子邮箱", "email"),
    "wecom": ("企业微信", "wecom"),
    "mobile": ("手机", "手机号码", "mobile"),
    "staff_since": ("专职党务工作起始日期", "staff_since"),
}
_CSV_ALIASES = {alias.casefold(): field for field, aliases in _CSV_HEADERS.items() for alias in aliases}
_CSV_REQUIRED = ("name", "org", "status", "joined_on")

_STATUSES = {
    "full": "full",
    "正式党员": "full",
    "正式": "full",
    "probationary": "probationary",
    "预备党员": "probationary",
    "预备": "probationary",
}
_KINDS = {**{kind.value: kind for kind in OrgKind}, **{kind.label: kind for kind in OrgKind}}
_ROLES = {**{role.value: role.value for role in Role}, **{role.label: role.value for role in Role}}
TERM_RULE = "term-election"  # the rule whose term_years an organization's declared term must match
_COMMITTEE_ROLES = frozenset(role.value for role in Role if role is not Role.GROUP_LEADER)
_HAS_GROUPS = (OrgKind.BRANCH, OrgKind.GENERAL_BRANCH)  # the kinds a 党小组 may sit under

_HEADER_LINE = re.compile(r"^\s*\[\[\s*(org|member|position)\s*\]\]")
_ISO_LIKE_DATE = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_CHINESE_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_MIDNIGHT = re.compile(r"\s+0?0:00(:00)?$")  # spreadsheets sometimes export a date cell with its time

_T = TypeVar("_T")
_K = TypeVar("_K")
_R = TypeVar("_R", OrgRecord, MemberRecord, PositionRecord)


NOT_A_REGULAR_FILE = "不是普通文件（不能是目录、管道或设备）"
# A registry file is read whole (a workbook's sheet is streamed, but its zip is opened whole): a city of
# 100,000 members is about 20 MB of CSV.
MAX_REGISTRY_BYTES = 64 * 1024 * 1024


def read_registry(path: Path, *, sheet: str | None = None) -> Registry:
    """The records in `path` (.toml: orgs, members and positions; .csv: members; .xlsx: members, from the
    first sheet or the one named `sheet`: obligations/workbook.py).

    Raises RegistryError listing every problem found while reading.
    """
    suffix = path.suffix.lower()
    if path.exists() and not path.is_file():  # a pipe or a device would be read for ever
        registry, problems = Registry(), [Problem(str(path), None, None, NOT_A_REGULAR_FILE)]
    elif path.exists() and path.stat().st_size > MAX_REGISTRY_BYTES:
        message = f"文件超过 {MAX_REGISTRY_BYTES // 1024 // 1024} MB，请分批导入"
        registry, problems = Registry(), [Problem(str(path), None, None, message)]
    elif sheet is not None and suffix != ".xlsx":
        registry, problems = (
            Registry(),
            [Problem(str(path), None, None, "只有 Excel 工作簿（.xlsx）才能选择工作表")],
        )
    elif suffix == ".xlsx":
        from obligations import workbook  # openpyxl is loaded only for a workbook

        registry, problems = workbook.read_members(path, sheet)
    elif suffix == ".toml":
        registry, problems = _read_toml(path)
    elif suffix == ".csv":
        registry, problems = _read_csv(path)
    else:
        registry, problems = (
            Registry(),
            [Problem(str(path), None, None, "不支持的文件类型：应为 .toml、.csv 或 .xlsx")],
        )
    if problems:
        raise RegistryError(problems)
    return registry


class _Invalid(ValueError):
    """A value that cannot be converted; the message says why, in Chinese."""


class _Fields:
    """The raw values of one record, converted field by field; each failure becomes a problem."""

    def __init__(
        self,
        values: Mapping[str, object],
        *,
        file: str,
        line: int | None,
        label: Callable[[str], str],
        problems: list[Problem],
        absent: Collection[str] = (),
    ) -> None:
        self.values = values
        self.file = file
        self.line = line
        self.label = label
        self.problems = problems
        self.absent = absent  # columns the file lacks: already reported once, not again on every row
        self.ok = True

    def get(self, name: str, convert: Callable[[object], _T | None], *, required: bool = False) -> _T | None:
        raw = self.values.get(name)
        try:
            value = None if raw is None else convert(raw)
        except _Invalid as error:
            self.report(name, str(error))
            return None
        if value is None and required and name not in self.absent:
            self.report(name, "必须填写")
        return value

    def report(self, name: str, message: str) -> None:
        self.problems.append(Problem(self.file, self.line, self.label(name), message))
        self.ok = False


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "真假值"
    if isinstance(value, dt.datetime):
        return "日期时间"
    if isinstance(value, dt.date):
        return "日期"
    if isinstance(value, dt.time):
        return "时间"
    names = {int: "整数", float: "小数", str: "文本", list: "数组", dict: "表"}
    return names.get(type(value), type(value).__name__)


def _text(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # mobile = 13800000001 without quotes
    if not isinstance(value, str):
        raise _Invalid(f"应为文本，而不是{_type_name(value)}")
    return value.strip() or None


def _width(model: Any, column: str) -> int:
    """The width of a text column, as the table declares it (PostgreSQL refuses anything longer)."""
    length = column_width(getattr(model, column))
    assert isinstance(length, int), f"{model.__name__}.{column} has no width"
    return length


def _free_text(model: Any, column: str) -> Callable[[object], str | None]:
    """Text a person reads (a name, an address): no control characters, no longer than its column."""
    width = _width(model, column)

    def convert(value: object) -> str | None:
        text = _text(value)
        if text is not None and (problem := control_problem(text) or length_problem(text, width)):
            raise _Invalid(problem)
        return text

    return convert


def _code(model: Any, column: str) -> Callable[[object], str | None]:
    """An organization's code: an identifier, since it becomes part of paths, URLs and calendar UIDs."""
    width = _width(model, column)

    def convert(value: object) -> str | None:
        text = _text(value)
        if text is not None and (problem := identifier_problem(text, max_length=width)):
            raise _Invalid(problem)
        return text

    return convert


def _env_name(value: object) -> str | None:
    """The name of the environment variable that holds a secret: never the secret, and never repeated back
    (what is typed here by mistake is usually the key itself)."""
    if not isinstance(value, str):
        raise _Invalid(f"应为文本，而不是{_type_name(value)}")
    text = value.strip()
    if text and (problem := robot_env_problem(text, max_length=_width(Organization, "wecom_robot_env"))):
        raise _Invalid(
            f"{problem}（如 OBLIGATIONS_ROBOT_JG）；请填写存放群机器人 key 的环境变量名，不要填写 key 本身"
        )
    return text or None


def parse_date(text: str) -> dt.date | None:
    """A date as people write it: 2020-07-01, 2020/7/1, 2020.7.1 or 2020年7月1日; None for an empty text."""
    text = text.strip()
    if not text:
        return None
    bare = _MIDNIGHT.sub("", text)
    match = _ISO_LIKE_DATE.fullmatch(bare)
    numbers = (match.group(1), match.group(3), match.group(4)) if match else None
    if numbers is None and (match := _CHINESE_DATE.fullmatch(bare)):
        numbers = (match.group(1), match.group(2), match.group(3))
    if numbers is None:
        raise _Invalid(f"无法识别的日期 {text!r}，应写成 2020-07-01、2020/7/1、2020.7.1 或 2020年7月1日")
    try:
        return dt.date(*(int(number) for number in numbers))
    except ValueError:
        raise _Invalid(f"日期 {text} 不存在") from None


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        raise _Invalid("应为日期，不应带时间")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return parse_date(value)
    raise _Invalid(f"应为日期，而不是{_type_name(value)}")


def _term_years(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Invalid(f"应为整数（年），而不是{_type_name(value)}")
    if value <= 0:
        raise _Invalid(f"任期年数应为正整数，而不是 {value}")
    return value


def _choice(what: str, choices: Mapping[str, _T], allowed: str) -> Callable[[object], _T | None]:
    def convert(value: object) -> _T | None:
        text = _text(value)
        if text is None:
            return None
        if text not in choices:
            raise _Invalid(f"未知的{what} {text!r}，应为 {allowed}")
        return choices[text]

    return convert


_kind = _choice("组织类型", _KINDS, "、".join(f"{kind.value}（{kind.label}）" for kind in OrgKind))
_role = _choice("职务", _ROLES, "、".join(f"{role.value}（{role.label}）" for role in Role))
_status = _choice("人员类别", _STATUSES, "full（正式党员）或 probationary（预备党员）")


def _org(fields: _Fields) -> OrgRecord | None:
    code = fields.get("code", _code(Organization, "code"), required=True)
    name = fields.get("name", _free_text(Organization, "name"), required=True)
    kind = fields.get("kind", _kind, required=True)
    parent = fields.get("parent", _code(Organization, "parent"))
    profile = fields.get("profile", _free_text(Organization, "profile"))
    elected_on = fields.get("elected_on", _date)
    term_years = fields.get("term_years", _term_years)
    profile_since = fields.get("profile_since", _date)
    tracked_from = fields.get("tracked_from", _date)
    wecom_robot_env = fields.get("wecom_robot_env", _env_name)
    if code is None or name is None or kind is None or not fields.ok:
        return None
    return OrgRecord(
        code,
        name,
        kind,
        parent,
        profile,
        elected_on,
        term_years,
        profile_since,
        tracked_from,
        wecom_robot_env,
        line=fields.line,
    )


def _member_id(*, derivable: bool) -> Callable[[object], str | None]:
    """A member's id as the file gives it: free text, but never a phone number (an id goes into calendar UIDs,
    links, mail headers and logs). `derivable`: the file may leave it out (a roster)."""
    convert = _free_text(Member, "id")
    instead = "请改填其他编号（如 m001 或党员管理系统中的编号）" + (
        "，或不填编号，由“所在组织/姓名”生成" if derivable else ""
    )

    def checked(value: object) -> str | None:
        text = convert(value)
        if text is not None and contains_mobile(text):
            raise _Invalid(f"党员编号不能是手机号码（{_ID_GOES}）；{instead}")
        return text

    return checked


_ID_GOES = "编号会出现在日历、链接、邮件和日志中"
_DERIVED_ID_HINT = "（没有编号时以“所在组织/姓名”作为编号；同一组织有同名党员时请为他们填写编号）"


def _email(value: object) -> str | None:
    """An email address, checked by email-validator (without DNS: see calendars.text.email_address) and stored
    as it normalizes it."""
    text = _text(value)
    if text is None:
        return None
    if problem := control_problem(text):
        raise _Invalid(problem)
    try:
        address = email_address(text)
    except ValueError as error:
        raise _Invalid(str(error)) from None
    if problem := length_problem(address, _width(Member, "email")):
        raise _Invalid(problem)
    return address


def _mobile(value: object) -> str | None:
    """A mainland mobile number, stored as its 11 digits (calendars.text.mobile_number)."""
    text = _text(value)
    if text is None:
        return None
    try:
        return mobile_number(text)
    except ValueError as error:
        raise _Invalid(str(error)) from None


def _wecom_userid(value: object) -> str | None:
    """A WeCom userid, by WeCom's own rule (calendars.text.WECOM_USERID, which the WeCom channels also use); not a
    mobile number, which would then stand in the outbox and the logs as the person's address."""
    text = _text(value)
    if text is None:
        return None
    if problem := wecom_userid_problem(text) or length_problem(text, _width(Member, "wecom")):
        raise _Invalid(problem)
    if contains_mobile(text):
        raise _Invalid(
            "企业微信账号不能是手机号码（账号会出现在发送记录和日志中）；"
            "请在企业微信管理后台为该成员改用其他账号（账号可修改一次）"
        )
    return text


def _member(fields: _Fields, *, derive_id: bool = False) -> MemberRecord | None:
    member_id = fields.get("id", _member_id(derivable=derive_id), required=not derive_id)
    name = fields.get("name", _free_text(Member, "name"), required=True)
    # A code, or an organization's exact name (resolved to its code when validated).
    org = fields.get("org", _free_text(Organization, "name"), required=True)
    status = fields.get("status", _status, required=True)
    joined_on = fields.get("joined_on", _date, required=True)
    probation_start = fields.get("probation_start", _date)
    full_on = fields.get("full_on", _date)
    email = fields.get("email", _email)
    wecom = fields.get("wecom", _wecom_userid)
    mobile = fields.get("mobile", _mobile)
    staff_since = fields.get("staff_since", _date)
    if member_id is None and derive_id and name is not None and org is not None:
        member_id = derived_member_id(org, name)
        if contains_mobile(member_id):
            fields.report("name", f"含有手机号码，不能由此生成党员编号（{_ID_GOES}）；请删去号码，或填写编号")
    if member_id is None or name is None or org is None or status is None or not fields.ok:
        return None
    return MemberRecord(
        member_id,
        name,
        org,
        status,
        joined_on,
        probation_start,
        full_on,
        email,
        wecom,
        mobile,
        staff_since,
        line=fields.line,
    )


def derived_member_id(org: str, name: str) -> str:
    """The id of a member listed without one: "org/name", the same on every import of the same row (so a
    re-import updates the member rather than adding one). Never the mobile number: an id goes into calendar
    UIDs, links, mail headers and logs. Two members of one name in one organization need ids of their own:
    without them the second row is reported as a duplicate."""
    return f"{org}/{name}"


def _position(fields: _Fields) -> PositionRecord | None:
    org = fields.get("org", _code(Position, "org"), required=True)
    role = fields.get("role", _role, required=True)
    member = fields.get("member", _free_text(Position, "member"))
    since = fields.get("since", _date)
    vacant_since = fields.get("vacant_since", _date)
    if org is None or role is None or not fields.ok:
        return None
    return PositionRecord(org, role, member, since, vacant_since, line=fields.line)


def _read_toml(path: Path) -> tuple[Registry, list[Problem]]:
    file = str(path)
    try:
        data = tomlfile.read(path)
    except tomlfile.TomlFileError as error:
        detail = str(error).removeprefix(f"{path}：")
        if error.line is not None:  # the line is in the problem's prefix already; keep the column
            detail = detail.replace(f"第 {error.line} 行第", "第", 1)
        return Registry(), [Problem(file, error.line, None, detail)]
    text = path.read_text(encoding=tomlfile.ENCODING)
    problems: list[Problem] = []
    tables: dict[str, list[dict[str, object]]] = {}
    for key, value in data.items():
        if key not in _TABLE_FIELDS:
            problems.append(
                Problem(file, _key_line(text, key), key, str(not_found("表", key, _TABLE_FIELDS)))
            )
        elif not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            problems.append(Problem(file, _key_line(text, key), key, f"每条记录应写成一个 [[{key}]] 表"))
        else:
            tables[key] = value

    headers = _header_lines(text)
    orgs: list[OrgRecord] = []
    members: list[MemberRecord] = []
    positions: list[PositionRecord] = []
    for table, items in tables.items():
        lines: list[int | None] = list(headers[table])
        if len(lines) != len(items):  # records written as inline tables: no header line to point at
            lines = [None] * len(items)
        known = _TABLE_FIELDS[table]
        for item, line in zip(items, lines, strict=True):

            def label(name: str, table: str = table) -> str:
                return f"[[{table}]] {name}"

            fields = _Fields(item, file=file, line=line, label=label, problems=problems)
            for key in item:
                if key not in known:
                    fields.report(key, str(not_found("字段", key, known)))
            if table == "org" and (org := _org(fields)) is not None:
                orgs.append(org)
            elif table == "member" and (member := _member(fields)) is not None:
                members.append(member)
            elif table == "position" and (position := _position(fields)) is not None:
                positions.append(position)
    registry = Registry(tuple(orgs), tuple(members), tuple(positions))
    if not data and not problems:
        problems.append(
            Problem(file, None, None, "文件中没有 [[org]]、[[member]] 或 [[position]] 记录，没有可导入的内容")
        )
    return registry, sorted(problems, key=_problem_order)


def _header_lines(text: str) -> dict[str, list[int]]:
    """The line of each [[org]], [[member]] and [[position]] header, in order (tomllib gives no positions)."""
    found: dict[str, list[int]] = {"org": [], "member": [], "position": []}
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _HEADER_LINE.match(line):
            found[match.group(1)].append(number)
    return found


def _key_line(text: str, key: str) -> int | None:
    """The first line that defines top-level `key`, as a table header or an assignment."""
    pattern = re.compile(rf"^\s*(\[{{1,2}}\s*{re.escape(key)}\s*[\].]|{re.escape(key)}\s*=)")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


def _decode(raw: bytes) -> str | None:
    """The text of a spreadsheet export: UTF-8 (with or without BOM) or GB18030; None if it is neither."""
    if raw.startswith(b"\xef\xbb\xbf"):
        encodings: tuple[str, ...] = ("utf-8-sig",)
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 ("Unicode text"): GB18030 would decode it into nonsense
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _column_letter(index: int) -> str:
    """The spreadsheet's name of the column at 0-based `index`: A, B, …, Z, AA, …"""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _csv_rows(file: str, text: str) -> tuple[list[list[str]], Problem | None]:
    """The rows of a CSV text; a quote left open is named by the row where it opens, not swallowed.

    Without `strict`, the csv module reads everything after an unclosed quote into one cell.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows, None
        except csv.Error as error:
            number = len(rows) + 1  # as the spreadsheet numbers rows
            if "unexpected end of data" in str(error):
                message = "引号没有闭合：从这一行的引号起到文件末尾都成了一个单元格，请检查这一行的引号"
            elif "field larger than field limit" in str(error):
                message = f"有一个单元格超过 {csv.field_size_limit()} 个字符，不像是名册的内容，请检查这一行"
            else:  # the csv module's own text is English: name the usual cause instead
                message = 'CSV 格式错误：引号用法不对，单元格内的引号应写成两个 ""'
            return rows, Problem(file, number, None, message)
        rows.append(row)


def _read_csv(path: Path) -> tuple[Registry, list[Problem]]:
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        return Registry(), [Problem(file, None, None, f"无法读取：{error.strerror}")]
    text = _decode(raw)
    if text is None:
        message = "无法识别文件编码：应为 UTF-8（可带 BOM）或 GB18030/GBK 编码的 CSV；请在 Excel 中另存为“CSV UTF-8”"
        return Registry(), [Problem(file, None, None, message)]
    rows, problem = _csv_rows(file, text)
    if problem is not None:
        return Registry(), [problem]
    if not any(cell.strip() for row in rows for cell in row):
        return Registry(), [Problem(file, None, None, "文件是空的，没有可导入的内容")]
    if not any(cell.strip() for cell in rows[0]):
        return Registry(), [Problem(file, 1, None, "第 1 行应为表头（姓名、所在组织、人员类别、入党日期……）")]

    return read_roster(file, 1, rows[0], enumerate(rows[1:], start=2))


def is_roster_header(cells: Sequence[object]) -> bool:
    """Whether a spreadsheet row is a roster's header row: one of its cells is a known column header.

    A workbook's sheet often has title rows above its header (“第一党支部党员名册”, merged across the columns)."""
    return any(isinstance(cell, str) and cell.strip().casefold() in _CSV_ALIASES for cell in cells)


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def read_roster(
    file: str, header_row: int, header: Sequence[object], rows: Iterable[tuple[int, Sequence[object]]]
) -> tuple[Registry, list[Problem]]:
    """The members of a roster (CSV, or a workbook's sheet): its header row, numbered as the spreadsheet shows
    it, then the rows below it, each (number, cells).

    Rows are consumed one at a time, so that a workbook's sheet is never held whole. A cell is text, or as a
    workbook stores it a number or a date (int, not float, for a whole number), or None when empty.
    """
    problems: list[Problem] = []
    columns: list[str | None] = []  # the field of each column; None for a column without a usable header
    headers: dict[str, str] = {}  # field -> the header as the file spells it
    unknown: set[int] = set()
    known_headers = [alias for aliases in _CSV_HEADERS.values() for alias in aliases]
    for index, cell in enumerate(header):
        header_text = "" if cell is None else str(cell).strip()
        field = _CSV_ALIASES.get(header_text.casefold())
        if header_text and field is None:
            problems.append(
                Problem(file, header_row, header_text, str(not_found("列名", header_text, known_headers)))
            )
            unknown.add(index)
        elif field is not None and field in headers:
            message = f"与前面的列“{headers[field]}”重复"
            problems.append(Problem(file, header_row, header_text, message))
            field = None
            unknown.add(index)
        elif field is not None:
            headers[field] = header_text
        columns.append(field)
    absent = [field for field in _CSV_REQUIRED if field not in headers]
    for field in absent:
        problems.append(Problem(file, header_row, None, f"缺少必需的列“{_CSV_HEADERS[field][0]}”"))

    def label(name: str) -> str:
        return headers.get(name, _CSV_HEADERS[name][0])

    members: list[MemberRecord] = []
    for number, row in rows:
        if all(_blank(cell) for cell in row):
            continue
        values: dict[str, object] = {}
        fields = _Fields(values, file=file, line=number, label=label, problems=problems, absent=absent)
        for index, cell in enumerate(row):
            field = columns[index] if index < len(columns) else None
            if field is not None:
                values[field] = cell
            elif not _blank(cell) and index not in unknown:
                problems.append(
                    Problem(file, number, None, f"第 {_column_letter(index)} 列有内容，但该列没有表头")
                )
                fields.ok = False
        member = _member(fields, derive_id=True)
        if member is not None:
            members.append(member)
    if not members and not problems:
        problems.append(Problem(file, None, None, "文件中只有表头，没有党员记录，没有可导入的内容"))
    return Registry(members=tuple(members)), sorted(problems, key=_problem_order)


def _problem_order(problem: Problem) -> tuple[bool, int]:
    return problem.line is None, problem.line or 0


# --- scope ---------------------------------------------------------------------------------------------------


def file_scope(incoming: Registry, parents: Mapping[str, str | None]) -> frozenset[str]:
    """The organizations a file speaks for: where `--prune` may remove what it does not list, and where the
    members it lists may come from.

    A file that declares organizations ([[org]]) speaks for each of them and for everything below them
    (`parents`: code → parent code, the database's organizations with the file's over them); a file of
    members or positions only (a members CSV) speaks for the organizations its records name, and for
    nothing below them. Members' organizations must already be codes (see resolve_org_names).
    """
    if not incoming.orgs:
        return frozenset({member.org for member in incoming.members} | {p.org for p in incoming.positions})
    children: dict[str, list[str]] = {}
    for code, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(code)
    scope: set[str] = set()
    pending = [org.code for org in incoming.orgs]
    while pending:
        code = pending.pop()
        if code not in scope:
            scope.add(code)
            pending.extend(children.get(code, ()))
    return frozenset(scope)


# --- validation ----------------------------------------------------------------------------------------------


def _org_index(orgs: Iterable[OrgRecord]) -> tuple[dict[str, OrgRecord], dict[str, list[str]]]:
    """Organizations by code (later records replace earlier ones) and codes by exact name."""
    by_code: dict[str, OrgRecord] = {}
    for org in orgs:
        by_code[org.code] = org
    by_name: dict[str, list[str]] = {}
    for org in by_code.values():
        by_name.setdefault(org.name, []).append(org.code)
    return by_code, by_name


def _resolved(
    member: MemberRecord, by_code: Mapping[str, OrgRecord], by_name: Mapping[str, list[str]]
) -> MemberRecord:
    """`member` with an organization given by its unique exact name replaced by its code.

    An id that was derived from the name ("第一党支部/张三") is derived again from the code, so that a member
    keeps one id whether the spreadsheet names the organization or gives its code.
    """
    if member.org in by_code or len(by_name.get(member.org, ())) != 1:
        return member
    code = by_name[member.org][0]
    member_id = member.id
    if member_id == derived_member_id(member.org, member.name):
        member_id = derived_member_id(code, member.name)
    return replace(member, id=member_id, org=code)


def resolve_org_names(incoming: Registry, existing: Registry) -> Registry:
    """`incoming` with members' organizations given by name replaced by codes, ready to be stored.

    Names resolve against the organizations of `incoming` merged over `existing`, as in `validate`; call this
    only on a registry that `validate` accepted.
    """
    by_code, by_name = _org_index((*existing.orgs, *incoming.orgs))
    members = tuple(_resolved(member, by_code, by_name) for member in incoming.members)
    return replace(incoming, members=members)


def validate(
    incoming: Registry,
    *,
    file: str,
    existing: Registry,
    as_of: dt.date,
    profiles: Collection[str] | Mapping[str, Profile],
    default_profile: str | None = None,
) -> list[Problem]:
    """Every problem of `incoming` merged over `existing` (an empty list when it may be imported).

    Incoming records replace existing ones with the same key (org code, member id, (org, role)). A problem
    between two records that are both already in the database is not this file's doing and is not reported;
    one that an incoming record causes in an existing one is reported on the incoming record.

    Given the profiles themselves (not only their names), an organization's `term_years` is checked against
    what its profile allows (its own, inherited from its parent, or `default_profile`).
    """
    validation = _Validation(incoming, file=file, existing=existing, as_of=as_of, profiles=profiles)
    validation.default_profile = default_profile
    return validation.run()


class _Validation:
    default_profile: str | None = None

    def __init__(
        self,
        incoming: Registry,
        *,
        file: str,
        existing: Registry,
        as_of: dt.date,
        profiles: Collection[str] | Mapping[str, Profile],
    ) -> None:
        self.file = file
        # A roster (CSV, a workbook's sheet) names a member's fields by its column headers.
        self.csv = file.lower().endswith(".csv") or incoming.source is not None
        self.as_of = as_of
        self.profiles = profiles
        self.problems: list[Problem] = []

        self.stored_orgs = {org.code: org for org in existing.orgs}
        self.stored_members = {member.id: member for member in existing.members}
        self.orgs = dict(self.stored_orgs)
        self.new_orgs = self._first_of_each(incoming.orgs, lambda org: org.code, "code", "组织编码 {}")
        self.orgs.update(self.new_orgs)
        _, self.org_names = _org_index(self.orgs.values())

        resolved = [self._resolve(member) for member in incoming.members]
        self.members = dict(self.stored_members)
        self.new_members = self._first_of_each(resolved, lambda member: member.id, "id", "党员编号 {}")
        self.members.update(self.new_members)

        self.positions = {(position.org, position.role): position for position in existing.positions}
        self.new_positions = self._first_of_each(
            incoming.positions,
            lambda position: (position.org, position.role),
            "role",
            "职务 {}",
            lambda key: f"{key[0]} {_role_label(key[1])}",
        )
        self.positions.update(self.new_positions)
        listed = Registry(
            tuple(self.new_orgs.values()),
            tuple(self.new_members.values()),
            tuple(self.new_positions.values()),
        )
        self.scope = file_scope(listed, {code: org.parent for code, org in self.orgs.items()})

    def run(self) -> list[Problem]:
        for org in self.new_orgs.values():
            self._check_org(org)
        for member in self.new_members.values():
            self._check_member(member)
        for position in self.new_positions.values():
            self._check_position(position)
        self._check_cycles()
        for org in self.orgs.values():
            self._check_group_parent(org)
        for position in self.positions.values():
            self._check_holder(position)
        return sorted(self.problems, key=_problem_order)

    # -- bookkeeping

    def _first_of_each(
        self,
        records: Iterable[_R],
        key: Callable[[_R], _K],
        field: str,
        what: str,
        show: Callable[[_K], str] = str,
    ) -> dict[_K, _R]:
        """The first record of each key; every later one is a duplicate within the file."""
        first: dict[_K, _R] = {}
        for record in records:
            earlier = first.get(key(record))
            if earlier is None:
                first[key(record)] = record
                continue
            where = f"第 {earlier.line} 行" if earlier.line is not None else "前面"
            message = f"{what.format(show(key(record)))} 与{where}重复"
            if isinstance(record, MemberRecord) and isinstance(earlier, MemberRecord):
                if earlier.org != record.org:
                    message += f"：同一党员不能同时属于 {earlier.org} 和 {record.org}"
                if self.csv:
                    message += _DERIVED_ID_HINT
            self._add(record, field, message)
        return first

    def _label(self, record: _AnyRecord, field: str) -> str:
        if isinstance(record, MemberRecord) and self.csv:
            return _CSV_HEADERS[field][0]
        table = (
            "org"
            if isinstance(record, OrgRecord)
            else "member"
            if isinstance(record, MemberRecord)
            else "position"
        )
        return f"[[{table}]] {field}"

    def _add(self, record: _AnyRecord, field: str, message: str) -> None:
        self.problems.append(Problem(self.file, record.line, self._label(record, field), message))

    def _is_new(self, record: _AnyRecord) -> bool:
        if isinstance(record, OrgRecord):
            return self.new_orgs.get(record.code) is record
        if isinstance(record, MemberRecord):
            return self.new_members.get(record.id) is record
        return self.new_positions.get((record.org, record.role)) is record

    def _blame(
        self,
        record: _AnyRecord,
        field: str,
        message: str,
        causes: Sequence[tuple[OrgRecord | MemberRecord | None, str]] = (),
    ) -> None:
        """Report a problem of `record`; if it is already stored, on the incoming change that caused it.

        A cause is an incoming record whose `cause_field` differs from the stored record's (or that is new).
        """
        if self._is_new(record):
            self._add(record, field, message)
            return
        for cause, cause_field in causes:
            if cause is not None and self._is_new(cause) and self._changes(cause, cause_field):
                self._add(cause, cause_field, f"{message}（这与数据库中已有的{_describe(record)}冲突）")
                return

    def _changes(self, record: OrgRecord | MemberRecord, field: str) -> bool:
        stored: OrgRecord | MemberRecord | None
        if isinstance(record, OrgRecord):
            stored = self.stored_orgs.get(record.code)
        else:
            stored = self.stored_members.get(record.id)
        return stored is None or getattr(stored, field) != getattr(record, field)

    def _org_label(self, code: str) -> str:
        org = self.orgs.get(code)
        return f"{code}（{org.name}）" if org is not None and org.name != code else code

    # -- checks of one record

    def _resolve(self, member: MemberRecord) -> MemberRecord:
        if member.org in self.orgs:
            return member
        codes = self.org_names.get(member.org, [])
        if len(codes) > 1:
            message = f"组织名称“{member.org}”对应多个组织（{'、'.join(sorted(codes))}），请改填组织编码"
            self._add(member, "org", message)
            return member
        if not codes:
            known = [*self.orgs, *self.org_names]
            self._add(member, "org", str(not_found("组织", member.org, known)))
            return member
        return _resolved(member, self.orgs, self.org_names)

    def _check_date(self, record: _AnyRecord, field: str, value: dt.date | None) -> None:
        if value is None:
            return
        if value > self.as_of:
            self._add(record, field, f"日期 {value} 在将来（晚于 {self.as_of}）")
        elif value < FOUNDING:
            self._add(record, field, f"日期 {value} 早于中国共产党成立（{FOUNDING}）")

    def _check_org(self, org: OrgRecord) -> None:
        if org.parent is not None and org.parent not in self.orgs:
            self._add(org, "parent", str(not_found("上级组织", org.parent, self.orgs)))
        if org.profile is not None and org.profile not in self.profiles:
            self._add(org, "profile", str(not_found("职责日历", org.profile, self.profiles)))
        self._check_date(org, "elected_on", org.elected_on)
        self._check_term(org)
        self._check_date(org, "profile_since", org.profile_since)
        if org.profile_since is not None and org.profile is None:
            self._add(
                org,
                "profile_since",
                "profile_since 是本组织职责日历（profile）的启用日期，须与 profile 同时填写",
            )
        self._check_date(org, "tracked_from", org.tracked_from)

    def _effective_profile(self, org: OrgRecord) -> Profile | None:
        """The profile `org` will follow: its own, its nearest ancestor's, or the default."""
        if not isinstance(self.profiles, Mapping):
            return None
        seen: set[str] = set()
        current: OrgRecord | None = org
        while current is not None and current.code not in seen:
            seen.add(current.code)
            if current.profile is not None:
                return self.profiles.get(current.profile)
            current = self.orgs.get(current.parent) if current.parent is not None else None
        return self.profiles.get(self.default_profile) if self.default_profile is not None else None

    def _check_term(self, org: OrgRecord) -> None:
        """A term the organization's profile does not allow is refused, not silently replaced by the default
        (003 二(一)3: a Wujin branch serves 2 or 3 years)."""
        if org.term_years is None:
            return
        profile = self._effective_profile(org)
        rule = profile.rules.get(TERM_RULE) if profile is not None else None
        if profile is None or rule is None:
            return
        default = rule.term_years.get(org.kind)
        if default is None:
            message = (
                f"职责日历 {profile.id}（{profile.title}）没有{org.kind.label}的任期规定，不应填写任期年数"
            )
            self._add(org, "term_years", message)
            return
        allowed = rule.term_years_allowed.get(org.kind, (default,))
        if org.term_years not in allowed:
            years = "或".join(str(year) for year in allowed)
            message = (
                f"任期 {org.term_years} 年不符合职责日历 {profile.id}（{profile.title}）：{org.kind.label}任期为 {years} 年"
                f"（依据：{rule.source}）"
            )
            self._add(org, "term_years", message)

    def _check_member(self, member: MemberRecord) -> None:
        stored = self.stored_members.get(member.id)
        if stored is not None and stored.org != member.org and stored.org not in self.scope:
            cover = (
                "同时列出两个组织党员的名册"
                if self.csv
                else "同时列出这两个组织（或它们共同的上级组织）的文件"
            )
            message = (
                f"党员 {member.id}（{stored.name}）已登记在 {self._org_label(stored.org)}，不在本文件所涉的组织范围内，"
                f"不能在这里转到 {self._org_label(member.org)}；如果是同名的另一人，请改用不同的编号；"
                f"如确是转移组织关系，请导入{cover}"
            )
            self._add(member, "org", message)
        if problem := length_problem(member.id, _width(Member, "id")):
            self._add(member, "id", f"党员编号{problem}{_DERIVED_ID_HINT}")
        if member.status == "probationary" and member.probation_start is None:
            self._add(member, "probation_start", "预备党员必须填写预备期开始日期")
        for field in ("joined_on", "probation_start", "full_on", "staff_since"):
            self._check_date(member, field, getattr(member, field))

    def _check_position(self, position: PositionRecord) -> None:
        if position.org not in self.orgs:
            self._add(position, "org", str(not_found("组织", position.org, self.orgs)))
        if position.member is not None and position.member not in self.members:
            self._add(position, "member", str(not_found("党员", position.member, self.members)))
        if position.member is not None and position.vacant_since is not None:
            self._add(position, "vacant_since", "职务已有人担任，不应填写空缺日期；空缺职务不填 member")
        if position.member is None and position.vacant_since is None:
            self._add(position, "vacant_since", "空缺职务必须填写空缺起始日期（或用 member 填写任职党员）")
        self._check_date(position, "since", position.since)
        self._check_date(position, "vacant_since", position.vacant_since)

    # -- checks across records

    def _check_cycles(self) -> None:
        reported: set[frozenset[str]] = set()
        for start in self.new_orgs:
            path: list[str] = []
            code: str | None = start
            while code is not None and code in self.orgs and code not in path:
                path.append(code)
                code = self.orgs[code].parent
            if code is None or code not in path:
                continue
            cycle = path[path.index(code) :]
            if frozenset(cycle) in reported:
                continue
            reported.add(frozenset(cycle))
            # Report on the incoming organization of the cycle that comes first in the file.
            new = [self.new_orgs[c] for c in cycle if c in self.new_orgs]
            if not new:
                continue
            first = min(new, key=lambda org: (org.line is None, org.line or 0))
            at = cycle.index(first.code)
            loop = [*cycle[at:], *cycle[:at], first.code]
            self._add(first, "parent", f"上级组织形成循环：{' → '.join(loop)}")

    def _check_group_parent(self, org: OrgRecord) -> None:
        if org.kind is not OrgKind.GROUP:
            return
        if org.parent is None:
            self._blame(org, "parent", "党小组必须隶属于党支部或党总支，请填写 parent")
            return
        parent = self.orgs.get(org.parent)
        if parent is not None and parent.kind not in _HAS_GROUPS:
            message = f"党小组只能设在党支部或党总支之下，而上级组织 {self._org_label(parent.code)} 是{parent.kind.label}"
            self._blame(org, "parent", message, [(parent, "kind")])

    def _check_holder(self, position: PositionRecord) -> None:
        org = self.orgs.get(position.org)
        if org is None:
            return
        role = _role_label(position.role)
        if position.role == Role.GROUP_LEADER and org.kind is not OrgKind.GROUP:
            message = f"党小组长只能设在党小组，而 {self._org_label(org.code)} 是{org.kind.label}"
            self._blame(position, "role", message, [(org, "kind")])
        if position.role in _COMMITTEE_ROLES and org.kind is OrgKind.GROUP:
            message = f"党小组不设{role}，只设党小组长（group_leader）"
            self._blame(position, "role", message, [(org, "kind")])
        member = self.members.get(position.member) if position.member is not None else None
        if member is None:
            return
        # A committee seat (支委会, 党总支委员会, 党委) is held by a member of the organization's subtree: a 党委
        # member's membership sits in one of its branches or their groups (the read model, roster.py, reads
        # seats so). A 党小组长 belongs to the group itself.
        subtree = position.role in _COMMITTEE_ROLES and org.kind is not OrgKind.GROUP
        if member.org == org.code or (subtree and self._within(member.org, org.code)):
            return
        of = f"{self._org_label(org.code)}或其下属组织" if subtree else self._org_label(org.code)
        message = f"担任{role}的党员 {member.id}（{member.name}）属于 {self._org_label(member.org)}，不是 {of} 的党员"
        self._blame(position, "member", message, [(member, "org"), (self.orgs.get(member.org), "parent")])

    def _within(self, code: str, ancestor: str) -> bool:
        """Whether `code` lies below `ancestor` (a cycle, reported elsewhere, ends the walk)."""
        seen: set[str] = set()
        found = self.orgs.get(code)
        while found is not None and found.parent is not None and found.code not in seen:
            if found.parent == ancestor:
                return True
            seen.add(found.code)
            found = self.orgs.get(found.parent)
        return False


def _role_label(role: str) -> str:
    return Role(role).label if role in _ROLES.values() else role


def _describe(record: _AnyRecord) -> str:
    if isinstance(record, OrgRecord):
        return f"组织 {record.code}"
    if isinstance(record, MemberRecord):
        return f"党员 {record.id}（{record.name}）"
    return f"职务 {record.org} {_role_label(record.role)}"
