"""reminder.pending: the sweep builds digests from its pending reminders in chunks of recipients

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_index(
        "ix_reminder_pending_recipient",
        "reminder",
        ["recipient"],
        sqlite_where=sa.text("pending = 1"),
        postgresql_where=sa.text("pending"),
    )


def downgrade() -> None:
    op.drop_index("ix_reminder_pending_recipient", table_name="reminder")
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("pending")
