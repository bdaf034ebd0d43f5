"""outbox_message(state, channel, next_attempt_at, id): a channel's claim, read from the index

Delivery runs one lane per channel (a stalled channel must not stall the others), and each lane claims only its
channel's messages. Through ix_outbox_state_next (state, next_attempt_at, id) such a claim read every due message
of every channel to pick its own (SQLite: SEARCH USING INDEX ix_outbox_state_next (state=? AND next_attempt_at<?),
the channel tested row by row): the WeCom lane's claims went through all the due email messages ahead of theirs,
again for each batch of 50. The new index gives each lane its messages in claim order, and the channels that have
pending messages by one seek each. It replaces the old one: every other query of the outbox filters on `state`
alone, which both serve.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_outbox_state_channel_next", "outbox_message", ["state", "channel", "next_attempt_at", "id"]
    )
    op.drop_index("ix_outbox_state_next", table_name="outbox_message")


def downgrade() -> None:
    op.create_index("ix_outbox_state_next", "outbox_message", ["state", "next_attempt_at", "id"])
    op.drop_index("ix_outbox_state_channel_next", table_name="outbox_message")
