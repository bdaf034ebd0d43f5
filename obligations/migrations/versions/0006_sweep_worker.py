"""sweep.worker and sweep.stopped: `status` tells a sweep in progress from one whose process died

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sweep") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("stopped", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("sweep") as batch:
        batch.drop_column("stopped")
        batch.drop_column("worker")
