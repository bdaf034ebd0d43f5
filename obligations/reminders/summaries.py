"""An organization's summary for its group robot (企业微信群机器人): what is due and overdue there, and who
answers for each item — never a person's digest, which goes to that person alone.

Written by planning when `wecom_robot` is among the channels: one message per organization that has a robot
(`wecom_robot_env` in the registry) and whose tasks got new reminders in this sweep. It lists every open task of
the organization whose reminders have begun (the new ones and those still open from earlier sweeps), most pressing
first, at most `digest_items` of them (the rest counted, with the command that lists them). A 党小组 is part of its
branch: its tasks show in the branch's summary too, named with the group.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from calendars.expand import period_label
from calendars.model import ROLE_LABELS, Role
from notifiers.render import render_summary
from notifiers.wecom import ROBOT_KIND, robot_address
from obligations import tables
from obligations.db import chunks
from obligations.models import OutboxItem, Reminder, Task
from obligations.reminders import bulk
from obligations.reminders.digests import message_row, pending, render_or_shipped
from obligations.reminders.registry import Person, PlanningRegistry, task_columns, task_title
from obligations.reminders.settings import PlannedMessage, Settings, SweepResult

ROBOT = ROBOT_KIND.name
ORGS_PER_CHUNK = 500


def write_summaries(
    session: Session,
    registry: PlanningRegistry,
    today: dt.date,
    now: dt.datetime,
    settings: Settings,
    *,
    preview: bool,
    result: SweepResult,
) -> None:
    """One summary per organization with a robot whose tasks got new (pending) reminders in this sweep."""
    if ROBOT not in settings.channels:
        return
    shown_in = _shown_in(registry)
    if not shown_in:
        return
    touched = sorted(
        {
            robot
            for org in session.scalars(
                sa_select(col(Task.org))
                .join(Reminder, col(Reminder.task_id) == col(Task.id))
                .where(pending())
                .distinct()
            )
            for robot in shown_in.get(org, ())
        }
    )
    for part in chunks(touched, ORGS_PER_CHUNK):
        _write(session, registry, part, shown_in, today, now, settings, preview, result)


def _shown_in(registry: PlanningRegistry) -> dict[str, list[str]]:
    """The organizations whose summary shows an organization's tasks: its own, if it has a robot, and its
    branch's, for a 党小组 whose branch has one."""
    found: dict[str, list[str]] = defaultdict(list)
    for code, org in registry.orgs.items():
        if org.robot_env:
            found[code].append(code)
        branch = registry.orgs.get(org.branch) if org.branch else None
        if branch is not None and branch.robot_env and org.branch:
            found[code].append(org.branch)
    return found


def _write(
    session: Session,
    registry: PlanningRegistry,
    orgs: Sequence[str],
    shown_in: dict[str, list[str]],
    today: dt.date,
    now: dt.datetime,
    settings: Settings,
    preview: bool,
    result: SweepResult,
) -> None:
    wanted = set(orgs)
    listed = sorted(code for code, robots in shown_in.items() if wanted.intersection(robots))
    reminded = exists().where(col(Reminder.task_id) == col(Task.id))
    tasks: dict[str, list[Any]] = defaultdict(list)
    for row in session.execute(
        sa_select(
            *task_columns(),
            col(Task.responsible).label("responsible"),
        )
        .where(col(Task.org).in_(listed), col(Task.status) == "open", reminded)
        .order_by(col(Task.due), col(Task.id))
    ):
        for robot in shown_in[row.org]:
            if robot in wanted:
                tasks[robot].append(row)
    people = registry.people(
        session,
        [
            *(row.assignee for rows in tasks.values() for row in rows),
            *(row.subject for rows in tasks.values() for row in rows if row.subject_kind != "org"),
        ],
    )
    messages: list[dict[str, Any]] = []
    for code in orgs:
        rows = tasks.get(code, [])
        if not rows:
            continue
        context = _context(registry, code, rows, people, today, settings.digest_items)
        rendered, failure = render_or_shipped(render_summary, context, settings.templates, "summary", code)
        name, address = registry.org_name(code), robot_address(code)
        # Never cut: a summary longer than a robot message is sent in numbered parts, cut between items.
        for part in rendered.parts(ROBOT_KIND):
            messages.append(message_row(None, name, code, ROBOT, address, part, failure, now))
            if preview:
                result.planned.append(
                    PlannedMessage(
                        code,
                        name,
                        ROBOT,
                        address,
                        part.subject,
                        part.text,
                        len(rows),
                        part.number,
                        part.count,
                    )
                )
    if not messages:
        return
    ids = bulk.insert_returning_ids(session, tables.outbox_message, messages)
    result.messages += len(ids)
    # The summary carries the new reminders of the tasks it lists, as a digest carries its recipient's.
    by_org: dict[str, list[int]] = defaultdict(list)
    for message_id, written in zip(ids, messages, strict=True):
        by_org[written["org"]].append(message_id)
    items = [
        {"message_id": message_id, "reminder_id": reminder_id}
        for org, reminder_id in session.execute(
            sa_select(col(Task.org), col(Reminder.id))
            .join(Task, col(Task.id) == col(Reminder.task_id))
            .where(pending(), col(Task.org).in_(listed))
        )
        for robot in shown_in[org]
        for message_id in by_org.get(robot, ())
    ]
    for batch in chunks(items, 1000):
        session.execute(insert(OutboxItem), batch)


def _context(
    registry: PlanningRegistry,
    code: str,
    rows: Sequence[Any],
    people: dict[str, Person],
    today: dt.date,
    cap: int,
) -> dict[str, Any]:
    # Most pressing first: what is overdue, then by due date (the query's order); the rest counted.
    listed, rest = rows[:cap], rows[cap:]
    items = []
    for row in listed:
        title = task_title(registry.rule(row.org, row.rule, row.period_start, row.owed_on), row, people)
        if row.org != code:  # a 党小组's duty in its branch's summary: 第一党小组·党小组会
            title = f"{registry.org_name(row.org)}·{title}"
        assignee = people.get(row.assignee or "")
        items.append(
            {
                "title": title,
                "period": period_label(row.period),
                "due": row.due,
                "step": "overdue" if row.due < today else "upcoming",
                "responsible_name": assignee.name if assignee else _vacant(row.responsible),
                "mention": assignee.wecom if assignee and assignee.wecom else "",
            }
        )
    context: dict[str, Any] = {
        "org": {"name": registry.org_name(code), "code": code},
        "as_of": today,
        "items": items,
    }
    if rest:
        context["omitted"] = {
            "count": len(rest),
            "overdue_count": sum(row.due < today for row in rest),
            "command": f"obligations due --org {code}",
        }
    return context


def _vacant(responsible: str) -> str:
    """Who should answer for a task whose seat is empty: 书记（空缺）."""
    try:
        return f"{ROLE_LABELS[Role(responsible)]}（空缺）"
    except ValueError:
        return ""
