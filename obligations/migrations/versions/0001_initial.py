"""initial schema: registry, tasks, plan state

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("code", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("parent", sa.String(length=100), nullable=True),
        sa.Column(
            "path",
            sa.String(length=400).with_variant(sa.String(length=400, collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("profile", sa.String(length=100), nullable=True),
        sa.Column("effective_profile", sa.String(length=100), nullable=False),
        sa.Column("elected_on", sa.Date(), nullable=True),
        sa.Column("term_years", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent"],
            ["organization.code"],
        ),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organization_parent"), ["parent"], unique=False)
        batch_op.create_index(batch_op.f("ix_organization_path"), ["path"], unique=False)

    op.create_table(
        "plan_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("planned_from", sa.Date(), nullable=True),
        sa.Column("planned_to", sa.Date(), nullable=True),
        sa.Column("registry_version", sa.Integer(), nullable=False),
        sa.Column("planned_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("joined_on", sa.Date(), nullable=True),
        sa.Column("probation_start", sa.Date(), nullable=True),
        sa.Column("full_on", sa.Date(), nullable=True),
        sa.Column("staff_since", sa.Date(), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("wecom", sa.String(length=100), nullable=True),
        sa.Column("mobile", sa.String(length=30), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org"],
            ["organization.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_org"), ["org"], unique=False)

    op.create_table(
        "task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("rule", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=100), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("original_due", sa.Date(), nullable=True),
        sa.Column("required_count", sa.Float(), nullable=False),
        sa.Column("done_count", sa.Float(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("responsible", sa.String(length=30), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org"],
            ["organization.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule", "subject", "period"),
    )
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.create_index("ix_task_org_due", ["org", "due"], unique=False)
        batch_op.create_index("ix_task_status_due", ["status", "due"], unique=False)

    op.create_table(
        "position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("vacant_since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["member"],
            ["member.id"],
        ),
        sa.ForeignKeyConstraint(
            ["org"],
            ["organization.code"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "role"),
    )
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_position_org"), ["org"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_position_org"))

    op.drop_table("position")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index("ix_task_status_due")
        batch_op.drop_index("ix_task_org_due")

    op.drop_table("task")
    with op.batch_alter_table("member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_org"))

    op.drop_table("member")
    op.drop_table("plan_state")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organization_path"))
        batch_op.drop_index(batch_op.f("ix_organization_parent"))

    op.drop_table("organization")
