"""outbox: the recipient's display name, and messages to an organization's group robot

`recipient_name` is what the channel shows (an email's `To:` name), kept with the message so that a retry a
day later says the same. A group robot's message is addressed to an organization (`org`), not to a member:
`recipient` may then be empty.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("recipient_name", sa.String(length=200), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("org", sa.String(length=100), nullable=True))
        batch.alter_column("recipient", existing_type=sa.String(length=100), nullable=True)
        batch.create_foreign_key("fk_outbox_message_org", "organization", ["org"], ["code"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("fk_outbox_message_org", type_="foreignkey")
        batch.alter_column("recipient", existing_type=sa.String(length=100), nullable=False)
        batch.drop_column("org")
        batch.drop_column("recipient_name")
