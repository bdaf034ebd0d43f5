"""completion: one active record per activity, enforced by a partial unique index on the fingerprint

Two identical `done`/`record` at the same moment both passed the check in code. Active duplicates already
stored (from before this revision) are withdrawn, keeping the first, and their tasks recounted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REASON = "重复登记（数据库升级时撤销，保留最早的一条）"


def upgrade() -> None:
    connection = op.get_bind()
    duplicates = (
        connection.execute(
            sa.text(
                "SELECT id FROM completion c WHERE undone_at IS NULL AND EXISTS (SELECT 1 FROM completion f"
                " WHERE f.fingerprint = c.fingerprint AND f.undone_at IS NULL AND f.id < c.id)"
            )
        )
        .scalars()
        .all()
    )
    if duplicates:
        completion = sa.table("completion", sa.column("id"), sa.column("undone_at"), sa.column("undo_reason"))
        connection.execute(
            completion.update()
            .where(completion.c.id.in_(duplicates))
            .values(undone_at=sa.func.current_timestamp(), undo_reason=REASON)  # the database's clock, in UTC
        )
        tasks = (
            connection.execute(
                sa.text(
                    "SELECT DISTINCT task_id FROM completion_task WHERE completion_id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": duplicates},
            )
            .scalars()
            .all()
        )
        for task_id in tasks:
            _recount(connection, task_id)
    op.create_index(
        "ux_completion_active_fingerprint",
        "completion",
        ["fingerprint"],
        unique=True,
        sqlite_where=sa.text("undone_at IS NULL"),
        postgresql_where=sa.text("undone_at IS NULL"),
    )


def _recount(connection: sa.Connection, task_id: int) -> None:
    """The ledger's recount as of this revision (a migration keeps its own copy: the code moves on)."""
    required, status = connection.execute(
        sa.text("SELECT required_count, status FROM task WHERE id = :id"), {"id": task_id}
    ).one()
    rows = connection.execute(
        sa.text(
            "SELECT ct.amount, c.held_on FROM completion_task ct JOIN completion c ON c.id = ct.completion_id"
            " WHERE ct.task_id = :id AND c.undone_at IS NULL ORDER BY c.held_on"
        ),
        {"id": task_id},
    ).all()
    total, reached = 0.0, None
    for amount, held_on in rows:
        total += amount
        if reached is None and total >= required:
            reached = held_on
    values: dict[str, object] = {"id": task_id, "done": total}
    statement = "UPDATE task SET done_count = :done"
    if status != "waived":
        statement += ", status = :status, done_on = :done_on"
        values |= {"status": "done" if reached is not None else "open", "done_on": reached}
    connection.execute(sa.text(statement + " WHERE id = :id"), values)


def downgrade() -> None:
    op.drop_index("ux_completion_active_fingerprint", table_name="completion")
