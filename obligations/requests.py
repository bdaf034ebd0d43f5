"""Extension and exemption requests (延期、免办申请): a branch asks, the parent's 组织员 decides.

The secretary (whoever records for the task's organization, obligations/scope.py) asks for a new due date or an
exemption with a reason; a supervisor of a subtree strictly above the organization approves — which grants the
waiver through `ledger.waive`, with every rule of `obligations waive` (the ≤1-year postponement of a term
election, 《中国共产党基层组织选举工作条例》第三条) — or rejects with a note; the requester may withdraw a pending
request. A task has at most one pending request: the database keeps the first of two asked at the same moment
(a partial unique index). Both steps keep who, when, through which channel and from where, and are written to
the audit log (`request`, `decide`). Command-line operators act with `scope=None` (they hold the server).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from calendars.model import Profile
from obligations import audit, ledger, tables
from obligations.errors import LedgerError, NotFound, UserError
from obligations.models import Organization, Task, Waiver, WaiverRequest
from obligations.scope import Scope

KIND_LABELS = {"extension": "延期", "exemption": "免办"}
STATE_LABELS = {"pending": "待审批", "approved": "已批准", "rejected": "未批准", "withdrawn": "已撤回"}
LIST_LIMIT = 200


class Refused(UserError):
    """The actor may not do this (outside their scope); the web answers 403, the CLI exits 7."""

    exit_code = 7


@dataclass(frozen=True)
class Listed:
    """A request with what a page shows beside it."""

    request: WaiverRequest
    task: Task
    org: Organization
    title: str


def may_request(scope: Scope, task: Task, org: Organization) -> bool:
    """Who records for an organization's task asks for it; a member's own duty (学时 …) is asked for by the
    organization that records for it, not by the member."""
    if task.subject_kind == "org":
        return scope.records(task, org)
    return scope.sees_org(org)


def _task_and_org(session: Session, task_id: int) -> tuple[Task, Organization]:
    task = ledger.task_by_id(session, task_id)
    org = session.get(Organization, task.org)
    if org is None:
        raise NotFound(f"任务 {task_id} 所属的组织 {task.org} 不存在。")
    return task, org


def pending_of(session: Session, task_id: int) -> WaiverRequest | None:
    return session.exec(
        select(WaiverRequest).where(
            col(WaiverRequest.task_id) == task_id, col(WaiverRequest.state) == "pending"
        )
    ).first()


def _already(task_id: int) -> LedgerError:
    return LedgerError([f"任务 {task_id} 已有一份待审批的申请，请等待上级审批或先撤回。"])


def ask(
    session: Session,
    profiles: Mapping[str, Profile],
    task_id: int,
    *,
    scope: Scope,
    kind: str,
    until: dt.date | None,
    reason: str,
    actor: audit.Actor,
    now: dt.datetime,
) -> WaiverRequest:
    """A branch's request; the same checks as the waiver it asks for (the approval aside)."""
    task, org = _task_and_org(session, task_id)
    if not may_request(scope, task, org):
        raise Refused("您无权为此任务申请延期或免办。")
    if kind not in KIND_LABELS:
        raise LedgerError(["请选择申请延期还是免办。"])
    exempt = kind == "exemption"
    problems = ledger.waiver_problems(
        session, profiles, task, until=None if exempt else until, reason=reason, exempt=exempt
    )
    if problems:
        raise LedgerError(problems)
    if pending_of(session, task_id) is not None:
        raise _already(task_id)
    request = WaiverRequest(
        task_id=task_id,
        kind=kind,
        until=None if exempt else until,
        reason=reason.strip(),
        state="pending",
        requested_by=scope.member,
        requested_at=now,
        requested_via=actor.channel,
        requested_from=actor.address,
    )
    session.add(request)
    try:
        session.flush()
    except IntegrityError:
        # Another request for the task, asked at the same moment, was stored first (the partial unique index):
        # nothing of this one is kept (it has written nothing else yet).
        session.rollback()
        raise _already(task_id) from None
    detail = f"{KIND_LABELS[kind]}{f' 至 {until}' if until and not exempt else ''}：{request.reason}"
    audit.log(session, actor, "request", at=now, target=f"task:{task_id}", detail=detail)
    return request


def _pending(session: Session, request_id: int) -> tuple[WaiverRequest, Task, Organization]:
    request = session.get(WaiverRequest, request_id)
    if request is None:
        raise NotFound(f"没有编号为 {request_id} 的申请。")
    task, org = _task_and_org(session, request.task_id)
    return request, task, org


def _not_pending(request: WaiverRequest) -> LedgerError:
    return LedgerError([f"申请 {request.id} {STATE_LABELS.get(request.state, request.state)}，不能再办理。"])


def _decider(session: Session, scope: Scope | None, request: WaiverRequest, org: Organization) -> None:
    if scope is None:
        return  # the server's operator on the command line
    if not scope.decides(org):
        raise Refused("此申请须由上级党组织审批，您无权审批。")
    if request.requested_by == scope.member:
        raise Refused("不能审批自己提出的申请。")


def _decided(
    request: WaiverRequest, state: str, actor: audit.Actor, note: str | None, now: dt.datetime
) -> None:
    request.state = state
    request.decided_by = actor.who or "?"
    request.decided_at = now
    request.decided_via = actor.channel
    request.decided_from = actor.address
    request.decision_note = note.strip() if note and note.strip() else None


def approve(
    session: Session,
    profiles: Mapping[str, Profile],
    request_id: int,
    *,
    scope: Scope | None,
    actor: audit.Actor,
    now: dt.datetime,
    note: str | None = None,
    approved_by: str | None = None,
) -> Waiver:
    """Grant a pending request through `ledger.waive` (its rules apply as on the command line). The waiver's
    approver is the deciding member (name and id), or `approved_by` for the command line."""
    request, task, org = _pending(session, request_id)
    _decider(session, scope, request, org)
    if request.state != "pending":
        raise _not_pending(request)
    _note_problem(note)
    approver = f"{scope.name}（{scope.member}）" if scope is not None else approved_by
    waiver = ledger.waive(
        session,
        profiles,
        task,
        until=request.until,
        reason=request.reason,
        approved_by=approver,
        exempt=request.kind == "exemption",
        now=now,
        actor=actor,
        request_id=request.id,
    )
    _decided(request, "approved", actor, note, now)
    session.add(request)
    audit.log(session, actor, "decide", at=now, target=f"request:{request_id}", detail="approved")
    return waiver


def reject(
    session: Session,
    request_id: int,
    *,
    scope: Scope | None,
    actor: audit.Actor,
    now: dt.datetime,
    note: str,
) -> WaiverRequest:
    """Turn a pending request down; the note tells the branch why."""
    request, _task, org = _pending(session, request_id)
    _decider(session, scope, request, org)
    if request.state != "pending":
        raise _not_pending(request)
    if not note.strip():
        raise LedgerError(["不批准须说明理由。"])
    _note_problem(note)
    _decided(request, "rejected", actor, note, now)
    session.add(request)
    audit.log(
        session, actor, "decide", at=now, target=f"request:{request_id}", detail=f"rejected：{note.strip()}"
    )
    return request


def withdraw(
    session: Session, request_id: int, *, scope: Scope, actor: audit.Actor, now: dt.datetime
) -> WaiverRequest:
    """The requester takes a pending request back."""
    request, _task, _org = _pending(session, request_id)
    if request.requested_by != scope.member:
        raise Refused("只有申请人可以撤回申请。")
    if request.state != "pending":
        raise _not_pending(request)
    _decided(request, "withdrawn", actor, None, now)
    session.add(request)
    audit.log(session, actor, "request", at=now, target=f"request:{request_id}", detail="withdrawn")
    return request


def _note_problem(note: str | None) -> None:
    problem = ledger.text_problem("意见", WaiverRequest.decision_note, note, multiline=True)
    if problem:
        raise LedgerError([problem])


# ---------------------------------------------------------------------------------------------------------
# Lists


def _listed(
    session: Session, profiles: Mapping[str, Profile], condition: ColumnElement[bool], limit: int
) -> list[Listed]:
    rows = session.exec(
        select(WaiverRequest, Task, Organization)
        .join(Task, col(Task.id) == col(WaiverRequest.task_id))
        .join(Organization, col(Organization.code) == col(Task.org))
        .where(condition)
        .order_by(col(WaiverRequest.requested_at).desc(), col(WaiverRequest.id).desc())
        .limit(limit)
    ).all()
    return [
        Listed(request, task, org, ledger.task_name(session, profiles, task)) for request, task, org in rows
    ]


def _below(roots: Sequence[tuple[str, str]]) -> ColumnElement[bool]:
    """Organizations strictly below any of the supervised roots (code, path)."""
    parts = [
        and_(col(Organization.path).startswith(path, autoescape=True), col(Organization.path) != path)
        for _code, path in roots
    ]
    return or_(*parts) if parts else false()


def decidable(
    session: Session, profiles: Mapping[str, Profile], scope: Scope, limit: int = LIST_LIMIT
) -> list[Listed]:
    """Pending requests the member may decide (of organizations strictly below what they supervise), the
    member's own requests left out."""
    condition = and_(
        col(WaiverRequest.state) == "pending",
        col(WaiverRequest.requested_by) != scope.member,
        _below(scope.supervised),
    )
    return _listed(session, profiles, condition, limit)


def asked_by(
    session: Session, profiles: Mapping[str, Profile], member: str, limit: int = LIST_LIMIT
) -> list[Listed]:
    """The member's own requests, newest first."""
    return _listed(session, profiles, col(WaiverRequest.requested_by) == member, limit)


def pending_in(
    session: Session, profiles: Mapping[str, Profile], root: Organization, limit: int = LIST_LIMIT
) -> list[Listed]:
    """Pending requests of `root`'s subtree."""
    condition = and_(col(WaiverRequest.state) == "pending", tables.subtree(root.path))
    return _listed(session, profiles, condition, limit)


def of_task(session: Session, task_id: int) -> list[WaiverRequest]:
    """Every request of a task, oldest first (the task's history)."""
    return list(
        session.exec(
            select(WaiverRequest)
            .where(col(WaiverRequest.task_id) == task_id)
            .order_by(col(WaiverRequest.requested_at), col(WaiverRequest.id))
        ).all()
    )


def every(
    session: Session, profiles: Mapping[str, Profile], *, state: str | None, limit: int = LIST_LIMIT
) -> list[Listed]:
    """Requests in any organization (the command line), newest first."""
    condition = col(WaiverRequest.state) == state if state else col(WaiverRequest.id).is_not(None)
    return _listed(session, profiles, condition, limit)
