"""member duties: 转正 decisions, 民主评议 grades, 党费 payments, and the member facts derived from them

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("probation_until", "dues_lapsed_from", "unqualified_on"):
        op.add_column("member", sa.Column(column, sa.Date(), nullable=True))
    op.create_index("ix_member_dues_lapsed_from", "member", ["dues_lapsed_from"])
    with op.batch_alter_table("plan_state") as batch:
        batch.add_column(sa.Column("dues_checked", sa.String(length=7), nullable=True))
    op.create_table(
        "probation_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("probation_end", sa.Date(), nullable=False),
        sa.Column("extended_until", sa.Date(), nullable=True),
        sa.Column("completion_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.ForeignKeyConstraint(["org"], ["organization.code"]),
        sa.ForeignKeyConstraint(["completion_id"], ["completion.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_probation_decision_member", "probation_decision", ["member"])
    op.create_table(
        "member_appraisal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=20), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.ForeignKeyConstraint(["org"], ["organization.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member", "year"),
    )
    op.create_index("ix_member_appraisal_member", "member_appraisal", ["member"])
    op.create_index("ix_member_appraisal_org", "member_appraisal", ["org"])
    op.create_table(
        "dues_payment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member"], ["member.id"]),
        sa.ForeignKeyConstraint(["org"], ["organization.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member", "month"),
    )
    op.create_index("ix_dues_payment_member", "dues_payment", ["member"])
    op.create_index("ix_dues_payment_org", "dues_payment", ["org"])


def downgrade() -> None:
    op.drop_table("dues_payment")
    op.drop_table("member_appraisal")
    op.drop_table("probation_decision")
    with op.batch_alter_table("plan_state") as batch:
        batch.drop_column("dues_checked")
    # Not batch mode: on SQLite that copies `member`, which the other tables' foreign keys forbid dropping.
    # ALTER TABLE … DROP COLUMN needs SQLite 3.35 (2021) for a column no index or key uses.
    op.drop_index("ix_member_dues_lapsed_from", table_name="member")
    for column in ("unqualified_on", "dues_lapsed_from", "probation_until"):
        op.execute(f"ALTER TABLE member DROP COLUMN {column}")
