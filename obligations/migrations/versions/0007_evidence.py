"""completion.lecturer and task.filed_on: the evidence a rule declares (书记讲党课's lecturer, 报上级备案)

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0009"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch would copy and drop `task` and `completion`, which other
# tables reference (SQLite has had ADD and DROP COLUMN since 3.35).


def upgrade() -> None:
    op.add_column("completion", sa.Column("lecturer", sa.String(length=100), nullable=True))
    op.add_column("task", sa.Column("filed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("task", "filed_on")
    op.drop_column("completion", "lecturer")
