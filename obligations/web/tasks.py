"""A task (`/tasks/{id}`): what the duty requires, its history, and the record form built from the rule's
evidence declaration; recording (`POST /tasks/{id}/record`, fields named like the CLI's options), withdrawing
a record (`POST /completions/{id}/undo`) and its files (`GET /files/{id}`).

The checks are the ledger's (obligations/ledger.py), the same the CLI runs: each problem is shown beside its
field and nothing is saved. Uploads are accepted by content (attachments.kind_of against `[web]
allowed_types`) and size (`[web] upload_max_mb`), streamed to a private temporary folder and copied by the
ledger into the attachments folder under generated names.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Message

from calendars.model import Evidence
from obligations import attachments, audit, ledger, requests, taskview
from obligations.errors import LedgerError, UserError
from obligations.models import Attachment, Completion, Organization, Task, WaiverRequest
from obligations.web.app import Desk, desk_of, error_page
from obligations.web.auth import FORM_LIMITS, Viewer, client_address, form_of, refuse, signed_in
from obligations.web.render import templates

LARGEST_ID = 2**31 - 1  # ids are 32-bit on both backends (cli/app.py RowId)
FIELDS = ("on", "place", "form", "host", "lecturer", "attendee", "absent", "topic", "hours", "note")
_OPTION = re.compile(r"（--[^）]*）")  # the CLI's option named in a ledger message: not for the web


def row_id(text: str) -> int:
    """An id from a URL: 1 … 2**31-1 in plain digits, anything else is a page that does not exist."""
    if not text.isascii() or not text.isdigit() or len(text) > 10 or not 1 <= int(text) <= LARGEST_ID:
        raise HTTPException(404)
    return int(text)


def for_web(problem: str) -> str:
    return _OPTION.sub("", problem)


@dataclass
class FormState:
    """What the person typed, kept when a record is refused, and the problems beside each field."""

    values: dict[str, list[str]] = field(default_factory=dict)
    problems: dict[str | None, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return "\n".join(self.values.get(name, []))

    def has(self, name: str, value: str) -> bool:
        return value in self.values.get(name, [])

    def add(self, error: UserError, default: str | None = None) -> None:
        problems = error.problems if isinstance(error, LedgerError) else [str(error)]
        for problem in problems:
            where = getattr(problem, "field", None) or default
            self.problems.setdefault(where, []).append(for_web(problem))


# ---------------------------------------------------------------------------------------------------
# Loading and scope


def _load_task(session: Session, task_id: int) -> tuple[Task, Organization] | None:
    task = session.get(Task, task_id)
    if task is None:
        return None
    org = session.get(Organization, task.org)
    return (task, org) if org is not None else None


async def _page(
    request: Request, viewer: Viewer, task_id: int, form: FormState, *, status: int = 200, notice: str = ""
) -> Response:
    desk = desk_of(request)
    as_of = desk.today()

    def load(session: Session) -> tuple[taskview.TaskView, bool, bool, list[WaiverRequest]] | None:
        found = _load_task(session, task_id)
        if found is None:
            return None
        task, org = found
        if not viewer.scope.sees_task(task, org):
            return None
        view = taskview.task_view(session, desk.profiles, task, as_of=as_of)
        asks = task.status == "open" and requests.may_request(viewer.scope, task, org)
        return view, viewer.scope.records(task, org), asks, requests.of_task(session, task_id)

    loaded = await desk.run(load)
    if loaded is None:
        return await _refuse_or_404(request, viewer, task_id)
    view, records, asks, asked = loaded
    shown = set(_shown_fields(view))
    for where in [
        where for where in form.problems if where not in shown and not str(where).startswith("undo-")
    ]:
        form.problems.setdefault(None, []).extend(form.problems.pop(where))
    return templates.TemplateResponse(
        request,
        "task.html.j2",
        {
            "viewer": viewer,
            "view": view,
            "records": records,
            "may_request": asks,
            "history": asked,
            "kinds": requests.KIND_LABELS,
            "states": requests.STATE_LABELS,
            "channels": audit.CHANNEL_LABELS,
            "form": form,
            "notice": notice,
            "today": as_of,
            "evidence_label": _evidence_label,
            "allowed": _allowed_text(desk),
            "max_mb": desk.config.web.upload_max_mb,
            "accept": ",".join(
                suffix for kind in desk.config.web.allowed_types for suffix in attachments.TYPES[kind][1]
            ),
        },
        status_code=status,
    )


async def _refuse_or_404(request: Request, viewer: Viewer, task_id: int) -> Response:
    """A task that does not exist is 404; one outside the viewer's scope is refused and logged."""
    exists = await desk_of(request).run(lambda session: session.get(Task, task_id) is not None)
    if not exists:
        raise HTTPException(404)
    return await refuse(request, viewer, f"task {task_id}")


def _shown_fields(view: taskview.TaskView) -> list[str]:
    """The form's fields for this task (the template shows these; a problem of another goes on top)."""
    fields = ["on", "place", "form", "host", "topic", "minutes", "note"]
    fields += ["lecturer"] if view.asks_lecturer else []
    fields += ["attendee", "absent"] if view.asks_attendance else []
    fields += ["hours"] if view.asks_hours else []
    return fields


def _evidence_label(name: str) -> str:
    return Evidence(name).label


def _allowed_text(desk: Desk) -> str:
    return "、".join(attachments.TYPE_LABELS[kind] for kind in desk.config.web.allowed_types)


# ---------------------------------------------------------------------------------------------------
# Pages


_NOTICES = {
    "saved": "已登记台账记录 {id}。",
    "duplicate": "这条记录已登记过（台账记录 {id}），未重复计数。",
    "undone": "已撤销台账记录 {id}。",
}


async def _task(request: Request, viewer: Viewer) -> Response:
    task_id = row_id(request.path_params["task_id"])
    notice = ""
    for key, text in _NOTICES.items():
        value = request.query_params.get(key, "")
        if value.isdigit() and len(value) <= 10:
            notice = text.format(id=value)
    return await _page(request, viewer, task_id, FormState(), notice=notice)


async def _record(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    task_id = row_id(request.path_params["task_id"])
    posted = form_of(request)
    state = FormState({name: [str(v) for v in posted.getlist(name) if isinstance(v, str)] for name in FIELDS})
    allowed = await desk.run(lambda session: _allowed(session, viewer, task_id))
    if allowed is None:
        raise HTTPException(404)
    if not allowed:
        return await refuse(request, viewer, f"record task {task_id}")
    folder = Path(tempfile.mkdtemp(prefix="obligations-upload-"))
    try:
        minutes = _uploads(desk, posted, folder, state)
        try:
            activity = ledger.activity_from_text(state.values, minutes)
        except LedgerError as error:
            state.add(error)
            activity = None
        if activity is not None and state.problems:  # a refused upload: the rest is checked all the same
            checked = activity

            def check(session: Session) -> list[str]:
                task = session.get(Task, task_id)
                assert task is not None
                return ledger.problems_of(session, desk.profiles, [task], checked, as_of=desk.today())

            problems = await desk.run(check)
            if problems:
                state.add(LedgerError(problems))
        if state.problems or activity is None:
            return await _page(request, viewer, task_id, state, status=422)
        chosen = activity

        def save(session: Session) -> ledger.Recorded:
            task = session.get(Task, task_id)
            assert task is not None
            return ledger.record(
                session,
                desk.profiles,
                [task],
                chosen,
                as_of=desk.today(),
                now=desk.now(),
                attachments_dir=desk.attachments_dir,
                actor=viewer.actor,
            )

        try:
            result = await desk.run(save)
        except UserError as error:
            state.add(error)
            return await _page(request, viewer, task_id, state, status=422)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    key = "duplicate" if result.duplicate else "saved"
    return RedirectResponse(f"/tasks/{task_id}?{key}={result.completion.id}", status_code=303)


def _allowed(session: Session, viewer: Viewer, task_id: int) -> bool | None:
    found = _load_task(session, task_id)
    if found is None:
        return None
    return viewer.scope.records(*found)


def _uploads(desk: Desk, posted: FormData, folder: Path, state: FormState) -> list[Path]:
    """The `minutes` files, each checked by size and content and copied to `folder` under its sanitized name
    (a folder each, so that two files of one name stay apart); problems go beside the field."""
    web = desk.config.web
    limit = web.upload_max_mb * 1024 * 1024
    saved: list[Path] = []
    for index, upload in enumerate(posted.getlist("minutes"), start=1):
        if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
            continue  # a file input left empty
        name = upload.filename or "附件"
        shown = attachments.clean_name(name)
        if upload.size is not None and upload.size > limit:
            state.problems.setdefault("minutes", []).append(
                f"文件“{shown}”超过 {web.upload_max_mb} MB 的上限，未保存。"
            )
            continue
        raw = folder / f"{index}.upload"
        size = 0
        with raw.open("wb") as writer:
            upload.file.seek(0)
            while chunk := upload.file.read(attachments.CHUNK):
                size += len(chunk)
                if size > limit:
                    break
                writer.write(chunk)
        if size > limit:
            state.problems.setdefault("minutes", []).append(
                f"文件“{shown}”超过 {web.upload_max_mb} MB 的上限，未保存。"
            )
            continue
        kind = attachments.kind_of(raw)
        if kind is None or kind not in web.allowed_types:
            state.problems.setdefault("minutes", []).append(
                f"文件“{shown}”的内容不是允许的类型（{_allowed_text(desk)}），未保存。"
            )
            continue
        target = folder / str(index) / attachments.safe_name(name, kind)
        target.parent.mkdir()
        raw.rename(target)
        saved.append(target)
    return saved


async def _undo(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    completion_id = row_id(request.path_params["completion_id"])
    reason = str(form_of(request).get("reason") or "")

    def load(session: Session) -> tuple[int, bool] | None:
        if session.get(Completion, completion_id) is None:
            return None
        owners = taskview.completion_tasks(session, completion_id)
        seen = [(task, org) for task, org in owners if viewer.scope.sees_task(task, org)]
        if not seen:
            return (owners[0][0].id or 0, False) if owners else (0, False)
        task, org = seen[0]
        return task.id or 0, viewer.scope.records(task, org)

    found = await desk.run(load)
    if found is None:
        raise HTTPException(404)
    task_id, allowed = found
    if not allowed:
        return await refuse(request, viewer, f"undo completion {completion_id}")

    def withdraw(session: Session) -> None:
        ledger.undo(session, completion_id, reason, now=desk.now(), actor=viewer.actor)

    try:
        await desk.run(withdraw)
    except UserError as error:
        state = FormState({"reason": [reason]})
        problems = error.problems if isinstance(error, LedgerError) else [str(error)]
        state.problems[f"undo-{completion_id}"] = [for_web(problem) for problem in problems]
        return await _page(request, viewer, task_id, state, status=422)
    return RedirectResponse(f"/tasks/{task_id}?undone={completion_id}", status_code=303)


async def _file(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    attachment_id = row_id(request.path_params["attachment_id"])

    def load(session: Session) -> tuple[Attachment, bool] | None:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            return None
        owners = taskview.completion_tasks(session, attachment.completion_id)
        return attachment, any(viewer.scope.sees_task(task, org) for task, org in owners)

    found = await desk.run(load)
    if found is None:
        raise HTTPException(404)
    attachment, allowed = found
    if not allowed:
        return await refuse(request, viewer, f"file {attachment_id}")
    root = desk.attachments_dir.resolve()
    path = (root / attachment.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404, "附件文件不存在（可能已被移走），请告知管理员。")
    kind = attachments.kind_of(path)
    media_type = attachments.TYPES[kind][0] if kind else "application/octet-stream"

    def logged(session: Session) -> None:
        audit.log(session, viewer.actor, "download", at=desk.now(), target=f"attachment {attachment_id}")

    await desk.run(logged)
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "content-disposition": content_disposition(attachment.original_name),
            "x-content-type-options": "nosniff",
            "cache-control": "private, no-store",
        },
    )


def content_disposition(name: str) -> str:
    """`attachment` with the name for every browser: an ASCII fallback and the UTF-8 name (RFC 5987/6266)."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# ---------------------------------------------------------------------------------------------------
# The record form's body, bounded while it arrives


class _TooLarge(Exception):
    pass


def bounded(endpoint: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """Refuse a body larger than the form can be (`upload_max_mb` for each of its files, and its fields) as
    it arrives, before it is parsed or spooled any further."""

    async def guarded(request: Request) -> Response:
        desk = desk_of(request)
        limit = (desk.config.web.upload_max_mb * FORM_LIMITS["max_files"] + 1) * 1024 * 1024
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return await _too_large(request, desk)
        received = 0

        async def receive() -> Message:
            nonlocal received
            message = await request.receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge
            return message

        try:
            return await endpoint(Request(request.scope, receive))
        except _TooLarge:
            return await _too_large(request, desk)

    return guarded


async def _too_large(request: Request, desk: Desk) -> Response:
    actor = audit.Actor(None, "web", client_address(request))

    def log(session: Session) -> None:
        audit.log(
            session,
            actor,
            "refused",
            at=desk.now(),
            target=f"{request.method} {request.url.path}",
            outcome="refused",
            detail="upload too large",
        )

    await desk.run(log)
    message = f"上传的内容过大：每个文件不超过 {desk.config.web.upload_max_mb} MB，本次提交未保存任何内容。"
    return error_page(request, 413, message)


ROUTES = [
    Route("/tasks/{task_id}", signed_in(_task), methods=["GET"]),
    Route("/tasks/{task_id}/record", bounded(signed_in(_record)), methods=["POST"]),
    Route("/completions/{completion_id}/undo", signed_in(_undo), methods=["POST"]),
    Route("/files/{attachment_id}", signed_in(_file), methods=["GET"]),
]
