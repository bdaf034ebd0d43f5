"""The 党组织生活台账 as a file: every activity of an organization and its 党小组 in a year.

"党组织生活台账……记录“三会一课”、“统一活动日”、组织生活会等情况，反映党员活动的时间、地点、方式、参加人员
和活动内容" (武组发〔2016〕113号 二(四)3). Withdrawn records stay in the book, marked 已撤销 with the reason,
as a correction on paper stays legible under its stroke.

CSV is for spreadsheets (the caller adds the BOM Excel needs); HTML is one self-contained printable page with
a table per kind of activity, like the printed record book.
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
from obligations import roster
from obligations.models import Attachment, Attendance, Completion, CompletionTask, Member, Organization, Task
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

CSV_HEADERS = (
    "编号",
    "日期",
    "组织",
    "活动类型",
    "计入职责",
    "地点",
    "方式",
    "主持人",
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
class Ledger:
    org: str
    org_name: str
    year: int
    entries: tuple[Entry, ...]

    def section(self, name: str) -> list[Entry]:
        return [entry for entry in self.entries if name in entry.types]

    @property
    def sections(self) -> list[tuple[str, list[Entry]]]:
        return [(name, self.section(name)) for name in (*(n for n, _ in ACTIVITY_TYPES), OTHER)]


def _hours(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def ledger(session: Session, profiles: Mapping[str, Profile], org_code: str, year: int) -> Ledger:
    """Every completion of the organization and its 党小组 held in `year`, in date order."""
    org = organization(session, org_code)
    orgs = {org.code: org}
    for code in roster.load(session, around=org.code, inactive=True).groups.get(org.code, []):
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
    return Ledger(org.code, org.name, year, tuple(entries))


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


def to_csv(book: Ledger) -> str:
    """One row per record, Chinese headers, CRLF line ends as spreadsheets expect."""
    buffer = io.StringIO()
    rows = (
        [
            entry.id,
            entry.held_on.isoformat(),
            entry.org_name,
            "、".join(entry.types),
            entry.duties_text,
            entry.place or "",
            entry.form or "",
            entry.host or "",
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
        for entry in book.entries
    )
    write_csv(buffer, CSV_HEADERS, rows, line_end="\r\n")
    return buffer.getvalue()


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
  @page { size: A4 landscape; margin: 12mm; }
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
  .sheet { overflow-x: auto; }
  /* On a phone the 13 columns keep a legible width and scroll inside their sheet; print keeps A4's width. */
  @media screen and (max-width: 1120px) { table { min-width: 1100px; } }
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
<td>{{ entry.id }}</td><td class="date">{{ entry.held_on.isoformat() }}</td><td>{{ entry.org_name }}</td><td>{{ entry.place or "" }}</td><td>{{ entry.form or "" }}</td><td>{{ entry.host or "" }}</td><td>{{ entry.attendees_text }}{% if entry.attendees %}（共{{ entry.headcount }}人）{% endif %}</td><td>{{ entry.absentees_text }}</td><td>{{ entry.topic or "" }}{% if entry.note %}<br>备注：{{ entry.note }}{% endif %}</td><td>{{ hours(entry.hours) }}</td><td>{{ entry.duties_text }}</td><td class="files">{% for path in entry.attachments %}{{ path }}{% if not loop.last %}<br>{% endif %}{% endfor %}</td><td class="state">{% if entry.undone %}已撤销{% if entry.undo_reason %}：{{ entry.undo_reason }}{% endif %}{% else %}有效{% endif %}</td>
</tr>
{% else %}
<tr><td class="empty" colspan="13">本年度无记录</td></tr>
{% endfor %}
</tbody>
</table>
</div>
{% endfor %}
<p class="summary">共 {{ book.entries|length }} 条记录，其中已撤销 {{ withdrawn }} 条。一次活动计入多项职责的，在各项下分别列出。</p>
</body>
</html>
"""
)


def to_html(book: Ledger) -> str:
    """One printable page, self-contained (no scripts, fonts or images from elsewhere), every text escaped."""
    withdrawn = sum(1 for entry in book.entries if entry.undone)
    return _HTML.render(book=book, withdrawn=withdrawn, hours=_hours, widths=_WIDTHS)
