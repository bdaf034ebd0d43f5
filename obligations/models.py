"""The tables as Python objects: SQLModel classes mapped onto the schema in `obligations.tables`.

The schema (columns, types, keys, indexes) is defined once, there; a class here gives each column its Python type
and, where it has one, its default, for code that reads and writes rows as objects. `Row` binds each annotated
field to the column of the same name and refuses at import a field without a column, a column without a field, a
field that may be None on a column that may not (or the reverse) and a default that differs from the column's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Table
from sqlmodel import Field, SQLModel
from sqlmodel.main import SQLModelMetaclass

from obligations import tables


class _OnTable(SQLModelMetaclass):
    def __new__(
        cls, name: str, bases: tuple[type[Any], ...], namespace: dict[str, Any], **kwargs: Any
    ) -> Any:
        table = namespace.get("__table__")
        if isinstance(table, Table):
            fields = set(namespace.get("__annotations__", {}))
            if fields != set(table.c.keys()):
                raise TypeError(
                    f"{name}: fields and columns of {table.name} differ: "
                    f"{sorted(fields.symmetric_difference(table.c.keys()))}"
                )
            annotations = namespace["__annotations__"]
            for field in fields:
                column = table.c[field]
                optional = "None" in str(annotations[field]).split("|")[-1]
                if not column.primary_key and optional != column.nullable:
                    raise TypeError(
                        f"{name}.{field}: {annotations[field]}, column nullable={column.nullable}"
                    )
                default = namespace.get(field, PydanticUndefined)
                given = None if default is PydanticUndefined else default
                stored = tables.scalar_default(column)
                if given != stored:
                    raise TypeError(f"{name}.{field}: default {given!r}, column default {stored!r}")
                namespace[field] = Field(default=default, sa_column=column)
        return super().__new__(cls, name, bases, namespace, **kwargs)


class Row(SQLModel, metaclass=_OnTable):
    """A table's rows as objects; subclasses name `__table__` and are declared with `table=True`."""


class Organization(Row, table=True):
    __table__ = tables.organization

    code: str
    name: str
    kind: str
    parent: str | None = None
    # "/jg/jg.b1/": the codes from the root down; a subtree is every path that starts with its root's path.
    path: str
    profile: str | None = None  # as declared; None inherits the parent's
    effective_profile: str
    elected_on: dt.date | None = None
    term_years: int | None = None
    # The date from which `effective_profile` applies (profile_history holds the earlier ones).
    profile_since: dt.date | None = None
    # 跟踪起始: the period (of each cadence) containing this date is the first owed; None = always tracked.
    tracked_from: dt.date | None = None
    # The environment variable holding the key of the organization's WeCom group robot (群机器人), which gets
    # the organization's summary; the key itself is never stored.
    wecom_robot_env: str | None = None
    active: bool = True  # pruned organizations stay, inactive, so that their history can still be reported
    dirty: bool = True  # changed since it was last planned


class ProfileHistory(Row, table=True):
    """Which duty calendar an organization followed from when: a duty falling due on or after `since` is owed
    under `profile` until the next row's `since` (the first row has no `since`: from the start)."""

    __table__ = tables.profile_history

    id: int | None = None
    org: str
    profile: str
    since: dt.date | None = None


class Member(Row, table=True):
    __table__ = tables.member

    id: str
    name: str
    org: str
    status: str  # full | probationary
    joined_on: dt.date | None = None
    probation_start: dt.date | None = None
    full_on: dt.date | None = None
    staff_since: dt.date | None = None
    email: str | None = None
    wecom: str | None = None
    mobile: str | None = None
    active: bool = True
    # Facts the member workflows derive (obligations/probation.py, appraisal.py, dues.py) and the planner
    # expands into per-member duties: an extended probation's new end (延长预备期), the first month of the
    # latest run of six unpaid months (自行脱党 procedure), the day a second consecutive 不合格 was decided.
    probation_until: dt.date | None = None
    dues_lapsed_from: dt.date | None = None
    unqualified_on: dt.date | None = None


class Position(Row, table=True):
    __table__ = tables.position

    id: int | None = None
    org: str
    role: str
    member: str | None = None
    since: dt.date | None = None
    vacant_since: dt.date | None = None


class Task(Row, table=True):
    """One occurrence of a rule for one subject in one period, persisted."""

    __table__ = tables.task

    id: int | None = None
    org: str
    rule: str
    subject: str  # org code, or member id for per-member duties
    subject_kind: str  # org | member | officer
    period: str
    period_start: dt.date
    due: dt.date
    original_due: dt.date | None = None  # set when an approved extension moved the due date
    required_count: float = 1
    done_count: float = 0
    unit: str = "times"
    status: str = "open"  # open | done | waived | exempt
    responsible: str  # the role that holds the duty
    assignee: str | None = None  # member id resolved from the role
    done_on: dt.date | None = None
    filed_on: dt.date | None = (
        None  # when the record was filed with the parent (报上级党组织备案), if its rule asks
    )
    # The day the task's next reminder step falls due; the sweep reads tasks by this index only, so a sweep
    # with nothing due costs the same whatever the number of tasks. None: no step left.
    remind_on: dt.date | None = None

    def status_on(self, day: dt.date) -> str:
        """The status a person reads on `day` (a key of TASK_STATUS_LABELS): an open task past its due date
        is overdue."""
        return "overdue" if self.status == "open" and self.due < day else self.status


class PlanState(Row, table=True):
    """What the planner last did, so that `due` re-plans only when something changed."""

    __table__ = tables.plan_state

    id: int = 1
    planned_from: dt.date | None = None
    planned_to: dt.date | None = None
    registry_version: int = 0  # bumped by every import
    planned_version: int = -1
    dues_checked: str | None = None  # the month dues lapses were last derived for


class Completion(Row, table=True):
    """One recorded activity (台账): 时间、地点、方式、参加人员和活动内容. It may satisfy several tasks."""

    __table__ = tables.completion

    id: int | None = None
    org: str
    held_on: dt.date
    place: str | None = None
    form: str | None = None  # 方式: 集中学习、专题研讨、线上 …
    host: str | None = None  # 主持人
    topic: str | None = None
    note: str | None = None
    hours: float | None = None
    attendee_count: int | None = None  # when attendance is given as a number, not by name
    lecturer: str | None = None
    # Same activity recorded twice (same tasks, date, place, topic, attendees) is recognised by this.
    fingerprint: str
    recorded_at: dt.datetime
    undone_at: dt.datetime | None = None
    undo_reason: str | None = None
    # Who recorded and who withdrew it, through which channel (cli, web) and from which address.
    recorded_by: str | None = None
    recorded_via: str | None = None
    recorded_from: str | None = None
    undone_by: str | None = None
    undone_via: str | None = None
    undone_from: str | None = None


class CompletionTask(Row, table=True):
    """What a completion counts toward: a task, and how much (1 meeting, 4 学时)."""

    __table__ = tables.completion_task

    completion_id: int
    task_id: int
    amount: float = 1


class Attendance(Row, table=True):
    __table__ = tables.attendance

    completion_id: int
    member: str
    present: bool = True
    reason: str | None = None


class Attachment(Row, table=True):
    """Minutes or photos, copied into the attachments folder and named by task."""

    __table__ = tables.attachment

    id: int | None = None
    completion_id: int
    path: str  # relative to the attachments folder
    original_name: str
    sha256: str
    size: int


class Waiver(Row, table=True):
    """An approved extension (the due date moves) or an exemption (the task does not apply)."""

    __table__ = tables.waiver

    id: int | None = None
    task_id: int
    kind: str  # extension | exemption
    until: dt.date | None = None
    reason: str
    approved_by: str | None = None
    previous_due: dt.date
    granted_at: dt.datetime
    granted_via: str | None = None  # cli | web
    granted_from: str | None = None
    request_id: int | None = None


class ProbationDecision(Row, table=True):
    """The 支部大会's decision on a probationary member (党章 第七条): 转正, 延长预备期 or 取消预备党员资格."""

    __table__ = tables.probation_decision

    id: int | None = None
    member: str
    org: str  # the branch whose 支部大会 decided
    decided_on: dt.date
    outcome: str  # full | extended | cancelled
    probation_end: dt.date  # the end of the probation the decision concerned
    extended_until: dt.date | None = None
    completion_id: int | None = None
    recorded_at: dt.datetime


class MemberAppraisal(Row, table=True):
    """One member's grade in the yearly 民主评议党员 (003 二(二)4): 优秀、合格、基本合格、不合格."""

    __table__ = tables.member_appraisal

    id: int | None = None
    member: str
    org: str  # the member's branch
    year: int
    grade: str  # excellent | qualified | basically_qualified | unqualified
    decided_on: dt.date
    recorded_at: dt.datetime


class DuesPayment(Row, table=True):
    """党费: one member paid for one month (recorded by the branch's 组织委员)."""

    __table__ = tables.dues_payment

    id: int | None = None
    member: str
    org: str  # the member's branch
    month: str  # 2026-11
    recorded_at: dt.datetime


class Reminder(Row, table=True):
    """One escalation step of one task for one person: idempotent on (task, step, recipient) for a given
    deadline (an approved extension starts the ladder again for the new date)."""

    __table__ = tables.reminder

    id: int | None = None
    task_id: int
    step: str
    due: dt.date
    recipient: str
    note: str | None = None
    created_at: dt.datetime
    pending: bool = (
        False  # recorded by the sweep in progress, not yet in a digest (never true after a commit)
    )


class OutboxMessage(Row, table=True):
    """A digest to one person on one channel, or an organization's summary to its group robot (`org` set,
    no `recipient`): the unit that is claimed, sent, retried or failed."""

    __table__ = tables.outbox_message

    id: int | None = None
    recipient: str | None = None
    recipient_name: str = ""
    org: str | None = None
    channel: str
    address: str
    subject: str
    text: str
    html: str | None = None
    markdown: str | None = None
    mention_mobiles: str | None = None  # comma-separated
    card: str | None = None  # a WeCom application message's textcard (JSON of notifiers.base.TextCard)
    state: str = "pending"  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime
    claimed_at: dt.datetime | None = None
    claimed_by: str | None = None
    sent_at: dt.datetime | None = None
    last_error: str | None = None
    failure_reported: bool = False  # a permanent failure is told to the organization's secretary once
    created_at: dt.datetime


class OutboxItem(Row, table=True):
    """Which reminders a digest carries."""

    __table__ = tables.outbox_item

    message_id: int
    reminder_id: int


class DeliveryAttempt(Row, table=True):
    """Every attempt to send a message: when, where, how it went, how long it took."""

    __table__ = tables.delivery_attempt

    id: int | None = None
    message_id: int
    started_at: dt.datetime
    channel: str
    address: str
    outcome: str  # sent | temporary | permanent
    error: str | None = None
    duration_ms: float = 0


class Sweep(Row, table=True):
    """A log of sweeps, for `obligations status`: no `finished_at` and a worker that is gone = interrupted."""

    __table__ = tables.sweep

    id: int | None = None
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    worker: str | None = None  # hostname:pid of the process that ran it
    stopped: bool = False  # asked to stop (SIGTERM) before the outbox was empty: the rest stays queued
    as_of: dt.datetime
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    failed: int = 0
    error: str | None = None


class WaiverRequest(Row, table=True):
    """An extension or exemption asked for by a branch (secretary) and decided by the parent's 组织员."""

    __table__ = tables.waiver_request

    id: int | None = None
    task_id: int
    kind: str  # extension | exemption
    until: dt.date | None = None  # the new due date asked for (extension)
    reason: str
    state: str = "pending"  # pending | approved | rejected | withdrawn
    requested_by: str
    requested_at: dt.datetime
    requested_via: str
    requested_from: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decided_via: str | None = None
    decided_from: str | None = None
    decision_note: str | None = None


class Account(Row, table=True):
    """A registry member who may sign in to the desk. Roles are never stored: they come from the registry."""

    __table__ = tables.account

    member: str
    password_hash: str | None = None  # argon2; None: WeCom sign-in only
    disabled: bool = False
    failed_logins: int = 0  # consecutive failures since the last success
    locked_until: dt.datetime | None = None
    created_at: dt.datetime
    password_changed_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None


class WebSession(Row, table=True):
    """A signed-in browser: the cookie holds a random id, the table only its hash (revocable, idle timeout)."""

    __table__ = tables.web_session

    id_hash: str
    member: str
    csrf_token: str
    method: str  # password | wecom
    created_at: dt.datetime
    last_seen: dt.datetime
    address: str | None = None
    revoked_at: dt.datetime | None = None


class FeedToken(Row, table=True):
    """A member's calendar subscription: the URL carries a random token, the table only its hash."""

    __table__ = tables.feed_token

    token_hash: str
    member: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class AppSecret(Row, table=True):
    """Keys the application generates once and every process shares (the signing key of reminder links)."""

    __table__ = tables.app_secret

    name: str
    value: str
    created_at: dt.datetime


class AuditEvent(Row, table=True):
    """Every sign-in, refusal and write: who, when, through which channel, from where (kept ≥ 6 months)."""

    __table__ = tables.audit_event

    id: int | None = None
    at: dt.datetime
    actor: str | None = None  # member id (web) or OS user (cli); None: unknown
    channel: str  # cli | web
    address: str | None = None
    action: str  # login | login_failed | logout | refused | record | undo | …
    target: str | None = None  # task:64, completion:12, org:jg.b1, /org/x
    outcome: str  # ok | refused | failed
    detail: str | None = None
