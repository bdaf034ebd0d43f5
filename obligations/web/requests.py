"""延期、免办申请 on the desk: the secretary's form on a task (`/tasks/{id}/request`), the decisions of the parent's
组织员 (`/requests/{id}/approve|reject`), the requester's withdrawal, and the list (`/requests`). The workflow and
its rules are obligations/requests.py; these handlers read forms and render pages."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from calendars import instants
from obligations import audit, ledger, requests
from obligations.errors import LedgerError, NotFound
from obligations.models import Organization, Task, WaiverRequest
from obligations.web.app import desk_of
from obligations.web.auth import Viewer, form_of, local_path, refuse, signed_in
from obligations.web.render import templates

LARGEST_ID = 2**31 - 1  # a row id both backends store (obligations.cli.app.RowId)


def row_id(request: Request, name: str) -> int:
    """A row id from the path: 1 … 2**31-1, anything else is a page that does not exist."""
    value = str(request.path_params.get(name, ""))
    if not value.isascii() or not value.isdigit() or len(value) > 10 or not 1 <= int(value) <= LARGEST_ID:
        raise HTTPException(404)
    return int(value)


def _text(request: Request, name: str) -> str:
    value = form_of(request).get(name)
    return value if isinstance(value, str) else ""


def _back(request: Request, default: str = "/requests") -> RedirectResponse:
    return RedirectResponse(local_path(_text(request, "next"), default), status_code=303)


@dataclass(frozen=True)
class TaskView:
    task: Task
    org: Organization
    title: str
    may_request: bool
    history: list[WaiverRequest]

    @property
    def pending(self) -> WaiverRequest | None:
        return next((item for item in self.history if item.state == "pending"), None)


async def _load_task(request: Request, viewer: Viewer, task_id: int) -> TaskView:
    desk = desk_of(request)

    def load(session: Session) -> TaskView:
        try:
            task = ledger.task_by_id(session, task_id)
        except NotFound:
            raise HTTPException(404) from None
        org = session.get(Organization, task.org)
        if org is None:
            raise HTTPException(404)
        return TaskView(
            task,
            org,
            ledger.task_name(session, desk.profiles, task),
            requests.may_request(viewer.scope, task, org),
            requests.of_task(session, task_id),
        )

    return await desk.run(load)


def _form_page(
    request: Request,
    viewer: Viewer,
    view: TaskView,
    *,
    values: dict[str, str] | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> Response:
    return templates.TemplateResponse(
        request,
        "request_form.html.j2",
        {
            "viewer": viewer,
            "view": view,
            "values": values or {"kind": "extension", "until": "", "reason": ""},
            "problems": problems or [],
            "kinds": requests.KIND_LABELS,
            "states": requests.STATE_LABELS,
            "channels": audit.CHANNEL_LABELS,
        },
        status_code=status,
    )


async def _request_form(request: Request, viewer: Viewer) -> Response:
    view = await _load_task(request, viewer, row_id(request, "task_id"))
    if not view.may_request:
        return await refuse(request, viewer, "request")
    return _form_page(request, viewer, view)


async def _ask(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    task_id = row_id(request, "task_id")
    values = {name: _text(request, name).strip() for name in ("kind", "until", "reason")}
    until: dt.date | None = None
    problems: list[str] = []
    if values["kind"] == "extension":
        try:
            until = instants.parse_day(values["until"])
        except instants.InstantError as error:
            problems.append(f"新的期限：{error}")

    def ask(session: Session) -> None:
        requests.ask(
            session,
            desk.profiles,
            task_id,
            scope=viewer.scope,
            kind=values["kind"],
            until=until,
            reason=values["reason"],
            actor=viewer.actor,
            now=desk.now(),
        )

    if not problems:
        try:
            await desk.run(ask)
        except requests.Refused:
            return await refuse(request, viewer, "request")
        except NotFound:
            raise HTTPException(404) from None
        except LedgerError as error:
            problems = error.problems
        else:
            return RedirectResponse("/requests", status_code=303)
    view = await _load_task(request, viewer, task_id)
    if not view.may_request:
        return await refuse(request, viewer, "request")
    return _form_page(request, viewer, view, values=values, problems=problems, status=422)


async def _decision(request: Request, viewer: Viewer, verb: str) -> Response:
    desk = desk_of(request)
    request_id = row_id(request, "request_id")
    note = _text(request, "note")

    def decide(session: Session) -> None:
        now = desk.now()
        if verb == "approve":
            requests.approve(
                session, desk.profiles, request_id, scope=viewer.scope, actor=viewer.actor, now=now, note=note
            )
        elif verb == "reject":
            requests.reject(session, request_id, scope=viewer.scope, actor=viewer.actor, now=now, note=note)
        else:
            requests.withdraw(session, request_id, scope=viewer.scope, actor=viewer.actor, now=now)

    try:
        await desk.run(decide)
    except requests.Refused:
        return await refuse(request, viewer, verb)
    except NotFound:
        raise HTTPException(404) from None
    except LedgerError as error:
        return await _list_page(request, viewer, problems=error.problems, status=422)
    return _back(request)


async def _approve(request: Request, viewer: Viewer) -> Response:
    return await _decision(request, viewer, "approve")


async def _reject(request: Request, viewer: Viewer) -> Response:
    return await _decision(request, viewer, "reject")


async def _withdraw(request: Request, viewer: Viewer) -> Response:
    return await _decision(request, viewer, "withdraw")


async def _list_page(
    request: Request, viewer: Viewer, *, problems: list[str] | None = None, status: int = 200
) -> Response:
    desk = desk_of(request)

    def load(session: Session) -> tuple[list[requests.Listed], list[requests.Listed]]:
        decidable = requests.decidable(session, desk.profiles, viewer.scope)
        return decidable, requests.asked_by(session, desk.profiles, viewer.member)

    decidable, own = await desk.run(load)
    return templates.TemplateResponse(
        request,
        "requests.html.j2",
        {
            "viewer": viewer,
            "decidable": decidable,
            "own": own,
            "problems": problems or [],
            "kinds": requests.KIND_LABELS,
            "states": requests.STATE_LABELS,
            "limit": requests.LIST_LIMIT,
            "next": "/requests",
        },
        status_code=status,
    )


async def _list(request: Request, viewer: Viewer) -> Response:
    return await _list_page(request, viewer)


ROUTES = [
    Route("/tasks/{task_id}/request", signed_in(_request_form), methods=["GET"]),
    Route("/tasks/{task_id}/request", signed_in(_ask), methods=["POST"]),
    Route("/requests", signed_in(_list), methods=["GET"]),
    Route("/requests/{request_id}/approve", signed_in(_approve), methods=["POST"]),
    Route("/requests/{request_id}/reject", signed_in(_reject), methods=["POST"]),
    Route("/requests/{request_id}/withdraw", signed_in(_withdraw), methods=["POST"]),
]
