"""The audit log on the desk (`/audit`): a supervisor (a 组织员 or secretary of a 党委/党总支) reads the events of
the members of their subtrees and the refusals of strangers, newest first, bounded; `?since=YYYY-MM-DD` and
`?member=` narrow it as `obligations audit --since --member` does."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from obligations import audit
from obligations.models import AuditEvent
from obligations.web.app import PARTY_TIME, desk_of
from obligations.web.auth import Viewer, refuse, signed_in
from obligations.web.render import templates

LIMIT = 200


def _since(raw: str) -> dt.datetime | None:
    """The start of a day in party time, as an instant; None when the text is no date."""
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), PARTY_TIME).astimezone(dt.UTC)


async def _page(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    if not viewer.scope.supervises:
        return await refuse(request, viewer, "audit")
    raw_since = request.query_params.get("since", "").strip()[:20]
    member = request.query_params.get("member", "").strip()[:100]
    since = _since(raw_since) if raw_since else None
    problem = "起始日期应为日期，如 2026-11-01。" if raw_since and since is None else None
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
