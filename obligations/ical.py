"""Tasks as an iCalendar feed (RFC 5545): one VTODO per task, for Outlook, phone calendars and CalDAV.

A task's UID is made of what identifies it in every database — rule, subject and period — never of a row
id, so that importing the feed again, or from another installation, updates the same to-dos instead of
adding copies. Characters outside letters, digits, "-" and "_" (and "." inside the subject, as in org codes)
are written as %XX of their UTF-8 bytes; with "." left only as the separator the UID is unique whenever the
(rule, subject, period) triple is.

Names come from the store, where they may hold what import now refuses (stored before the checks, or by
hand): icalendar escapes line breaks, `;` and `,`, but writes ESC, BEL and NUL as they are, which RFC 5545
forbids in text and which break readers. Every name is written through `calendars.text.shown` (each such
character as �), so a feed is whole whatever is stored.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Todo
from sqlalchemy import or_
from sqlmodel import Session, col, select

from calendars.expand import period_label
from calendars.model import Profile, Rule, RuleKind
from calendars.periods import parse_key
from calendars.text import shown
from obligations import history
from obligations.errors import not_found
from obligations.models import Member, Organization, Task
from obligations.queries import organization, subtree_filter

PRODID = "-//obligations//党组织职责日历//ZH"
PARTY_TIME = ZoneInfo("Asia/Shanghai")
REMINDER = dt.timedelta(days=7)
_SAFE = frozenset(string.ascii_letters + string.digits + "-_")
_STATUS = {"done": "COMPLETED", "waived": "CANCELLED", "exempt": "CANCELLED"}
_UNITS = {"times": "次", "hours": "学时", "days": "天"}


def _escape(text: str, *, keep_dots: bool = False) -> str:
    return "".join(
        char
        if char in _SAFE or (keep_dots and char == ".")
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in text
    )


def uid(rule: str, subject: str, period: str) -> str:
    """`{rule}.{subject}.{period}@obligations`, escaped: stable across runs and databases."""
    return f"{_escape(rule)}.{_escape(subject, keep_dots=True)}.{_escape(period)}@obligations"


def build(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    org: str | None,
    member: str | None,
    start: dt.date,
    end: dt.date,
    stamp: dt.datetime,
) -> Calendar:
    """The tasks due between `start` and `end` (inclusive) of an organization's subtree, of a member (whose
    duty it is, or whom it concerns), or of every active organization; `stamp` is the feed's DTSTAMP."""
    query = (
        select(Task, Organization)
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(col(Organization.active).is_(True), col(Task.due) >= start, col(Task.due) <= end)
    )
    name = "党组织职责日历"
    if org is not None:
        root = organization(session, org)
        query = query.where(subtree_filter(root))
        name = f"{shown(root.name)}职责日历"
    if member is not None:
        person = session.get(Member, member)
        if person is None:
            raise not_found("党员", member, session.exec(select(col(Member.id))).all())
        query = query.where(or_(col(Task.assignee) == member, col(Task.subject) == member))
        name = f"{shown(person.name)}的职责日历"
    rows = session.exec(
        query.order_by(col(Task.due), col(Task.org), col(Task.rule), col(Task.subject), col(Task.period))
    ).all()
    people = {t.assignee for t, _ in rows if t.assignee} | {
        t.subject for t, _ in rows if t.subject_kind != "org"
    }
    names = {
        member_id: shown(member_name)
        for member_id, member_name in (
            session.exec(
                select(col(Member.id), col(Member.name)).where(col(Member.id).in_(sorted(people)))
            ).all()
            if people
            else []
        )
    }

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", str(PARTY_TIME))
    changed = history.changed_calendars(session, profiles)  # a task is titled under the profile of its date
    for task, owner in rows:
        profile = profiles.get(owner.effective_profile)
        rule = profile.rules.get(task.rule) if profile else None
        if owner.code in changed:
            rule = history.task_rule(changed[owner.code], task)
        calendar.add_component(_todo(task, owner, rule, names, stamp))
    return calendar


def _todo(
    task: Task, owner: Organization, rule: Rule | None, names: Mapping[str, str], stamp: dt.datetime
) -> Todo:
    assert task.id is not None
    title = rule.title if rule else task.rule
    subject = names.get(task.subject, task.subject) if task.subject_kind != "org" else None
    summary = f"{shown(owner.name)}：{title}" + (f"（{subject}）" if subject else "")
    todo = Todo()
    todo.add("uid", uid(task.rule, task.subject, task.period))
    todo.add("dtstamp", stamp.astimezone(dt.UTC))
    todo.add("summary", summary)
    if task.period_start <= task.due:  # RFC 5545: a to-do may not start after it is due
        todo.add("dtstart", task.period_start)
    todo.add("due", task.due)
    todo.add("description", _description(task, owner, rule, title, subject, names))
    todo.add("status", _STATUS.get(task.status, "NEEDS-ACTION"))
    if task.status == "done" and task.done_on is not None:
        day = task.done_on
        completed = dt.datetime(day.year, day.month, day.day, tzinfo=PARTY_TIME).astimezone(dt.UTC)
        todo.add("completed", completed)
        todo.add("percent-complete", 100)
    elif task.status == "open":
        if task.required_count > 1 and task.done_count > 0:
            todo.add("percent-complete", min(99, int(task.done_count * 100 // task.required_count)))
        # RELATED=END: for a VTODO the trigger is measured from DUE (a bare -P7D would count from DTSTART).
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -REMINDER, parameters={"RELATED": "END"})
        alarm.add("description", f"{summary}——还有7天到期（期限 {task.due}），请按时完成并登记。")
        todo.add_component(alarm)
    return todo


def _description(
    task: Task,
    owner: Organization,
    rule: Rule | None,
    title: str,
    subject: str | None,
    names: Mapping[str, str],
) -> str:
    if rule is not None and rule.kind is not RuleKind.EVENT:
        span = f"{task.period_start} 至 {parse_key(task.period).end}"
    else:
        span = f"自 {task.period_start} 起"
    lines = [
        f"职责：{title}（{period_label(task.period)}，{span}）",
        f"组织：{shown(owner.name)}（{owner.code}）",
    ]
    if subject:
        lines.append(f"对象：{subject}")
    due = f"期限：{task.due}"
    if task.original_due is not None and task.original_due != task.due:
        due += f"（经批准由 {task.original_due} 延期）"
    lines.append(due)
    lines.append(f"责任人：{names.get(task.assignee, task.assignee) if task.assignee else '（空缺）'}")
    unit = _UNITS.get(task.unit, task.unit)
    if task.required_count != 1 or task.unit != "times":
        lines.append(f"进度：{task.done_count:g}/{task.required_count:g}{unit}")
    if rule is not None:
        lines.append(f"要求：{rule.describe_cadence()}；须记录：{rule.describe_record()}")
        lines.append(f"依据：{rule.citation}")
        if rule.note:
            lines.append(f"说明：{rule.note}")
    if task.status == "done":
        lines.append(f"已于 {task.done_on} 完成。")
    elif task.status in ("waived", "exempt"):
        lines.append("免办。")
    else:
        lines.append(f"登记完成：obligations done {task.id} --on YYYY-MM-DD")
    return "\n".join(lines)
