"""The calendar subscription on the desk: `/me/feed` creates (the URL is shown once) and revokes a person's
feed URL; `/feed/{token}.ics` serves it without a session, as all-day events or, with `?todo=1`, as to-dos.
An unknown or revoked token is a 404, logged (never the token itself)."""

from __future__ import annotations

import logging

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from obligations import audit, feeds, ical
from obligations.models import FeedToken
from obligations.web.app import desk_of, error_page
from obligations.web.auth import Viewer, client_address, signed_in
from obligations.web.render import templates

log = logging.getLogger("obligations.web")

SUFFIX = ".ics"


async def _serve(request: Request) -> Response:
    desk = desk_of(request)
    name = str(request.path_params["name"])
    token = name[: -len(SUFFIX)] if name.endswith(SUFFIX) else ""
    form = ical.Form.of(desk.config, todo=feeds.wants_todo(request.query_params))

    def load(session: Session) -> bytes | None:
        member = feeds.member_of(session, token)
        found = (
            feeds.calendar(session, desk.profiles, member, today=desk.today(), stamp=desk.now(), form=form)
            if member
            else None
        )
        if found is None:
            actor = audit.Actor(None, "web", client_address(request))
            audit.log(session, actor, "feed_refused", at=desk.now(), target="feed", outcome="refused")
            return None
        body: bytes = found.to_ical()
        return body

    body = await desk.run(load)
    if body is None:
        log.info("calendar feed refused: unknown or revoked token from %s", client_address(request))
        return error_page(request, 404, "订阅链接无效或已停用。")
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"cache-control": "private, no-store", "content-disposition": 'inline; filename="feed.ics"'},
    )


def _base_url(request: Request) -> str:
    public_url = desk_of(request).config.web.public_url
    return (public_url or str(request.base_url)).rstrip("/")


def _page(request: Request, viewer: Viewer, current: FeedToken | None, url: str | None) -> Response:
    response = templates.TemplateResponse(
        request,
        "feed.html.j2",
        {"viewer": viewer, "current": current, "url": url, "todo_url": feeds.todo_url(url) if url else None},
    )
    response.headers["cache-control"] = "no-store"
    return response


async def _show(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    current = await desk.run(lambda session: feeds.active(session, viewer.member))
    return _page(request, viewer, current, None)


async def _create(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)

    def create(session: Session) -> tuple[str, FeedToken | None]:
        now = desk.now()
        token = feeds.create(session, viewer.member, now=now)
        audit.log(session, viewer.actor, "feed_create", at=now, target=f"member:{viewer.member}")
        return token, feeds.active(session, viewer.member)

    token, current = await desk.run(create)
    return _page(request, viewer, current, f"{_base_url(request)}/feed/{token}{SUFFIX}")


async def _revoke(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)

    def revoke(session: Session) -> None:
        now = desk.now()
        if feeds.revoke(session, viewer.member, now=now):
            audit.log(session, viewer.actor, "feed_revoke", at=now, target=f"member:{viewer.member}")

    await desk.run(revoke)
    return _page(request, viewer, None, None)


ROUTES = [
    Route("/feed/{name}", _serve, methods=["GET"]),
    Route("/me/feed", signed_in(_show), methods=["GET"]),
    Route("/me/feed", signed_in(_create), methods=["POST"]),
    Route("/me/feed/revoke", signed_in(_revoke), methods=["POST"]),
]
