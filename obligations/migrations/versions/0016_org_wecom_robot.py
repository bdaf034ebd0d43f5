"""organization.wecom_robot_env: the environment variable holding the key of the organization's group robot

A group robot (企业微信群机器人) gets its organization's summary. The registry names the variable; the key stays
in the environment, never in the database.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table copy): other tables' foreign keys refer to organization.
    op.add_column("organization", sa.Column("wecom_robot_env", sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column("organization", "wecom_robot_env")
