"""The audit log on the desk (`/audit`): a supervisor (a 组织员 or secretary of a 党委/党总支) reads the events of
the members of their subtrees and the refusals of strangers, newest first, bounded; `?since=` (a date or a date-time, as the CLI reads it) and
`?member=` narrow it as `obligations audit --since --member` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from calendars import instants
from obligations import audit
from obligations.models import AuditEvent
from obligations.web.app import desk_of
from obligations.web.auth import Viewer, refuse, signed_in
from obligations.web.render import templates

LIMIT = 200


def _since(raw: str) -> dt.datetime:
    """The instant `?since=` names, by the CLI's parser: a bare date is the start of that day in party time."""
    return instants.parse_instant(raw, bare_date=dt.time(0)).astimezone(dt.UTC)


async def _page(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    if not viewer.scope.supervises:
        return await refuse(request, viewer, "audit")
    raw_since = request.query_params.get("since", "").strip()[:40]
    member = request.query_params.get("member", "").strip()[:100]
    since, problem = None, None
    if raw_since:
        try:
            since = _since(raw_since)
        except instants.InstantError as error:
            problem = str(error)
    paths = [path for _code, path in viewer.scope.supervised]

    def load(session: Session) -> Sequence[AuditEvent]:
        return audit.events(
            session, since=since, member=member or None, limit=LIMIT, visible=audit.seen_under(paths)
        )

    events = [] if problem else await desk.run(load)
    return templates.TemplateResponse(
        request,
        "audit.html.j2",
        {
            "viewer": viewer,
            "events": events,
            "since": raw_since,
            "member": member,
            "problem": problem,
            "limit": LIMIT,
            "actions": audit.ACTION_LABELS,
            "channels": audit.CHANNEL_LABELS,
            "outcomes": audit.OUTCOME_LABELS,
        },
        status_code=400 if problem else 200,
    )


ROUTES = [Route("/audit", signed_in(_page), methods=["GET"])]
