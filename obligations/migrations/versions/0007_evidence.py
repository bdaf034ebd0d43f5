"""completion.lecturer and task.filed_on: the evidence a rule declares (书记讲党课's lecturer, 报上级备案)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("completion") as batch:
        batch.add_column(sa.Column("lecturer", sa.String(length=100), nullable=True))
    with op.batch_alter_table("task") as batch:
        batch.add_column(sa.Column("filed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task") as batch:
        batch.drop_column("filed_on")
    with op.batch_alter_table("completion") as batch:
        batch.drop_column("lecturer")
