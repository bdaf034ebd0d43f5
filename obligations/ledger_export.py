"""The 党组织生活台账 as a file: every activity of an organization and its 党小组 in a year.

"党组织生活台账……记录“三会一课”、“统一活动日”、组织生活会等情况，反映党员活动的时间、地点、方式、参加人员
和活动内容" (武组发〔2016〕113号 二(四)3). Withdrawn records stay in the book, marked 已撤销 with the reason,
as a correction on paper stays legible under its stroke.

Beside the activities the book keeps what issue 10 §3 made part of the record: the 主讲人 of a 党课, the 支部大会's
转正 decisions (党章 第七条) with the meeting record they belong to, each member's 民主评议 grade of the year
(003 二(二)4) and who paid 党费 for which month (003 二(四)3: 记录党员交纳党费情况). Members are the branch's,
its 党小组's included (obligations/roster.py).

CSV is for spreadsheets (the caller adds the BOM Excel needs): the activities first, then after a blank row
each member table under its title row. HTML is one self-contained printable page with a table per kind of
activity, like the printed record book, then the member tables; printed, it is A4 with the page number and the
page count at the foot of every page (CSS paged media: Chromium draws @page margin boxes since version 131)
and ends with the secretary's signature line. The workbook and the Word 记录本 are in ledger_office.py.

Beside the records, the book lists the organization's own duties due in the year (the summary sheet of the
workbook): each task with its period, due date, where it stands on `as_of` and the records that count toward it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jinja2
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Profile
from obligations import appraisal, db, dues, history, probation, report, roster
from obligations.models import (
    Attachment,
    Attendance,
    Completion,
    CompletionTask,
    DuesPayment,
    Member,
    MemberAppraisal,
    Organization,
    ProbationDecision,
    Task,
)
from obligations.queries import organization
from obligations.render import write_csv

# The sections of the record book, in its order; a record that counts toward several (a 主题党日 that is
# also the quarter's 党课) appears in each.
ACTIVITY_TYPES: tuple[tuple[str, frozenset[str]], ...] = (
    ("党员大会", frozenset({"general-meeting"})),
    ("支委会", frozenset({"committee-meeting"})),
    ("党小组会", frozenset({"group-meeting"})),
    ("党课", frozenset({"party-lesson", "secretary-lesson"})),
    ("主题党日", frozenset({"theme-party-day"})),
    ("组织生活会", frozenset({"organizational-life-meeting"})),
)
OTHER = "其他"

# The line the secretary signs under a printed 台账 or 记录本.
SIGNATURE = "书记签字：＿＿＿＿＿＿＿＿　　日期：＿＿＿＿年＿＿月＿＿日"

CSV_HEADERS = (
    "编号",
    "日期",
    "组织",
    "活动类型",
    "计入职责",
    "地点",
    "方式",
    "主持人",
    "主讲人",
    "参加人数",
    "参加人员",
    "缺席人员及原因",
    "主题和内容",
    "学时",
    "附件",
    "备注",
    "状态",
    "撤销原因",
)


@dataclass(frozen=True)
class Duty:
    rule: str
    title: str
    period: str

    @property
    def label(self) -> str:
        return f"{self.title}（{period_label(self.period)}）"


@dataclass(frozen=True)
class Entry:
    """One activity as the record book shows it."""

    id: int
    org: str
    org_name: str
    held_on: dt.date
    duties: tuple[Duty, ...]  # the organization's own duties it counted toward
    member_credits: tuple[tuple[str, int], ...]  # (rule title, members credited): 学时 for each attendee
    place: str | None
    form: str | None
    host: str | None
    lecturer: str | None  # the 主讲人's name (书记讲党课)
    topic: str | None
    note: str | None
    hours: float | None
    attendees: tuple[str, ...]  # names, when attendance was recorded by name
    attendee_count: int | None  # when it was recorded as a number
    absentees: tuple[tuple[str, str | None], ...]  # (name, reason)
    attachments: tuple[str, ...]  # paths inside the attachments folder
    undone_at: dt.datetime | None
    undo_reason: str | None

    @property
    def undone(self) -> bool:
        return self.undone_at is not None

    @property
    def types(self) -> tuple[str, ...]:
        rules = {duty.rule for duty in self.duties}
        found = tuple(name for name, kinds in ACTIVITY_TYPES if rules & kinds)
        return found or (OTHER,)

    @property
    def headcount(self) -> int | None:
        return len(self.attendees) if self.attendees else self.attendee_count

    @property
    def duties_text(self) -> str:
        parts = [duty.label for duty in self.duties]
        hours = f"，各{_hours(self.hours)}学时" if self.hours else ""
        parts.extend(f"{title}（计入{count}名党员{hours}）" for title, count in self.member_credits)
        return "；".join(parts)

    @property
    def attendees_text(self) -> str:
        if self.attendees:
            return "、".join(self.attendees)
        return f"{self.attendee_count}人" if self.attendee_count is not None else ""

    @property
    def absentees_text(self) -> str:
        return "、".join(f"{name}（{reason}）" if reason else name for name, reason in self.absentees)

    @property
    def state(self) -> str:
        return "已撤销" if self.undone else "有效"


@dataclass(frozen=True)
class Decision:
    """A 支部大会's decision on a probationary member (转正讨论)."""

    member: str
    name: str
    decided_on: dt.date
    outcome: str  # full | extended | cancelled
    probation_end: dt.date
    extended_until: dt.date | None
    completion_id: int | None  # the 台账 record of the meeting

    @property
    def outcome_text(self) -> str:
        label = probation.OUTCOMES[self.outcome]
        return f"{label}至 {self.extended_until.isoformat()}" if self.extended_until else label


@dataclass(frozen=True)
class Grade:
    """A member's 民主评议 grade of the year (None: not graded)."""

    member: str
    name: str
    grade: str | None
    decided_on: dt.date | None

    @property
    def label(self) -> str:
        return appraisal.grade_label(self.grade)


@dataclass(frozen=True)
class Dues:
    """A member's 党费 in the year: the months paid, and the ended months owed and unpaid."""

    member: str
    name: str
    paid: tuple[int, ...]
    unpaid: tuple[int, ...]

    @property
    def paid_text(self) -> str:
        return _months(self.paid)

    @property
    def unpaid_text(self) -> str:
        return _months(self.unpaid)


def _months(months: Sequence[int]) -> str:
    """(1, 2, 3, 5) -> 1–3、5月; () -> ""."""
    runs: list[list[int]] = []
    for month in months:
        if runs and runs[-1][-1] == month - 1:
            runs[-1].append(month)
        else:
            runs.append([month])
    parts = [f"{run[0]}–{run[-1]}" if len(run) > 2 else "、".join(map(str, run)) for run in runs]
    return "、".join(parts) + "月" if parts else ""


@dataclass(frozen=True)
class DutyStatus:
    """One of the organization's duties due in the year (a task of it or of its 党小组), and where it stands."""

    title: str
    org_name: str
    period: str
    due: dt.date
    outcome: report.Outcome
    records: tuple[int, ...]  # the records (not withdrawn) that count toward it, by id, in date order

    @property
    def period_text(self) -> str:
        return period_label(self.period)


@dataclass(frozen=True)
class Ledger:
    org: str
    org_name: str
    year: int
    entries: tuple[Entry, ...]
    decisions: tuple[Decision, ...] = ()
    grades: tuple[Grade, ...] = ()
    dues: tuple[Dues, ...] = ()
    dues_as_of: dt.date | None = None  # unpaid months are those ended before this day's month
    duties: tuple[DutyStatus, ...] = ()

    def section(self, name: str) -> list[Entry]:
        return [entry for entry in self.entries if name in entry.types]

    @property
    def sections(self) -> list[tuple[str, list[Entry]]]:
        return [(name, self.section(name)) for name in (*(n for n, _ in ACTIVITY_TYPES), OTHER)]


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def ledger(
    session: Session, profiles: Mapping[str, Profile], org_code: str, year: int, as_of: dt.date
) -> Ledger:
    """Every completion of the organization and its 党小组 held in `year`, in date order, and its members'
    转正 decisions, 民主评议 grades and 党费 of that year (unpaid months: those ended by `as_of`)."""
    org = organization(session, org_code)
    orgs = {org.code: org}
    registry = roster.load(session, around=org.code, inactive=True)
    for code in registry.groups.get(org.code, []):
        group = session.get(Organization, code)
        if group is not None:
            orgs[code] = group  # a pruned 党小组 keeps its history in the book
    completions = session.exec(
        select(Completion)
        .where(
            col(Completion.org).in_(list(orgs)),
            col(Completion.held_on) >= dt.date(year, 1, 1),
            col(Completion.held_on) <= dt.date(year, 12, 31),
        )
        .order_by(col(Completion.held_on), col(Completion.id))
    ).all()
    ids = [completion.id for completion in completions if completion.id is not None]
    duties, credits = _duties(session, profiles, orgs, ids)
    present, absent = _attendance(session, ids)
    lecturers = _names(session, {c.lecturer for c in completions if c.lecturer})
    attachments: dict[int, list[str]] = defaultdict(list)
    if ids:
        for attachment in session.exec(
            select(Attachment).where(col(Attachment.completion_id).in_(ids)).order_by(col(Attachment.id))
        ):
            attachments[attachment.completion_id].append(attachment.path)
    entries = []
    for completion in completions:
        assert completion.id is not None
        entries.append(
            Entry(
                id=completion.id,
                org=completion.org,
                org_name=orgs[completion.org].name,
                held_on=completion.held_on,
                duties=tuple(duties[completion.id]),
                member_credits=tuple(sorted(credits[completion.id].items())),
                place=completion.place,
                form=completion.form,
                host=completion.host,
                lecturer=lecturers[completion.lecturer].name if completion.lecturer else None,
                topic=completion.topic,
                note=completion.note,
                hours=completion.hours,
                attendees=tuple(present[completion.id]),
                attendee_count=completion.attendee_count,
                absentees=tuple(absent[completion.id]),
                attachments=tuple(attachments[completion.id]),
                undone_at=completion.undone_at,
                undo_reason=completion.undo_reason,
            )
        )
    members = _members(session, registry, org, year)
    return Ledger(
        org.code,
        org.name,
        year,
        tuple(entries),
        decisions=_decisions(session, orgs, members, year),
        grades=_grades(session, members, year),
        dues=_dues(session, registry, org, members, year, as_of),
        dues_as_of=as_of,
        duties=_duty_statuses(session, profiles, orgs, year, as_of),
    )


def _duty_statuses(
    session: Session,
    profiles: Mapping[str, Profile],
    orgs: Mapping[str, Organization],
    year: int,
    as_of: dt.date,
) -> tuple[DutyStatus, ...]:
    tasks = session.exec(
        select(Task)
        .where(
            col(Task.org).in_(list(orgs)),
            col(Task.subject_kind) == "org",
            col(Task.due) >= dt.date(year, 1, 1),
            col(Task.due) <= dt.date(year, 12, 31),
        )
        .order_by(col(Task.due), col(Task.rule), col(Task.org))
    ).all()
    records: dict[int, list[int]] = defaultdict(list)
    ids = [task.id for task in tasks if task.id is not None]
    for chunk in db.chunks(ids, 500):
        for task_id, completion_id in session.exec(
            select(CompletionTask.task_id, CompletionTask.completion_id)
            .join(Completion, col(Completion.id) == col(CompletionTask.completion_id))
            .where(col(CompletionTask.task_id).in_(chunk), col(Completion.undone_at).is_(None))
            .order_by(col(Completion.held_on), col(Completion.id))
        ):
            records[task_id].append(completion_id)
    # The rule each task was owed under: the profile in force on its date, not necessarily today's.
    calendars = {
        code: history.calendars_of(session, profiles, code, org.effective_profile)
        for code, org in orgs.items()
    }
    found = []
    for task in tasks:
        assert task.id is not None
        owed = calendars[task.org]
        rule = history.task_rule(owed, task) if owed else None
        found.append(
            DutyStatus(
                rule.title if rule else task.rule,
                orgs[task.org].name,
                task.period,
                task.due,
                report.outcome(task, as_of),
                tuple(records[task.id]),
            )
        )
    return tuple(found)


def _names(session: Session, ids: set[str]) -> dict[str, Member]:
    found: dict[str, Member] = {}
    for chunk in db.chunks(sorted(ids), 500):  # IN (...) lists within both drivers' parameter limits
        for member in session.exec(select(Member).where(col(Member.id).in_(chunk))):
            found[member.id] = member
    return found


def _members(session: Session, registry: roster.Roster, org: Organization, year: int) -> list[Member]:
    """The organization's members (a branch's 党小组 included), and those who have left but hold a grade or a
    payment of the year recorded by it, by id."""
    ids = {member.id for member in registry.members_of(org.code)}
    ids.update(
        session.exec(
            select(MemberAppraisal.member).where(
                col(MemberAppraisal.org) == org.code, col(MemberAppraisal.year) == year
            )
        ).all()
    )
    ids.update(
        session.exec(
            select(ProbationDecision.member).where(
                col(ProbationDecision.org) == org.code,
                col(ProbationDecision.decided_on) >= dt.date(year, 1, 1),
                col(ProbationDecision.decided_on) <= dt.date(year, 12, 31),
            )
        ).all()
    )
    ids.update(
        session.exec(
            select(DuesPayment.member).where(
                col(DuesPayment.org) == org.code, col(DuesPayment.month).startswith(f"{year:04d}-")
            )
        ).all()
    )
    return sorted(_names(session, ids).values(), key=lambda member: member.id)


def _decisions(
    session: Session, orgs: Mapping[str, Organization], members: Sequence[Member], year: int
) -> tuple[Decision, ...]:
    names = {member.id: member.name for member in members}
    rows = session.exec(
        select(ProbationDecision)
        .where(
            col(ProbationDecision.org).in_(list(orgs)) | col(ProbationDecision.member).in_(list(names)),
            col(ProbationDecision.decided_on) >= dt.date(year, 1, 1),
            col(ProbationDecision.decided_on) <= dt.date(year, 12, 31),
        )
        .order_by(col(ProbationDecision.decided_on), col(ProbationDecision.id))
    ).all()
    return tuple(
        Decision(
            row.member,
            names.get(row.member, row.member),
            row.decided_on,
            row.outcome,
            row.probation_end,
            row.extended_until,
            row.completion_id,
        )
        for row in rows
    )


def _grades(session: Session, members: Sequence[Member], year: int) -> tuple[Grade, ...]:
    stored = {
        row.member: row
        for row in session.exec(
            select(MemberAppraisal).where(
                col(MemberAppraisal.year) == year,
                col(MemberAppraisal.member).in_([member.id for member in members]),
            )
        ).all()
    }
    return tuple(
        Grade(
            member.id,
            member.name,
            stored[member.id].grade if member.id in stored else None,
            stored[member.id].decided_on if member.id in stored else None,
        )
        for member in members
    )


def _dues(
    session: Session,
    registry: roster.Roster,
    org: Organization,
    members: Sequence[Member],
    year: int,
    as_of: dt.date,
) -> tuple[Dues, ...]:
    months = dues.months_of_year(session, registry.branch_of(org.code), members, year, as_of)
    return tuple(Dues(member.id, member.name, *months[member.id]) for member in members)


def _duties(
    session: Session, profiles: Mapping[str, Profile], orgs: Mapping[str, Organization], ids: Sequence[int]
) -> tuple[dict[int, list[Duty]], dict[int, dict[str, int]]]:
    """What each completion counted toward: the organizations' duties, and members' duties by rule."""
    duties: dict[int, list[Duty]] = defaultdict(list)
    credits: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    if not ids:
        return duties, credits
    rows = session.exec(
        select(CompletionTask.completion_id, Task)
        .join(Task, col(Task.id) == col(CompletionTask.task_id))
        .where(col(CompletionTask.completion_id).in_(list(ids)))
        .order_by(col(Task.due), col(Task.rule))
    ).all()
    for completion_id, task in rows:
        owner = orgs.get(task.org) or session.get(Organization, task.org)
        profile = profiles.get(owner.effective_profile) if owner else None
        rule = profile.rules.get(task.rule) if profile else None
        title = rule.title if rule else task.rule
        if task.subject_kind == "org":
            duties[completion_id].append(Duty(task.rule, title, task.period))
        else:
            credits[completion_id][title] += 1
    return duties, credits


def _attendance(
    session: Session, ids: Sequence[int]
) -> tuple[dict[int, list[str]], dict[int, list[tuple[str, str | None]]]]:
    present: dict[int, list[str]] = defaultdict(list)
    absent: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    if not ids:
        return present, absent
    rows = session.exec(
        select(Attendance, col(Member.name))
        .join(Member, col(Member.id) == col(Attendance.member))
        .where(col(Attendance.completion_id).in_(list(ids)))
        .order_by(col(Attendance.completion_id), col(Member.id))
    ).all()
    for attendance, name in rows:
        if attendance.present:
            present[attendance.completion_id].append(name)
        else:
            absent[attendance.completion_id].append((name, attendance.reason))
    return present, absent


def entry_row(entry: Entry) -> list[object]:
    """A record as a spreadsheet row under CSV_HEADERS."""
    return [
        entry.id,
        entry.held_on.isoformat(),
        entry.org_name,
        "、".join(entry.types),
        entry.duties_text,
        entry.place or "",
        entry.form or "",
        entry.host or "",
        entry.lecturer or "",
        "" if entry.headcount is None else entry.headcount,
        "、".join(entry.attendees),
        entry.absentees_text,
        entry.topic or "",
        _hours(entry.hours),
        "；".join(entry.attachments),
        entry.note or "",
        entry.state,
        entry.undo_reason or "",
    ]


def to_csv(book: Ledger) -> str:
    """One row per record, Chinese headers, CRLF line ends as spreadsheets expect."""
    buffer = io.StringIO()
    write_csv(buffer, CSV_HEADERS, (entry_row(entry) for entry in book.entries), line_end="\r\n")
    for title, headers, cells in member_tables(book):
        buffer.write("\r\n")
        write_csv(buffer, (title,), (), line_end="\r\n")
        write_csv(buffer, headers, cells, line_end="\r\n")
    return buffer.getvalue()


def member_tables(book: Ledger) -> list[tuple[str, tuple[str, ...], list[list[object]]]]:
    """The member tables, each (title, headers, rows): the CSV's blocks and the HTML's sheets."""
    year = f"（{book.year}年）"
    as_of = f"，截至 {book.dues_as_of.isoformat()}" if book.dues_as_of else ""
    return [
        (
            f"转正讨论{year}",
            ("党员编号", "姓名", "讨论日期", "预备期满", "讨论结果", "台账记录编号"),
            [
                [
                    d.member,
                    d.name,
                    d.decided_on.isoformat(),
                    d.probation_end.isoformat(),
                    d.outcome_text,
                    "" if d.completion_id is None else d.completion_id,
                ]
                for d in book.decisions
            ],
        ),
        (
            f"民主评议党员{year}",
            ("党员编号", "姓名", "等次", "评定日期"),
            [
                [g.member, g.name, g.label, g.decided_on.isoformat() if g.decided_on else ""]
                for g in book.grades
            ],
        ),
        (
            f"党费交纳{year[:-1]}{as_of}）",
            ("党员编号", "姓名", "已交月份", "未交月份", "已交月数", "未交月数"),
            [[p.member, p.name, p.paid_text, p.unpaid_text, len(p.paid), len(p.unpaid)] for p in book.dues],
        ),
    ]


# Column widths in percent, the same in every table as on the printed page: 编号, 日期, 组织, 地点, 方式,
# 主持人, 参加人员, 缺席人员及原因, 主题和内容, 学时, 计入职责, 附件, 状态.
_WIDTHS = (4, 8, 8, 7, 5, 5, 11, 8, 12, 4, 15, 6, 7)
assert sum(_WIDTHS) == 100

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{{ book.org_name }}{{ book.year }}年度党组织生活台账</title>
<style>
  @page {
    size: A4 landscape;
    margin: 12mm 12mm 16mm;
    @bottom-center { content: counter(page) " / " counter(pages); font-size: 9pt; }
  }
  body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 10.5pt; color: #000; margin: 0 auto; max-width: 297mm; }
  h1 { text-align: center; font-size: 20pt; letter-spacing: 0.3em; margin: 0.5em 0 0.2em; }
  .subtitle { text-align: center; margin: 0 0 1.2em; }
  h2 { font-size: 13pt; border-left: 4px solid #b00; padding-left: 0.4em; margin: 1.2em 0 0.4em; page-break-after: avoid; }
  table { border-collapse: collapse; width: 100%; table-layout: fixed; page-break-inside: auto; }
  th, td { border: 1px solid #000; padding: 3px 4px; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
  th { background: #f2f2f2; }
  tr { page-break-inside: avoid; }
  td.date { white-space: nowrap; }
  td.files { word-break: break-all; font-size: 9pt; }
  tr.undone td { color: #666; text-decoration: line-through; }
  tr.undone td.state { text-decoration: none; color: #b00; }
  .empty { color: #666; text-align: center; }
  .summary { margin-top: 1.2em; }
  .signature { margin-top: 2.5em; text-align: right; font-size: 12pt; break-inside: avoid; }
  .sheet { overflow-x: auto; }
  /* On a phone the 13 columns keep a legible width and scroll inside their sheet; print keeps A4's width. */
  @media screen and (max-width: 1120px) { table { min-width: 1100px; } table.members { min-width: 640px; } }
  @media print { h2 { break-after: avoid; } }
</style>
</head>
<body>
<h1>党组织生活台账</h1>
<p class="subtitle">{{ book.org_name }}（{{ book.org }}）　{{ book.year }}年度</p>
{% for name, entries in book.sections %}
<h2>{{ name }}</h2>
<div class="sheet">
<table>
<colgroup>{% for width in widths %}<col style="width: {{ width }}%">{% endfor %}</colgroup>
<thead><tr><th>编号</th><th>日期</th><th>组织</th><th>地点</th><th>方式</th><th>主持人</th><th>参加人员</th><th>缺席人员及原因</th><th>主题和内容</th><th>学时</th><th>计入职责</th><th>附件</th><th>状态</th></tr></thead>
<tbody>
{% for entry in entries %}
<tr{% if entry.undone %} class="undone"{% endif %}>
<td>{{ entry.id }}</td><td class="date">{{ entry.held_on.isoformat() }}</td><td>{{ entry.org_name }}</td><td>{{ entry.place or "" }}</td><td>{{ entry.form or "" }}</td><td>{{ entry.host or "" }}{% if entry.lecturer %}{% if entry.host %}<br>{% endif %}主讲人：{{ entry.lecturer }}{% endif %}</td><td>{{ entry.attendees_text }}{% if entry.attendees %}（共{{ entry.headcount }}人）{% endif %}</td><td>{{ entry.absentees_text }}</td><td>{{ entry.topic or "" }}{% if entry.note %}<br>备注：{{ entry.note }}{% endif %}</td><td>{{ hours(entry.hours) }}</td><td>{{ entry.duties_text }}</td><td class="files">{% for path in entry.attachments %}{{ path }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td><td class="state">{% if entry.undone %}已撤销{% if entry.undo_reason %}：{{ entry.undo_reason }}{% endif %}{% else %}有效{% endif %}</td>
</tr>
{% else %}
<tr><td class="empty" colspan="13">本年度无记录</td></tr>
{% endfor %}
</tbody>
</table>
</div>
{% endfor %}
{% for title, headers, rows in member_tables %}
<h2>{{ title }}</h2>
<div class="sheet">
<table class="members">
<thead><tr>{% for header in headers %}<th>{{ header }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}
<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% else %}
<tr><td class="empty" colspan="{{ headers|length }}">本年度无记录</td></tr>
{% endfor %}
</tbody>
</table>
</div>
{% endfor %}
<p class="summary">共 {{ book.entries|length }} 条记录，其中已撤销 {{ withdrawn }} 条。一次活动计入多项职责的，在各项下分别列出。</p>
<p class="signature">{{ signature }}</p>
</body>
</html>
"""
)


def to_html(book: Ledger) -> str:
    """One printable page, self-contained (no scripts, fonts or images from elsewhere), every text escaped."""
    withdrawn = sum(1 for entry in book.entries if entry.undone)
    return _HTML.render(
        book=book,
        withdrawn=withdrawn,
        hours=_hours,
        widths=_WIDTHS,
        member_tables=member_tables(book),
        signature=SIGNATURE,
    )
