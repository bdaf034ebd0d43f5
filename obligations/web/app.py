"""The desk's application: its state (config, engine, profiles, clock), routes and error pages.

Handlers are thin: they read the request, call the core in a worker thread (SQLModel sessions are
synchronous) and render a template. Who may do what is obligations/scope.py; the sign-in, sessions and CSRF
checks are obligations/web/auth.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from calendars import instants
from calendars.model import Profile
from obligations import db
from obligations.config import Config
from obligations.web import redact
from obligations.web.render import templates

log = logging.getLogger("obligations.web")

PARTY_TIME = instants.PARTY_TIME
STATIC = Path(__file__).parent / "static"
T = TypeVar("T")


@dataclass
class Desk:
    """What every request needs. `clock` is the only place the desk reads the time (tests pass their own)."""

    config: Config
    engine: Engine
    profiles: Mapping[str, Profile]
    clock: Callable[[], dt.datetime]

    def now(self) -> dt.datetime:
        return self.clock().astimezone(dt.UTC)

    def today(self) -> dt.date:
        return self.clock().astimezone(PARTY_TIME).date()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with db.session_scope(self.engine) as session:
            yield session

    async def run(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one transaction in a worker thread (committed when it returns)."""

        def job() -> T:
            with self.session() as session:
                return work(session)

        return await run_in_threadpool(job)

    @property
    def attachments_dir(self) -> Path:
        return self.config.ledger.attachments


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def error_page(request: Request, status: int, message: str) -> Response:
    return templates.TemplateResponse(
        request, "error.html.j2", {"status": status, "message": message}, status_code=status
    )


_MESSAGES = {
    400: "请求无效。",
    403: "您无权查看或办理此项。",
    404: "页面不存在或已被移除。",
    405: "不支持此操作。",
    413: "上传的内容过大。",
}


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else _MESSAGES.get(exc.status_code, "")
    if message.isascii():  # Starlette's own English phrase ("Not Found")
        message = _MESSAGES.get(exc.status_code, "请求无法处理。")
    return error_page(request, exc.status_code, message)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_page(request, 500, "服务器内部错误，请稍后重试；如果反复出现，请告知管理员。")


class SecurityHeaders:
    """Headers every response carries: no framing, no sniffing, no referrer leaking tokens, a strict CSP (the
    pages load only their own scripts and styles)."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
            b"frame-ancestors 'none'; form-action 'self'",
        ),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in self.HEADERS if name not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def routes() -> list[BaseRoute]:
    # Imported here: each page module registers its own routes.
    from obligations.web import auditlog, auth, feed, links, org, requests, tasks, todo, wecom

    found: list[BaseRoute] = [Mount("/static", app=StaticFiles(directory=STATIC), name="static")]
    for module in (auth, todo, tasks, links, wecom, requests, org, auditlog, feed):
        found.extend(module.ROUTES)
    return found


def create_app(
    config: Config,
    engine: Engine,
    profiles: Mapping[str, Profile],
    *,
    clock: Callable[[], dt.datetime],
) -> Starlette:
    """The desk over `engine`. `clock` tells the time (the entry points pass the real one, tests their own)."""
    app = Starlette(
        routes=routes(),
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.desk = Desk(config, engine, profiles, clock)
    redact.install()  # however the app is served (serve, gunicorn), its access log carries no link or code
    app.add_middleware(SecurityHeaders)
    return app
