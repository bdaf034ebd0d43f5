"""我的待办: the signed-in member's open and overdue tasks, grouped by urgency, each with its days left and the
duty's clause."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from obligations import duelist, taskview
from obligations.web.app import desk_of
from obligations.web.auth import Viewer, signed_in
from obligations.web.render import templates

WITHIN_DAYS = 60
LATE_DAYS = 30  # tasks done late (补办) stay listed this long
# (heading, last day left that belongs to it), in the order shown.
GROUPS = (("已逾期", -1), ("7 天内到期", 7), ("30 天内到期", 30), ("稍后", WITHIN_DAYS))


async def _todo(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    as_of = desk.today()
    mine = duelist.Mine(viewer.member, viewer.scope.records_for)

    def load(session: Session) -> tuple[list[duelist.DueRow], list[taskview.LateRow]]:
        due = duelist.due_rows(session, desk.profiles, as_of=as_of, within=WITHIN_DAYS, mine=mine)
        since = as_of - dt.timedelta(days=LATE_DAYS)
        return due, taskview.done_late(session, desk.profiles, mine, since=since)

    items, late = await desk.run(load)
    groups: list[tuple[str, list[duelist.DueRow]]] = []
    placed: set[int] = set()
    for heading, last in GROUPS:
        chosen = [item for item in items if item.task_id not in placed and item.days_left <= last]
        placed.update(item.task_id for item in chosen)
        groups.append((heading, chosen))
    return templates.TemplateResponse(
        request,
        "todo.html.j2",
        {"viewer": viewer, "groups": groups, "as_of": as_of, "count": len(items), "late": late},
    )


ROUTES = [Route("/", signed_in(_todo), methods=["GET"])]
