"""`GET /l/{token}`: a reminder's link. A valid one redirects at once to the task page, a clean URL (the token
leaves the address bar); without a session, through the sign-in (the password form, or inside 企业微信's browser
the silent WeCom sign-in) — the link alone signs nobody in, and the task page checks the scope of whoever opens
it. An expired, tampered, foreign or spent (the task is no longer open) link is refused with a page in Chinese
and an audit event; the token itself is never logged."""

from __future__ import annotations

from urllib.parse import quote

from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from obligations import audit, links
from obligations.models import Task
from obligations.web.app import desk_of, error_page
from obligations.web.auth import client_address, viewer_of

REFUSALS = {
    "expired": (410, "此链接已过期（提醒中的链接 30 天内有效）。请登录工作台，在“我的待办”中办理。"),
    "invalid": (404, "此链接无效，可能不完整或已被改动。请从提醒消息中重新打开，或登录工作台办理。"),
    "closed": (410, "此事项已办结（或已缓办、免办），链接不再有效。请登录工作台查看。"),
}


def in_wecom(request: Request) -> bool:
    """Opened in 企业微信's own browser (its user agent says wxwork)."""
    return "wxwork" in request.headers.get("user-agent", "").lower()


def sign_in_path(request: Request, next_path: str) -> str:
    """Where someone without a session signs in before `next_path`: WeCom's silent sign-in inside WeCom when
    it is configured, the password form otherwise."""
    desk = desk_of(request)
    target = quote(next_path, safe="/")
    if desk.config.notifiers.wecom.corp_id and desk.config.web.public_url and in_wecom(request):
        return f"/wecom/login?next={target}"
    return f"/login?next={target}"


async def follow(request: Request) -> Response:
    desk = desk_of(request)
    token = request.path_params["token"]
    viewer = await viewer_of(request)
    actor = viewer.actor if viewer else audit.Actor(None, "web", client_address(request))

    def check(session: Session) -> tuple[str | None, links.Link | None]:
        now = desk.now()
        try:
            link = links.verify(links.signing_key(session, now), token, now=now)
        except links.LinkError as error:
            audit.log(
                session, actor, "link_refused", at=now, target="GET /l", outcome="refused", detail=error.kind
            )
            return error.kind, None
        task = session.get(Task, link.task_id)
        if task is None or task.status != "open":
            audit.log(
                session,
                actor,
                "link_refused",
                at=now,
                target=f"task {link.task_id}",
                outcome="refused",
                detail=f"closed, sent to {link.member}",
            )
            return "closed", link
        audit.log(
            session, actor, "link", at=now, target=f"task {link.task_id}", detail=f"sent to {link.member}"
        )
        return None, link

    problem, link = await desk.run(check)
    if problem is not None or link is None:
        status, message = REFUSALS[problem or "invalid"]
        return error_page(request, status, message)
    task_path = links.task_page(link.task_id)
    return RedirectResponse(task_path if viewer else sign_in_path(request, task_path), status_code=303)


ROUTES = [Route("/l/{token}", follow, methods=["GET"])]
