"""ledger: completions, attendance, attachments, waivers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "completion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=True),
        sa.Column("form", sa.String(length=100), nullable=True),
        sa.Column("host", sa.String(length=100), nullable=True),
        sa.Column("topic", sa.String(length=500), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("attendee_count", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("undo_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org"],
            ["organization.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_completion_fingerprint"), ["fingerprint"], unique=False)
        batch_op.create_index(batch_op.f("ix_completion_held_on"), ["held_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_completion_org"), ["org"], unique=False)

    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("original_name", sa.String(length=300), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completion.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attachment_completion_id"), ["completion_id"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completion.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("completion_id", "member"),
    )
    op.create_table(
        "completion_task",
        sa.Column("completion_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["completion_id"],
            ["completion.id"],
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("completion_id", "task_id"),
    )
    with op.batch_alter_table("completion_task", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_completion_task_task_id"), ["task_id"], unique=False)

    op.create_table(
        "waiver",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("approved_by", sa.String(length=200), nullable=True),
        sa.Column("previous_due", sa.Date(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["task.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("waiver", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_waiver_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("waiver", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_waiver_task_id"))

    op.drop_table("waiver")
    with op.batch_alter_table("completion_task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_task_task_id"))

    op.drop_table("completion_task")
    op.drop_table("attendance")
    with op.batch_alter_table("attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachment_completion_id"))

    op.drop_table("attachment")
    with op.batch_alter_table("completion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_completion_org"))
        batch_op.drop_index(batch_op.f("ix_completion_held_on"))
        batch_op.drop_index(batch_op.f("ix_completion_fingerprint"))

    op.drop_table("completion")
