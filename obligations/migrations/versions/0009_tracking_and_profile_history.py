"""organization.profile_since and tracked_from, and profile_history: history is not rewritten

A profile change applies from a date (earlier periods stay owed under the previous profile), and a newly
imported organization is tracked from a date (earlier routine periods are not owed). Organizations that exist
before this revision keep no tracking start (tracked since always) and one history row: their profile.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): other tables' foreign keys refer to organization.
    op.add_column("organization", sa.Column("profile_since", sa.Date(), nullable=True))
    op.add_column("organization", sa.Column("tracked_from", sa.Date(), nullable=True))
    op.create_table(
        "profile_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org", sa.String(length=100), nullable=False),
        sa.Column("profile", sa.String(length=100), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["org"], ["organization.code"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org", "since"),
    )
    op.create_index("ix_profile_history_org", "profile_history", ["org"])
    op.execute(
        "INSERT INTO profile_history (org, profile, since) SELECT code, effective_profile, NULL FROM organization"
    )


def downgrade() -> None:
    op.drop_index("ix_profile_history_org", table_name="profile_history")
    op.drop_table("profile_history")
    op.drop_column("organization", "tracked_from")
    op.drop_column("organization", "profile_since")
