"""outbox_message(state, next_attempt_at, id): the claim's order, read from the index

`reminders.claim` takes the 50 first pending messages by (next_attempt_at, id). The index held (state,
next_attempt_at) only, and in a sweep every message has the same next_attempt_at: each claim sorted every
pending message to find its 50 (about 1,200 claims over 59,000 messages for a city of 2,000 branches).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_outbox_state_next", table_name="outbox_message")
    op.create_index("ix_outbox_state_next", "outbox_message", ["state", "next_attempt_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_state_next", table_name="outbox_message")
    op.create_index("ix_outbox_state_next", "outbox_message", ["state", "next_attempt_at"])
