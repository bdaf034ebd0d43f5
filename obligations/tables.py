"""The schema: every table, column, key and index, in SQLAlchemy Core.

This is the one definition of what is stored. `obligations.models` maps its SQLModel classes onto these tables
(SQLAlchemy's "declarative with imperative table"), and the migrations build exactly this schema
(tests/obligations/test_schema.py). Only SQLAlchemy's core is imported here, so that a command that only reads
(`due`) can query the tables without paying for the ORM, pydantic and the 25 model classes at every start.

Dates are dates (a deadline is a day in party time); instants are stored in UTC (`Instant`).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    and_,
    text,
)
from sqlalchemy.sql.schema import ScalarElementColumnDefault

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    # What reads the tables: an ORM session, or a bare connection where the ORM is not loaded (`due`).
    Reader: TypeAlias = Session | Connection

metadata = MetaData()


def scalar_default(column: Column[Any]) -> Any:
    """The value an insert that omits `column` stores (its Python-side default), or None."""
    default = column.default
    return default.arg if isinstance(default, ScalarElementColumnDefault) else None


class Instant(TypeDecorator[dt.datetime]):
    """An aware instant, stored in UTC and read back aware in UTC (SQLite keeps no offset: what it hands back
    is UTC). A naive datetime is refused: the core never guesses a time zone."""

    impl = DateTime
    cache_ok = True

    def __init__(self) -> None:
        super().__init__(timezone=True)

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: instants are stored aware, in UTC")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.utcoffset() is None else value.astimezone(dt.UTC)


# Organization paths are compared as byte strings (subtree = a range of paths); PostgreSQL's default
# collation would ignore the "/" separators, so the column is pinned to "C" there.
PathString = String(400).with_variant(String(400, collation="C"), "postgresql")


def column_width(column: Any) -> int | None:
    """The width a text column declares (`Member.name`), which PostgreSQL enforces and SQLite does not: the
    one source for every length check. None for unbounded text."""
    length = getattr(getattr(column, "type", None), "length", None)
    return length if isinstance(length, int) else None


def subtree(path: str) -> ColumnElement[bool]:
    """The organizations of the subtree whose root has `path`: a range, so that the path index serves it."""
    column = organization.c.path
    return and_(column >= path, column < path[:-1] + chr(ord("/") + 1))


organization = Table(
    "organization",
    metadata,
    Column("code", String(100), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("parent", String(100), ForeignKey("organization.code"), index=True),
    Column("path", PathString, nullable=False, index=True),
    Column("profile", String(100)),
    Column("effective_profile", String(100), nullable=False),
    Column("elected_on", Date),
    Column("term_years", Integer),
    Column("profile_since", Date),
    Column("tracked_from", Date),
    Column("wecom_robot_env", String(100)),
    Column("active", Boolean, nullable=False, default=True),
    Column("dirty", Boolean, nullable=False, default=True),
)

profile_history = Table(
    "profile_history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("profile", String(100), nullable=False),
    Column("since", Date),
    UniqueConstraint("org", "since"),
)

member = Table(
    "member",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("joined_on", Date),
    Column("probation_start", Date),
    Column("full_on", Date),
    Column("staff_since", Date),
    Column("email", String(200)),
    Column("wecom", String(100)),
    Column("mobile", String(30)),
    Column("active", Boolean, nullable=False, default=True),
    Column("probation_until", Date),
    Column("dues_lapsed_from", Date, index=True),
    Column("unqualified_on", Date),
)

position = Table(
    "position",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("role", String(30), nullable=False),
    Column("member", String(100), ForeignKey("member.id")),
    Column("since", Date),
    Column("vacant_since", Date),
    UniqueConstraint("org", "role"),
)

task = Table(
    "task",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False),
    Column("rule", String(100), nullable=False),
    Column("subject", String(100), nullable=False),
    Column("subject_kind", String(10), nullable=False),
    Column("period", String(100), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("due", Date, nullable=False),
    Column("original_due", Date),
    Column("required_count", Float, nullable=False, default=1),
    Column("done_count", Float, nullable=False, default=0),
    Column("unit", String(10), nullable=False, default="times"),
    Column("status", String(10), nullable=False, default="open"),
    Column("responsible", String(30), nullable=False),
    Column("assignee", String(100)),
    Column("done_on", Date),
    Column("filed_on", Date),
    Column("remind_on", Date),
    UniqueConstraint("rule", "subject", "period"),
    # One person's tasks (我的待办, duelist.Mine): by assignee and by subject.
    Index("ix_task_assignee_due", "assignee", "due"),
    Index("ix_task_subject_due", "subject", "due"),
    Index("ix_task_org_due", "org", "due"),
    Index("ix_task_status_due", "status", "due"),
    Index("ix_task_status_remind_on", "status", "remind_on"),
)

plan_state = Table(
    "plan_state",
    metadata,
    Column("id", Integer, primary_key=True, default=1),
    Column("planned_from", Date),
    Column("planned_to", Date),
    Column("registry_version", Integer, nullable=False, default=0),
    Column("planned_version", Integer, nullable=False, default=-1),
    Column("dues_checked", String(7)),
)

completion = Table(
    "completion",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("held_on", Date, nullable=False, index=True),
    Column("place", String(200)),
    Column("form", String(100)),
    Column("host", String(100)),
    Column("topic", String(500)),
    Column("note", String()),
    Column("hours", Float),
    Column("attendee_count", Integer),
    Column("lecturer", String(100)),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("recorded_at", Instant(), nullable=False),
    Column("undone_at", Instant()),
    Column("undo_reason", String()),
    Column("recorded_by", String(100)),
    Column("recorded_via", String(10)),
    Column("recorded_from", String(100)),
    Column("undone_by", String(100)),
    Column("undone_via", String(10)),
    Column("undone_from", String(100)),
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

completion_task = Table(
    "completion_task",
    metadata,
    Column("completion_id", Integer, ForeignKey("completion.id"), primary_key=True),
    Column("task_id", Integer, ForeignKey("task.id"), primary_key=True, index=True),
    Column("amount", Float, nullable=False, default=1),
)

attendance = Table(
    "attendance",
    metadata,
    Column("completion_id", Integer, ForeignKey("completion.id"), primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), primary_key=True),
    Column("present", Boolean, nullable=False, default=True),
    Column("reason", String(200)),
)

attachment = Table(
    "attachment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("completion_id", Integer, ForeignKey("completion.id"), nullable=False, index=True),
    Column("path", String(500), nullable=False),
    Column("original_name", String(300), nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
)

waiver = Table(
    "waiver",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("task.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("until", Date),
    Column("reason", String(500), nullable=False),
    Column("approved_by", String(200)),
    Column("previous_due", Date, nullable=False),
    Column("granted_at", Instant(), nullable=False),
    Column("granted_via", String(10)),
    Column("granted_from", String(100)),
    Column("request_id", Integer, ForeignKey("waiver_request.id")),
)

probation_decision = Table(
    "probation_decision",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), nullable=False, index=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("probation_end", Date, nullable=False),
    Column("extended_until", Date),
    Column("completion_id", Integer, ForeignKey("completion.id")),
    Column("recorded_at", Instant(), nullable=False),
)

member_appraisal = Table(
    "member_appraisal",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), nullable=False, index=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("grade", String(20), nullable=False),
    Column("decided_on", Date, nullable=False),
    Column("recorded_at", Instant(), nullable=False),
    UniqueConstraint("member", "year"),
)

dues_payment = Table(
    "dues_payment",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), nullable=False, index=True),
    Column("org", String(100), ForeignKey("organization.code"), nullable=False, index=True),
    Column("month", String(7), nullable=False),
    Column("recorded_at", Instant(), nullable=False),
    UniqueConstraint("member", "month"),
)

reminder = Table(
    "reminder",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("task.id"), nullable=False, index=True),
    Column("step", String(30), nullable=False),
    Column("due", Date, nullable=False),
    Column("recipient", String(100), ForeignKey("member.id"), nullable=False),
    Column("note", String(200)),
    Column("created_at", Instant(), nullable=False),
    Column("pending", Boolean, nullable=False, default=False),
    UniqueConstraint("task_id", "step", "recipient", "due"),
    # Only the reminders of the sweep in progress, by recipient: empty between sweeps.
    Index(
        "ix_reminder_pending_recipient",
        "recipient",
        sqlite_where=text("pending = 1"),
        postgresql_where=text("pending"),
    ),
)

outbox_message = Table(
    "outbox_message",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("recipient", String(100), ForeignKey("member.id")),
    Column("recipient_name", String(200), nullable=False, default="", server_default=""),
    Column("org", String(100), ForeignKey("organization.code")),
    Column("channel", String(20), nullable=False),
    Column("address", String(200), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("text", String(), nullable=False),
    Column("html", String()),
    Column("markdown", String()),
    Column("mention_mobiles", String(300)),
    Column("card", String()),
    Column("state", String(10), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Instant(), nullable=False),
    Column("claimed_at", Instant()),
    Column("claimed_by", String(100)),
    Column("sent_at", Instant()),
    Column("last_error", String(500)),
    Column("failure_reported", Boolean, nullable=False, default=False),
    Column("created_at", Instant(), nullable=False),
    # A channel's claim, in order (reminders/outbox.py: one lane per channel).
    Index("ix_outbox_state_channel_next", "state", "channel", "next_attempt_at", "id"),
)

outbox_item = Table(
    "outbox_item",
    metadata,
    Column("message_id", Integer, ForeignKey("outbox_message.id"), primary_key=True),
    Column("reminder_id", Integer, ForeignKey("reminder.id"), primary_key=True, index=True),
)

delivery_attempt = Table(
    "delivery_attempt",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", Integer, ForeignKey("outbox_message.id"), nullable=False, index=True),
    Column("started_at", Instant(), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("address", String(200), nullable=False),
    Column("outcome", String(10), nullable=False),
    Column("error", String(500)),
    Column("duration_ms", Float, nullable=False, default=0),
)

sweep = Table(
    "sweep",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", Instant(), nullable=False),
    Column("finished_at", Instant()),
    Column("worker", String(100)),
    Column("stopped", Boolean, nullable=False, default=False),
    Column("as_of", Instant(), nullable=False),
    Column("reminders", Integer, nullable=False, default=0),
    Column("messages", Integer, nullable=False, default=0),
    Column("sent", Integer, nullable=False, default=0),
    Column("failed", Integer, nullable=False, default=0),
    Column("error", String(500)),
)

waiver_request = Table(
    "waiver_request",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("task.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("until", Date),
    Column("reason", String(500), nullable=False),
    Column("state", String(10), nullable=False, default="pending"),
    Column("requested_by", String(100), nullable=False),
    Column("requested_at", Instant(), nullable=False),
    Column("requested_via", String(10), nullable=False),
    Column("requested_from", String(100)),
    Column("decided_by", String(100)),
    Column("decided_at", Instant()),
    Column("decided_via", String(10)),
    Column("decided_from", String(100)),
    Column("decision_note", String(500)),
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

account = Table(
    "account",
    metadata,
    Column("member", String(100), ForeignKey("member.id"), primary_key=True),
    Column("password_hash", String(300)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", Instant()),
    Column("created_at", Instant(), nullable=False),
    Column("password_changed_at", Instant()),
    Column("last_login_at", Instant()),
)

web_session = Table(
    "web_session",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("method", String(10), nullable=False),
    Column("created_at", Instant(), nullable=False),
    Column("last_seen", Instant(), nullable=False),
    Column("address", String(100)),
    Column("revoked_at", Instant()),
)

feed_token = Table(
    "feed_token",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("member", String(100), ForeignKey("member.id"), nullable=False, index=True),
    Column("created_at", Instant(), nullable=False),
    Column("revoked_at", Instant()),
)

app_secret = Table(
    "app_secret",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", String(200), nullable=False),
    Column("created_at", Instant(), nullable=False),
)

audit_event = Table(
    "audit_event",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", Instant(), nullable=False, index=True),
    Column("actor", String(100)),
    Column("channel", String(10), nullable=False),
    Column("address", String(100)),
    Column("action", String(30), nullable=False),
    Column("target", String(200)),
    Column("outcome", String(10), nullable=False),
    Column("detail", String(500)),
    Index("ix_audit_event_actor_at", "actor", "at"),
)
