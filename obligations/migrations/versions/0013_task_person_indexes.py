"""task(assignee, due) and task(subject, due): one person's tasks (我的待办) read by index

The desk's 我的待办 asks for the tasks assigned to a member, their own tasks (学时, 政治生日 …) and those of the
organizations they record for (queries.Mine). Without an index on assignee and subject the only usable index was
(status, due), which reads every open task of the city due within the window for each page; with these two
SQLite's multi-index OR and PostgreSQL's bitmap OR read only the person's rows.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_task_assignee_due", "task", ["assignee", "due"])
    op.create_index("ix_task_subject_due", "task", ["subject", "due"])


def downgrade() -> None:
    op.drop_index("ix_task_subject_due", table_name="task")
    op.drop_index("ix_task_assignee_due", table_name="task")
