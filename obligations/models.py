"""The tables. The database is the source of truth; the calendar model is recomputed from it.

Dates are dates (a deadline is a day in party time); instants, when they appear, are stored in UTC.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

# Organization paths are compared as byte strings (subtree = a range of paths); PostgreSQL's default
# collation would ignore the "/" separators, so the column is pinned to "C" there.
PathString = String(400).with_variant(String(400, collation="C"), "postgresql")


class Organization(SQLModel, table=True):
    __tablename__ = "organization"

    code: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    parent: str | None = Field(default=None, foreign_key="organization.code", index=True, max_length=100)
    # "/jg/jg.b1/": the codes from the root down; a subtree is every path that starts with its root's path.
    path: str = Field(sa_type=PathString, index=True)
    profile: str | None = Field(default=None, max_length=100)  # as declared; None inherits the parent's
    effective_profile: str = Field(max_length=100)
    elected_on: dt.date | None = None
    term_years: int | None = None
    # The date from which `effective_profile` applies (profile_history holds the earlier ones).
    profile_since: dt.date | None = None
    # 跟踪起始: the period (of each cadence) containing this date is the first owed; None = always tracked.
    tracked_from: dt.date | None = None
    # The environment variable holding the key of the organization's WeCom group robot (群机器人), which gets
    # the organization's summary; the key itself is never stored.
    wecom_robot_env: str | None = Field(default=None, max_length=100)
    active: bool = True  # pruned organizations stay, inactive, so that their history can still be reported
    dirty: bool = True  # changed since it was last planned


class ProfileHistory(SQLModel, table=True):
    """Which duty calendar an organization followed from when: a duty falling due on or after `since` is owed
    under `profile` until the next row's `since` (the first row has no `since`: from the start)."""

    __tablename__ = "profile_history"
    __table_args__ = (UniqueConstraint("org", "since"),)

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)
    profile: str = Field(max_length=100)
    since: dt.date | None = None


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: str = Field(primary_key=True, max_length=100)
    name: str = Field(max_length=100)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)
    status: str = Field(max_length=20)  # full | probationary
    joined_on: dt.date | None = None
    probation_start: dt.date | None = None
    full_on: dt.date | None = None
    staff_since: dt.date | None = None
    email: str | None = Field(default=None, max_length=200)
    wecom: str | None = Field(default=None, max_length=100)
    mobile: str | None = Field(default=None, max_length=30)
    active: bool = True
    # Facts the member workflows derive (obligations/probation.py, appraisal.py, dues.py) and the planner
    # expands into per-member duties: an extended probation's new end (延长预备期), the first month of the
    # latest run of six unpaid months (自行脱党 procedure), the day a second consecutive 不合格 was decided.
    probation_until: dt.date | None = None
    dues_lapsed_from: dt.date | None = Field(default=None, index=True)
    unqualified_on: dt.date | None = None


class Position(SQLModel, table=True):
    __tablename__ = "position"
    __table_args__ = (UniqueConstraint("org", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)
    role: str = Field(max_length=30)
    member: str | None = Field(default=None, foreign_key="member.id", max_length=100)
    since: dt.date | None = None
    vacant_since: dt.date | None = None


# A task's status as a person reads it, everywhere (due, scores, confirmations). "waived" is an exemption
# (免办: `waive --exempt`); an extension leaves the task open with its due date moved. "exempt" is the same
# state under the word some stored rows carry.
def column_width(column: Any) -> int | None:
    """The width a text column declares (`Member.name`), which PostgreSQL enforces and SQLite does not: the
    one source for every length check. None for unbounded text."""
    length = getattr(getattr(column, "type", None), "length", None)
    return length if isinstance(length, int) else None


TASK_STATUS_LABELS = {"open": "待办", "overdue": "逾期", "done": "已完成", "waived": "免办", "exempt": "免办"}


class Task(SQLModel, table=True):
    """One occurrence of a rule for one subject in one period, persisted."""

    __tablename__ = "task"
    __table_args__ = (
        UniqueConstraint("rule", "subject", "period"),
        Index("ix_task_org_due", "org", "due"),
        Index("ix_task_status_due", "status", "due"),
        Index("ix_task_status_remind_on", "status", "remind_on"),
        Index("ix_task_assignee_due", "assignee", "due"),  # 我的待办 (queries.Mine)
        Index("ix_task_subject_due", "subject", "due"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(foreign_key="organization.code", max_length=100)
    rule: str = Field(max_length=100)
    subject: str = Field(max_length=100)  # org code, or member id for per-member duties
    subject_kind: str = Field(max_length=10)  # org | member | officer
    period: str = Field(max_length=100)
    period_start: dt.date
    due: dt.date
    original_due: dt.date | None = None  # set when an approved extension moved the due date
    required_count: float = 1
    done_count: float = 0
    unit: str = Field(default="times", max_length=10)
    status: str = Field(default="open", max_length=10)  # open | done | waived | exempt
    responsible: str = Field(max_length=30)  # the role that holds the duty
    assignee: str | None = Field(default=None, max_length=100)  # member id resolved from the role
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


class PlanState(SQLModel, table=True):
    """What the planner last did, so that `due` re-plans only when something changed."""

    __tablename__ = "plan_state"

    id: int = Field(default=1, primary_key=True)
    planned_from: dt.date | None = None
    planned_to: dt.date | None = None
    registry_version: int = 0  # bumped by every import
    planned_version: int = -1
    dues_checked: str | None = Field(
        default=None, max_length=7
    )  # the month dues lapses were last derived for


class Completion(SQLModel, table=True):
    """One recorded activity (台账): 时间、地点、方式、参加人员和活动内容. It may satisfy several tasks."""

    __tablename__ = "completion"
    __table_args__ = (
        # One activity, one record: the duplicate rule is the database's, so that it holds for two
        # processes recording the same activity at the same moment (a withdrawn record may be entered again).
        Index(
            "ux_completion_active_fingerprint",
            "fingerprint",
            unique=True,
            sqlite_where=text("undone_at IS NULL"),
            postgresql_where=text("undone_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)
    held_on: dt.date = Field(index=True)
    place: str | None = Field(default=None, max_length=200)
    form: str | None = Field(default=None, max_length=100)  # 方式: 集中学习、专题研讨、线上 …
    host: str | None = Field(default=None, max_length=100)  # 主持人
    topic: str | None = Field(default=None, max_length=500)
    note: str | None = None
    hours: float | None = None
    attendee_count: int | None = None  # when attendance is given as a number, not by name
    lecturer: str | None = Field(default=None, max_length=100)  # member id of the 主讲人 (书记讲党课)
    # Same activity recorded twice (same tasks, date, place, topic, attendees) is recognised by this.
    fingerprint: str = Field(index=True, max_length=64)
    recorded_at: dt.datetime
    undone_at: dt.datetime | None = None
    undo_reason: str | None = None
    # Who recorded and who withdrew it, through which channel (cli, web) and from which address.
    recorded_by: str | None = Field(default=None, max_length=100)
    recorded_via: str | None = Field(default=None, max_length=10)
    recorded_from: str | None = Field(default=None, max_length=100)
    undone_by: str | None = Field(default=None, max_length=100)
    undone_via: str | None = Field(default=None, max_length=10)
    undone_from: str | None = Field(default=None, max_length=100)


class CompletionTask(SQLModel, table=True):
    """What a completion counts toward: a task, and how much (1 meeting, 4 学时)."""

    __tablename__ = "completion_task"

    completion_id: int = Field(foreign_key="completion.id", primary_key=True)
    task_id: int = Field(foreign_key="task.id", primary_key=True, index=True)
    amount: float = 1


class Attendance(SQLModel, table=True):
    __tablename__ = "attendance"

    completion_id: int = Field(foreign_key="completion.id", primary_key=True)
    member: str = Field(foreign_key="member.id", primary_key=True, max_length=100)
    present: bool = True
    reason: str | None = Field(default=None, max_length=200)  # why absent (请假原因)


class Attachment(SQLModel, table=True):
    """Minutes or photos, copied into the attachments folder and named by task."""

    __tablename__ = "attachment"

    id: int | None = Field(default=None, primary_key=True)
    completion_id: int = Field(foreign_key="completion.id", index=True)
    path: str = Field(max_length=500)  # relative to the attachments folder
    original_name: str = Field(max_length=300)
    sha256: str = Field(max_length=64)
    size: int


class Waiver(SQLModel, table=True):
    """An approved extension (the due date moves) or an exemption (the task does not apply)."""

    __tablename__ = "waiver"

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=10)  # extension | exemption
    until: dt.date | None = None
    reason: str = Field(max_length=500)
    approved_by: str | None = Field(default=None, max_length=200)
    previous_due: dt.date
    granted_at: dt.datetime
    granted_via: str | None = Field(default=None, max_length=10)  # cli | web
    granted_from: str | None = Field(default=None, max_length=100)
    request_id: int | None = Field(default=None, foreign_key="waiver_request.id")


class ProbationDecision(SQLModel, table=True):
    """The 支部大会's decision on a probationary member (党章 第七条): 转正, 延长预备期 or 取消预备党员资格."""

    __tablename__ = "probation_decision"

    id: int | None = Field(default=None, primary_key=True)
    member: str = Field(foreign_key="member.id", index=True, max_length=100)
    org: str = Field(foreign_key="organization.code", max_length=100)  # the branch whose 支部大会 decided
    decided_on: dt.date
    outcome: str = Field(max_length=10)  # full | extended | cancelled
    probation_end: dt.date  # the end of the probation the decision concerned
    extended_until: dt.date | None = None
    completion_id: int | None = Field(default=None, foreign_key="completion.id")
    recorded_at: dt.datetime


class MemberAppraisal(SQLModel, table=True):
    """One member's grade in the yearly 民主评议党员 (003 二(二)4): 优秀、合格、基本合格、不合格."""

    __tablename__ = "member_appraisal"
    __table_args__ = (UniqueConstraint("member", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    member: str = Field(foreign_key="member.id", index=True, max_length=100)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)  # the member's branch
    year: int
    grade: str = Field(max_length=20)  # excellent | qualified | basically_qualified | unqualified
    decided_on: dt.date
    recorded_at: dt.datetime


class DuesPayment(SQLModel, table=True):
    """党费: one member paid for one month (recorded by the branch's 组织委员)."""

    __tablename__ = "dues_payment"
    __table_args__ = (UniqueConstraint("member", "month"),)

    id: int | None = Field(default=None, primary_key=True)
    member: str = Field(foreign_key="member.id", index=True, max_length=100)
    org: str = Field(foreign_key="organization.code", index=True, max_length=100)  # the member's branch
    month: str = Field(max_length=7)  # 2026-11
    recorded_at: dt.datetime


class Reminder(SQLModel, table=True):
    """One escalation step of one task for one person: idempotent on (task, step, recipient) for a given
    deadline (an approved extension starts the ladder again for the new date)."""

    __tablename__ = "reminder"
    __table_args__ = (
        UniqueConstraint("task_id", "step", "recipient", "due"),
        # Only the reminders of the sweep in progress, by recipient: empty between sweeps.
        Index(
            "ix_reminder_pending_recipient",
            "recipient",
            sqlite_where=text("pending = 1"),
            postgresql_where=text("pending"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    step: str = Field(max_length=30)
    due: dt.date
    recipient: str = Field(foreign_key="member.id", max_length=100)
    note: str | None = Field(default=None, max_length=200)  # why this person (a vacant seat's stand-in)
    created_at: dt.datetime
    pending: bool = (
        False  # recorded by the sweep in progress, not yet in a digest (never true after a commit)
    )


class OutboxMessage(SQLModel, table=True):
    """A digest to one person on one channel, or an organization's summary to its group robot (`org` set,
    no `recipient`): the unit that is claimed, sent, retried or failed."""

    __tablename__ = "outbox_message"
    # A channel's claim, in order (reminders/outbox.py: one lane per channel).
    __table_args__ = (Index("ix_outbox_state_channel_next", "state", "channel", "next_attempt_at", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    recipient: str | None = Field(default=None, foreign_key="member.id", max_length=100)
    recipient_name: str = Field(default="", max_length=200, sa_column_kwargs={"server_default": ""})
    org: str | None = Field(default=None, foreign_key="organization.code", max_length=100)
    channel: str = Field(max_length=20)
    address: str = Field(max_length=200)
    subject: str = Field(max_length=300)
    text: str
    html: str | None = None
    markdown: str | None = None
    mention_mobiles: str | None = Field(default=None, max_length=300)  # comma-separated
    card: str | None = None  # a WeCom application message's textcard (JSON of notifiers.base.TextCard)
    state: str = Field(default="pending", max_length=10)  # pending | sending | sent | failed
    attempts: int = 0
    next_attempt_at: dt.datetime
    claimed_at: dt.datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=100)
    sent_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, max_length=500)
    failure_reported: bool = False  # a permanent failure is told to the organization's secretary once
    created_at: dt.datetime


class OutboxItem(SQLModel, table=True):
    """Which reminders a digest carries."""

    __tablename__ = "outbox_item"

    message_id: int = Field(foreign_key="outbox_message.id", primary_key=True)
    reminder_id: int = Field(foreign_key="reminder.id", primary_key=True, index=True)


class DeliveryAttempt(SQLModel, table=True):
    """Every attempt to send a message: when, where, how it went, how long it took."""

    __tablename__ = "delivery_attempt"

    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="outbox_message.id", index=True)
    started_at: dt.datetime
    channel: str = Field(max_length=20)
    address: str = Field(max_length=200)
    outcome: str = Field(max_length=10)  # sent | temporary | permanent
    error: str | None = Field(default=None, max_length=500)
    duration_ms: float = 0


class Sweep(SQLModel, table=True):
    """A log of sweeps, for `obligations status`: no `finished_at` and a worker that is gone = interrupted."""

    __tablename__ = "sweep"

    id: int | None = Field(default=None, primary_key=True)
    started_at: dt.datetime
    finished_at: dt.datetime | None = None
    worker: str | None = Field(default=None, max_length=100)  # hostname:pid of the process that ran it
    stopped: bool = False  # asked to stop (SIGTERM) before the outbox was empty: the rest stays queued
    as_of: dt.datetime
    reminders: int = 0
    messages: int = 0
    sent: int = 0
    failed: int = 0
    error: str | None = Field(default=None, max_length=500)


class WaiverRequest(SQLModel, table=True):
    """An extension or exemption asked for by a branch (secretary) and decided by the parent's 组织员."""

    __tablename__ = "waiver_request"
    __table_args__ = (
        Index("ix_waiver_request_state_task", "state", "task_id"),
        # One pending request per task: two secretaries asking at the same moment make one request.
        Index(
            "ux_waiver_request_pending_task",
            "task_id",
            unique=True,
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    task_id: int = Field(foreign_key="task.id", index=True)
    kind: str = Field(max_length=10)  # extension | exemption
    until: dt.date | None = None  # the new due date asked for (extension)
    reason: str = Field(max_length=500)
    state: str = Field(default="pending", max_length=10)  # pending | approved | rejected | withdrawn
    requested_by: str = Field(max_length=100)
    requested_at: dt.datetime
    requested_via: str = Field(max_length=10)
    requested_from: str | None = Field(default=None, max_length=100)
    decided_by: str | None = Field(default=None, max_length=100)
    decided_at: dt.datetime | None = None
    decided_via: str | None = Field(default=None, max_length=10)
    decided_from: str | None = Field(default=None, max_length=100)
    decision_note: str | None = Field(default=None, max_length=500)


class Account(SQLModel, table=True):
    """A registry member who may sign in to the desk. Roles are never stored: they come from the registry."""

    __tablename__ = "account"

    member: str = Field(primary_key=True, foreign_key="member.id", max_length=100)
    password_hash: str | None = Field(default=None, max_length=300)  # argon2; None: WeCom sign-in only
    disabled: bool = False
    failed_logins: int = 0  # consecutive failures since the last success
    locked_until: dt.datetime | None = None
    created_at: dt.datetime
    password_changed_at: dt.datetime | None = None
    last_login_at: dt.datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random id, the table only its hash (revocable, idle timeout)."""

    __tablename__ = "web_session"

    id_hash: str = Field(primary_key=True, max_length=64)
    member: str = Field(foreign_key="member.id", index=True, max_length=100)
    csrf_token: str = Field(max_length=64)
    method: str = Field(max_length=10)  # password | wecom
    created_at: dt.datetime
    last_seen: dt.datetime
    address: str | None = Field(default=None, max_length=100)
    revoked_at: dt.datetime | None = None


class FeedToken(SQLModel, table=True):
    """A member's calendar subscription: the URL carries a random token, the table only its hash."""

    __tablename__ = "feed_token"

    token_hash: str = Field(primary_key=True, max_length=64)
    member: str = Field(foreign_key="member.id", index=True, max_length=100)
    created_at: dt.datetime
    revoked_at: dt.datetime | None = None


class AppSecret(SQLModel, table=True):
    """Keys the application generates once and every process shares (the signing key of reminder links)."""

    __tablename__ = "app_secret"

    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200)
    created_at: dt.datetime


class AuditEvent(SQLModel, table=True):
    """Every sign-in, refusal and write: who, when, through which channel, from where (kept ≥ 6 months)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_actor_at", "actor", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = Field(index=True)
    actor: str | None = Field(default=None, max_length=100)  # member id (web) or OS user (cli); None: unknown
    channel: str = Field(max_length=10)  # cli | web
    address: str | None = Field(default=None, max_length=100)
    action: str = Field(max_length=30)  # login | login_failed | logout | refused | record | undo | …
    target: str | None = Field(default=None, max_length=200)  # task:64, completion:12, org:jg.b1, /org/x
    outcome: str = Field(max_length=10)  # ok | refused | failed
    detail: str | None = Field(default=None, max_length=500)
