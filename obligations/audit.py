"""Who did what: the actor of every write, and the audit log of sign-ins, refusals and writes (等保 2.0 asks
for at least six months; `prune` never deletes younger events)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, or_
from sqlmodel import Session, col, delete, select

from obligations.models import AuditEvent, Member, Organization
from obligations.tables import column_width

KEEP_DAYS = 183  # six months at least

CHANNELS = ("cli", "web")

# What people read for each action, channel and outcome (the `audit` command and the desk's page).
ACTION_LABELS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "refused": "拒绝访问",
    "link": "打开提醒链接",
    "link_refused": "提醒链接无效",
    "record": "登记台账",
    "undo": "撤销台账",
    "appraisal": "登记民主评议等次",
    "dues": "登记党费交纳",
    "waive": "缓办/免办",
    "request": "申请缓办/免办",
    "decide": "审批缓办/免办",
    "upload": "上传附件",
    "user_add": "开通账号",
    "user_passwd": "重设密码",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "feed_create": "开通日历订阅",
    "feed_revoke": "停用日历订阅",
    "feed_refused": "日历订阅链接无效",
}
CHANNEL_LABELS = {"cli": "命令行", "web": "工作台"}
OUTCOME_LABELS = {"ok": "成功", "refused": "拒绝", "failed": "失败"}


@dataclass(frozen=True)
class Actor:
    """Who acts: a member id on the web, the operating-system user on the command line; `address` is the
    client's address (web) or the host name (cli)."""

    who: str | None
    channel: str
    address: str | None = None

    def __post_init__(self) -> None:
        if self.channel not in CHANNELS:
            raise ValueError(f"unknown channel {self.channel!r}")


def _clip(value: str | None, column: object) -> str | None:
    width = column_width(column)
    if value is None or width is None:
        return value
    return value if len(value) <= width else value[: width - 1] + "…"


def log(
    session: Session,
    actor: Actor,
    action: str,
    *,
    at: dt.datetime,
    target: str | None = None,
    outcome: str = "ok",
    detail: str | None = None,
) -> AuditEvent:
    """Add one event to the session (it commits with the write it describes, or alone for a refusal)."""
    event = AuditEvent(
        at=at,
        actor=_clip(actor.who, AuditEvent.actor),
        channel=actor.channel,
        address=_clip(actor.address, AuditEvent.address),
        action=action,
        target=_clip(target, AuditEvent.target),
        outcome=outcome,
        detail=_clip(detail, AuditEvent.detail),
    )
    session.add(event)
    return event


def events(
    session: Session,
    *,
    since: dt.datetime | None = None,
    member: str | None = None,
    limit: int = 1000,
    visible: ColumnElement[bool] | None = None,
) -> Sequence[AuditEvent]:
    """The newest events first, bounded by `limit`; `visible` narrows them to what a reader may see."""
    query = select(AuditEvent)
    if visible is not None:
        query = query.where(visible)
    if since is not None:
        query = query.where(col(AuditEvent.at) >= since)
    if member is not None:
        query = query.where(col(AuditEvent.actor) == member)
    return session.exec(
        query.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
    ).all()


def seen_under(paths: Sequence[str]) -> ColumnElement[bool]:
    """The events a supervisor of the subtrees at `paths` reads: those of the members of the subtrees, and the
    refusals of whoever is no member at all (a request without a session, a mistyped id at the sign-in)."""
    if not paths:
        return false()
    below = or_(*(col(Organization.path).startswith(path, autoescape=True) for path in paths))
    members = (
        select(col(Member.id)).join(Organization, col(Organization.code) == col(Member.org)).where(below)
    )
    strangers = or_(col(AuditEvent.actor).is_(None), col(AuditEvent.actor).not_in(select(col(Member.id))))
    return or_(col(AuditEvent.actor).in_(members), and_(col(AuditEvent.outcome) == "refused", strangers))


def prune(session: Session, *, now: dt.datetime, keep_days: int = KEEP_DAYS) -> int:
    """Delete events older than `keep_days` (never fewer than six months)."""
    cutoff = now - dt.timedelta(days=max(keep_days, KEEP_DAYS))
    result = session.exec(delete(AuditEvent).where(col(AuditEvent.at) < cutoff))
    return int(result.rowcount or 0)
