"""web desk: accounts, sessions, audit log, waiver requests, feed tokens, app secrets; who recorded what

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

_WHO = (("by", 100), ("via", 10), ("from", 100))


def upgrade() -> None:
    op.create_table(
        "waiver_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_via", sa.String(length=10), nullable=False),
        sa.Column("requested_from", sa.String(length=100), nullable=True),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_via", sa.String(length=10), nullable=True),
        sa.Column("decided_from", sa.String(length=100), nullable=True),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_waiver_request_task_id", "waiver_request", ["task_id"])
    op.create_index("ix_waiver_request_state_task", "waiver_request", ["state", "task_id"])
    with op.batch_alter_table("completion") as batch:
        for verb in ("recorded", "undone"):
            for suffix, length in _WHO:
                batch.add_column(sa.Column(f"{verb}_{suffix}", sa.String(length=length), nullable=True))
    with op.batch_alter_table("waiver") as batch:
        batch.add_column(sa.Column("granted_via", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("granted_from", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_waiver_request_id", "waiver_request", ["request_id"], ["id"])
    op.create_table(
        "account",
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.PrimaryKeyConstraint("member"),
    )
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.PrimaryKeyConstraint("id_hash"),
    )
    op.create_index("ix_web_session_member", "web_session", ["member"])
    op.create_table(
        "feed_token",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index("ix_feed_token_member", "feed_token", ["member"])
    op.create_table(
        "app_secret",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_audit_event_at", "audit_event", ["at"])
    op.create_index("ix_audit_event_actor_at", "audit_event", ["actor", "at"])


def downgrade() -> None:
    for table in ("audit_event", "app_secret", "feed_token", "web_session", "account"):
        op.drop_table(table)
    with op.batch_alter_table("waiver") as batch:
        batch.drop_constraint("fk_waiver_request_id", type_="foreignkey")
        for column in ("request_id", "granted_from", "granted_via"):
            batch.drop_column(column)
    # Not in batch mode: SQLite would recreate `completion`, which other tables reference.
    for verb in ("recorded", "undone"):
        for suffix, _length in _WHO:
            op.drop_column("completion", f"{verb}_{suffix}")
    op.drop_table("waiver_request")
