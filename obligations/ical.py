"""Tasks as an iCalendar feed (RFC 5545), for phone calendars, Outlook, Google Calendar, khal and CalDAV.

By default each task is an all-day event (VEVENT) on its due date — DTSTART;VALUE=DATE the due date, DTEND the
day after, transparent to free/busy — because calendars show events and most of them ignore to-dos. With
`Form.todo` each task is a to-do (VTODO: DTSTART the period's start, DUE, STATUS, COMPLETED) for task apps.
Both carry the same UID, summary, description (duty, period, assignee, citation, the command that records it),
CATEGORIES (the organization and the task's status), the task page's URL when the desk has a public address,
and one alarm per step of the rule's reminder ladder that falls on or before the due date and is still ahead,
at the opening of office hours that day: TRIGGER relative to the event's start, or to the to-do's DUE
(RELATED=END). An open task past its due date is marked 【逾期】 in its summary (and in CATEGORIES); an event
also says 【已完成】 or 【免办】, which a to-do says with its STATUS.

A task's UID is made of what identifies it in every database — rule, subject and period — never of a row
id, so that importing the feed again, or from another installation, updates the same entries instead of
adding copies. Characters outside letters, digits, "-" and "_" (and "." inside the subject, as in org codes)
are written as %XX of their UTF-8 bytes; with "." left only as the separator the UID is unique whenever the
(rule, subject, period) triple is.

Every text property is written as icalendar's vText (or vCategory), which escapes `\\`, `;`, `,` and line
breaks (RFC 5545 §3.3.11) and folds lines at 75 octets without splitting a UTF-8 character. The calendar's
name (X-WR-CALNAME and RFC 7986's NAME) is given as vText explicitly: icalendar writes properties it does not
type as they are, and an unescaped `,` cut the name short in clients that read it as a list. Names come from
the store, where they may hold what import now refuses (stored before the checks, or by hand): escaping does
not cover ESC, BEL or NUL, which RFC 5545 forbids in text and which break readers, so every name is written
through `calendars.text.shown` (each such character as �) and a feed is whole whatever is stored.
"""

from __future__ import annotations

import datetime as dt
import string
from collections.abc import Mapping
from dataclasses import dataclass

from icalendar import Alarm, Calendar, Event, Todo, vText
from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from calendars import instants, ladder, recurrence
from calendars.expand import period_label
from calendars.model import Profile, Rule, RuleKind
from calendars.periods import parse_key
from calendars.text import shown
from obligations import history, links, tables
from obligations.config import Config
from obligations.duelist import TASK_STATUS_LABELS, Mine
from obligations.errors import not_found
from obligations.models import Member, Organization, Task
from obligations.queries import organization

PRODID = "-//obligations//党组织职责日历//ZH"
PARTY_TIME = instants.PARTY_TIME
_SAFE = frozenset(string.ascii_letters + string.digits + "-_")
_TODO_STATUS = {"done": "COMPLETED", "waived": "CANCELLED", "exempt": "CANCELLED"}
_UNITS = {"times": "次", "hours": "学时", "days": "天"}


@dataclass(frozen=True)
class Form:
    """How a feed is written: events or to-dos, where each entry links to, when its alarms ring."""

    todo: bool  # VTODO instead of an all-day VEVENT on the due date
    public_url: str  # the desk's address ("" when it has none): each entry's URL is its task page
    alarm_at: dt.time  # the time of day (Beijing time) an alarm rings on its ladder step's day

    @classmethod
    def of(cls, config: Config, *, todo: bool) -> Form:
        """The form the configuration gives: the desk's `[web] public_url`, alarms at the opening of
        `[reminders] office_hours`."""
        return cls(todo, config.web.public_url, config.reminders.office_hours.opens)


def _escape(text: str, *, keep_dots: bool = False) -> str:
    return "".join(
        char
        if char in _SAFE or (keep_dots and char == ".")
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in text
    )


# How far back the open overdue tasks of a feed go: a committee's term. A calendar polled by a token alone
# serves work bounded by the scope and this span, not by every year since tracking began.
OVERDUE_YEARS = 3


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
    today: dt.date,
    stamp: dt.datetime,
    form: Form,
    with_overdue: bool = True,
    mine: Mine | None = None,
) -> Calendar:
    """The tasks due between `start` and `end` (inclusive) of an organization's subtree, of a member (whose
    duty it is, or whom it concerns), of one person's desk (`mine`: theirs and those of the organizations
    they record for) or of every active organization; with `with_overdue`, also every open task due before
    `today` (overdue) in the last OVERDUE_YEARS. `stamp` is the feed's DTSTAMP."""
    wanted = and_(col(Task.due) >= start, col(Task.due) <= end)
    if with_overdue:
        oldest = recurrence.shift(today, years=-OVERDUE_YEARS)
        overdue = and_(col(Task.status) == "open", col(Task.due) < today, col(Task.due) >= oldest)
        wanted = or_(wanted, overdue)
    query = (
        select(Task, Organization)
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(col(Organization.active).is_(True), wanted)
    )
    name = "党组织职责日历"
    if org is not None:
        root = organization(session, org)
        query = query.where(tables.subtree(root.path))
        name = f"{shown(root.name)}职责日历"
    if member is not None:
        person = session.get(Member, member)
        if person is None:
            raise not_found("党员", member, session.exec(select(col(Member.id))).all())
        query = query.where(or_(col(Task.assignee) == member, col(Task.subject) == member))
        name = f"{shown(person.name)}的职责日历"
    if mine is not None:
        query = query.where(mine.condition())
        person = session.get(Member, mine.member)
        name = f"{shown(person.name) if person else mine.member}的职责日历"
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
    calendar.add("method", "PUBLISH")
    calendar.add("name", vText(name))  # vText: icalendar would write an untyped property unescaped
    calendar.add("x-wr-calname", vText(name))
    calendar.add("x-wr-timezone", str(PARTY_TIME))
    changed = history.changed_calendars(session, profiles)  # a task is titled under the profile of its date
    for task, owner in rows:
        profile = profiles.get(owner.effective_profile)
        rule = profile.rules.get(task.rule) if profile else None
        if owner.code in changed:
            rule = history.task_rule(changed[owner.code], task)
        calendar.add_component(_entry(task, owner, rule, names, today=today, stamp=stamp, form=form))
    return calendar


def _entry(
    task: Task,
    owner: Organization,
    rule: Rule | None,
    names: Mapping[str, str],
    *,
    today: dt.date,
    stamp: dt.datetime,
    form: Form,
) -> Event | Todo:
    assert task.id is not None
    title = rule.title if rule else task.rule
    subject = names.get(task.subject, task.subject) if task.subject_kind != "org" else None
    summary = f"{shown(owner.name)}：{title}" + (f"（{subject}）" if subject else "")
    state = task.status_on(today)
    # A to-do's STATUS says done or waived; an event has no such status, so its summary says it.
    if state == "overdue" or (not form.todo and state != "open"):
        summary = f"【{TASK_STATUS_LABELS[state]}】{summary}"
    entry = Todo() if form.todo else Event()
    entry.add("uid", uid(task.rule, task.subject, task.period))
    entry.add("dtstamp", stamp.astimezone(dt.UTC))
    entry.add("summary", summary)
    if form.todo:
        if task.period_start <= task.due:  # RFC 5545: a to-do may not start after it is due
            entry.add("dtstart", task.period_start)
        entry.add("due", task.due)
        entry.add("status", _TODO_STATUS.get(task.status, "NEEDS-ACTION"))
        if task.status == "done" and task.done_on is not None:
            day = task.done_on
            completed = dt.datetime(day.year, day.month, day.day, tzinfo=PARTY_TIME).astimezone(dt.UTC)
            entry.add("completed", completed)
            entry.add("percent-complete", 100)
        elif task.status == "open" and task.required_count > 1 and task.done_count > 0:
            entry.add("percent-complete", min(99, int(task.done_count * 100 // task.required_count)))
    else:
        entry.add("dtstart", task.due)  # a date: an all-day event on the due date
        entry.add("dtend", task.due + dt.timedelta(days=1))
        entry.add("transp", "TRANSPARENT")  # a deadline, not a meeting: the day stays free
        entry.add("status", "CANCELLED" if task.status in ("waived", "exempt") else "CONFIRMED")
    entry.add("categories", [shown(owner.name), TASK_STATUS_LABELS[state]])
    url = f"{form.public_url.rstrip('/')}{links.task_page(task.id)}" if form.public_url else None
    if url:
        entry.add("url", url)
    entry.add("description", _description(task, owner, rule, title, subject, names, url))
    if state == "open" and rule is not None:
        for alarm in _alarms(task, rule, summary, today=today, form=form):
            entry.add_component(alarm)
    return entry


def _alarms(task: Task, rule: Rule, summary: str, *, today: dt.date, form: Form) -> list[Alarm]:
    """One alarm per step of the rule's ladder on or before the due date and not yet past, at `alarm_at`."""
    alarms = []
    days_ahead = sorted({(task.due - day).days for _step, day in ladder.step_dates(rule, task.due)})
    for ahead in reversed(days_ahead):
        if ahead < 0 or task.due - dt.timedelta(days=ahead) < today:
            continue
        # Measured from midnight of the due date: the start of an all-day event, the DUE of a to-do
        # (RELATED=END, since a bare trigger of a to-do counts from its DTSTART).
        trigger = dt.timedelta(days=-ahead, hours=form.alarm_at.hour, minutes=form.alarm_at.minute)
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", trigger, parameters={"RELATED": "END"} if form.todo else {})
        when = "今天到期" if ahead == 0 else f"还有{ahead}天到期"
        alarm.add("description", f"{summary}——{when}（期限 {task.due}），请按时完成并登记。")
        alarms.append(alarm)
    return alarms


def _description(
    task: Task,
    owner: Organization,
    rule: Rule | None,
    title: str,
    subject: str | None,
    names: Mapping[str, str],
    url: str | None,
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
        if url:
            lines.append(f"在工作台办理：{url}")
    return "\n".join(lines)
