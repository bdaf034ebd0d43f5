"""waiver_request: at most one pending request per task, enforced by a partial unique index

Two secretaries asking for the same task's extension at the same moment both passed the check in code; the
index makes the database keep the first. Pending duplicates stored before this revision are withdrawn,
keeping the oldest.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

NOTE = "重复申请（数据库升级时撤回，保留最早的一条）"


def upgrade() -> None:
    connection = op.get_bind()
    connection.execute(
        sa.text(
            "UPDATE waiver_request SET state = 'withdrawn', decision_note = :note WHERE state = 'pending'"
            " AND EXISTS (SELECT 1 FROM waiver_request f WHERE f.task_id = waiver_request.task_id"
            " AND f.state = 'pending' AND f.id < waiver_request.id)"
        ),
        {"note": NOTE},
    )
    op.create_index(
        "ux_waiver_request_pending_task",
        "waiver_request",
        ["task_id"],
        unique=True,
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("ux_waiver_request_pending_task", table_name="waiver_request")
