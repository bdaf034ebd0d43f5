"""What the member workflows (转正, 民主评议, 党费) share: checking the member ids a person typed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

from sqlmodel import Session

from calendars.model import OrgKind
from calendars.text import control_problem, length_problem, shown
from obligations.errors import LedgerError, UserError
from obligations.models import Member, Organization
from obligations.queries import organization
from obligations.tables import column_width

MAX_MEMBERS = 10_000  # one record names at most a large branch's roll; more is a slip


def recording_branch(session: Session, code: str) -> Organization:
    """The organization a member record names: a branch (or any organization with members of its own), never
    a 党小组, which is part of its branch and keeps no roll of its own."""
    org = organization(session, code)
    if org.kind == OrgKind.GROUP.value:
        raise UserError(f"{org.name}（{org.code}）是党小组，属于其所在支部：请用 --org {org.parent} 登记。")
    return org


def member_id_problem(member_id: str) -> str | None:
    """Why `member_id` as typed cannot be a member's id (a control character, longer than the column)."""
    problem = control_problem(member_id) or length_problem(member_id, column_width(Member.id) or 0)
    return f"党员编号 {shown(member_id)!r} {problem}。" if problem else None


def member_problems(ids: Sequence[str], members: Mapping[str, Member], branch: Organization) -> list[str]:
    """Why these ids cannot be recorded for the branch: unreadable, too long, named twice, or not among the
    branch's active members (its 党小组 included)."""
    problems: list[str] = []
    if len(ids) > MAX_MEMBERS:
        return [f"一次最多登记 {MAX_MEMBERS} 名党员，而不是 {len(ids)} 名。"]
    for member_id in ids:
        problem = member_id_problem(member_id)
        if problem:
            problems.append(problem)
        elif member_id not in members:
            problems.append(f"{member_id} 不是{branch.name}（{branch.code}）的在册党员。")
    twice = sorted(member for member, count in Counter(ids).items() if count > 1)
    if twice:
        problems.append(f"{'、'.join(map(shown, twice))} 被重复填写。")
    return problems


MAX_FILE_BYTES = 10 * 1024 * 1024  # a city's year of dues or grades is far smaller


def read_table(
    path: Path, headers: Mapping[str, str], required: Sequence[str], described: str
) -> list[tuple[int, dict[str, str]]]:
    """The rows of a spreadsheet's CSV (UTF-8 or GB18030, as registry imports read them), each as its row
    number and the cells of the known `headers` (header text -> field), stripped; blank rows skipped."""
    from obligations import registry  # the import file readers; here, not above: due plans, reading no file

    file = str(path)
    if not path.is_file():  # a pipe or a device would be read for ever
        raise LedgerError([f"{file}：{registry.NOT_A_REGULAR_FILE}。"])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise LedgerError([f"{file}：文件超过 {MAX_FILE_BYTES // 1024 // 1024} MB，请分批导入。"])
    text = registry._decode(path.read_bytes())
    if text is None:
        raise LedgerError([f"{file}：无法识别文件编码：应为 UTF-8（可带 BOM）或 GB18030/GBK 编码的 CSV。"])
    rows, broken = registry._csv_rows(file, text)
    if broken is not None:
        raise LedgerError([str(broken)])
    if len(rows) < 2:
        raise LedgerError([f"{file}：文件为空（只有表头或什么都没有）。"])
    fields = [headers.get(cell.strip().lstrip("\ufeff")) for cell in rows[0]]
    if any(field not in fields for field in required):
        raise LedgerError([f"{file}：表头应含 {described} 两列，而不是 {'、'.join(map(shown, rows[0]))}。"])
    table = []
    for number, row in enumerate(rows[1:], start=2):
        if any(cell.strip() for cell in row):
            cells = {field: cell.strip() for field, cell in zip(fields, row, strict=False) if field}
            table.append((number, {field: cells.get(field, "") for field in required}))
    return table
