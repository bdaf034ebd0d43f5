"""Signing in and out, the session cookie, and the checks every request passes: a live session for every
page but the login, and for every state-changing request a CSRF token (a hidden field of each form) and an
Origin of the desk itself. Refusals are logged in the audit log."""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from obligations import accounts, audit
from obligations.scope import Scope, scope_of
from obligations.web.app import Desk, desk_of, error_page
from obligations.web.render import templates

SESSION_COOKIE = "obligations_session"
LOGIN_COOKIE = "obligations_login"  # the sign-in form's CSRF token (there is no session yet)
# A record form: a few dozen fields, up to 10 files; anything larger is not a form of ours.
FORM_LIMITS: dict[str, int] = {"max_fields": 2000, "max_files": 10, "max_part_size": 1024 * 1024}


@dataclass(frozen=True)
class Viewer:
    """The signed-in member, their scope (read from the registry for this request) and their session."""

    scope: Scope
    session_id: str
    csrf_token: str
    actor: audit.Actor

    @property
    def member(self) -> str:
        return self.scope.member


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _actor(request: Request, member: str | None) -> audit.Actor:
    return audit.Actor(member, "web", client_address(request))


def local_path(target: str | None, default: str = "/") -> str:
    """`next` after signing in: a path of this site only (never //host or a scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def _load_viewer(desk: Desk, request: Request) -> Callable[[Session], Viewer | None]:
    cookie = request.cookies.get(SESSION_COOKIE, "")

    def load(session: Session) -> Viewer | None:
        if not cookie:
            return None
        idle = dt.timedelta(hours=desk.config.web.session_hours)
        found = accounts.current_session(session, cookie, now=desk.now(), idle=idle)
        if found is None:
            return None
        scope = scope_of(session, found.member)
        if scope is None:
            return None
        return Viewer(scope, found.id_hash, found.csrf_token, _actor(request, found.member))

    return load


async def viewer_of(request: Request) -> Viewer | None:
    desk = desk_of(request)
    return await desk.run(_load_viewer(desk, request))


Handler = Callable[[Request, Viewer], Awaitable[Response]]


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """A page for signed-in members: without a session, the sign-in form and then back to this page. A
    state-changing request must carry the session's CSRF token and come from the desk's own origin."""

    async def endpoint(request: Request) -> Response:
        viewer = await viewer_of(request)
        if viewer is None:
            if request.method != "GET":
                return error_page(request, 401, "登录已失效，请重新登录后再提交。")
            return RedirectResponse(f"/login?next={quote(request.url.path, safe='/')}", status_code=303)
        if request.method != "GET":
            form = await request.form(**FORM_LIMITS)
            request.state.form = form
            if not same_origin(request) or not _token_matches(form, viewer.csrf_token):
                return await refuse(request, viewer, "csrf")
        return await handler(request, viewer)

    return endpoint


def form_of(request: Request) -> FormData:
    """The form `signed_in` already read and checked."""
    form: FormData = request.state.form
    return form


def _token_matches(form: FormData, expected: str) -> bool:
    given = form.get("csrf_token")
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given, expected)


def same_origin(request: Request) -> bool:
    """The request comes from a page of the desk: its Origin (or, lacking one, its Referer) is the public URL's
    origin or the origin the server was reached at."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return False
    parts = urlsplit(sent)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    public_url = desk_of(request).config.web.public_url
    if not public_url:
        return origin == own
    public = urlsplit(public_url)
    return origin in {f"{public.scheme}://{public.netloc}".lower(), own}


async def refuse(request: Request, viewer: Viewer | None, what: str, status: int = 403) -> Response:
    """Refuse and log it: who, what, from where."""
    desk = desk_of(request)
    actor = viewer.actor if viewer else _actor(request, None)
    target = f"{request.method} {request.url.path}"

    def log(session: Session) -> None:
        audit.log(session, actor, "refused", at=desk.now(), target=target, outcome="refused", detail=what)

    await desk.run(log)
    message = "表单已过期或来源不明，请刷新页面后重新提交。" if what == "csrf" else "您无权查看或办理此项。"
    return error_page(request, status, message)


def forbid() -> HTTPException:
    return HTTPException(403)


# ---------------------------------------------------------------------------------------------------
# Pages


async def login_form(request: Request) -> Response:
    return _login_page(
        request, member="", problem=None, next_path=local_path(request.query_params.get("next"))
    )


def _login_page(
    request: Request, *, member: str, problem: str | None, next_path: str, status: int = 200
) -> Response:
    desk = desk_of(request)
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html.j2",
        {
            "member": member,
            "problem": problem,
            "next": next_path,
            "csrf_token": token,
            "wecom": bool(desk.config.notifiers.wecom.corp_id),
        },
        status_code=status,
    )
    _set_cookie(response, desk, LOGIN_COOKIE, token, max_age=3600)
    return response


def _set_cookie(
    response: Response, desk: Desk, name: str, value: str, *, path: str = "/", **extra: Any
) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=desk.config.web.secure_cookies,
        path=path,
        **extra,
    )


async def login(request: Request) -> Response:
    desk = desk_of(request)
    form = await request.form(max_fields=10, max_files=0, max_part_size=4096)
    member = str(form.get("member") or "").strip()[:100]
    password = str(form.get("password") or "")
    next_path = local_path(str(form.get("next") or ""))
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not same_origin(request) or not _token_matches(form, expected):
        return await refuse(request, None, "csrf")
    web = desk.config.web
    address = client_address(request)

    def check(session: Session) -> tuple[accounts.SignIn, accounts.Opened | None]:
        now = desk.now()
        result = accounts.authenticate(
            session,
            member,
            password,
            now=now,
            attempts=web.login_attempts,
            lockout=dt.timedelta(minutes=web.lockout_minutes),
        )
        actor = audit.Actor(member or None, "web", address)
        if result.account is None:
            detail = "locked" if result.locked else "wrong member or password"
            audit.log(session, actor, "login_failed", at=now, outcome="refused", detail=detail)
            return result, None
        opened = accounts.open_session(session, member, method="password", now=now, address=address)
        audit.log(session, actor, "login", at=now, detail="password")
        return result, opened

    result, opened = await desk.run(check)
    if opened is None:
        return _login_page(request, member=member, problem=result.problem, next_path=next_path, status=401)
    response = RedirectResponse(next_path, status_code=303)
    start_session(response, desk, opened)
    return response


def start_session(response: Response, desk: Desk, opened: accounts.Opened) -> None:
    """Give the browser its session cookie (a session cookie: the idle timeout is the server's)."""
    _set_cookie(response, desk, SESSION_COOKIE, opened.cookie)
    response.delete_cookie(LOGIN_COOKIE, path="/")


async def _logout(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    cookie = request.cookies.get(SESSION_COOKIE, "")

    def end(session: Session) -> None:
        now = desk.now()
        accounts.revoke(session, cookie, now=now)
        audit.log(session, viewer.actor, "logout", at=now)

    await desk.run(end)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


logout = signed_in(_logout)


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
