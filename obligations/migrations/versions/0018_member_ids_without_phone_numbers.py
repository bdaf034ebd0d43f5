"""member ids that are phone numbers get the id a roster now derives ("org/name")

Earlier versions gave a member listed without an id their mobile number as id, and ids go into calendar UIDs,
links, mail headers, the outbox and logs. Each member whose id holds a mobile number (calendars.text) is given
"org/name" — what a re-import of the same roster now derives, so that it updates the member instead of adding
one — or, when that is taken, too long or itself holds a number, "org/name（2）" and so on. Every column that
holds a member id follows. The outbox's stored `mention_mobiles` (robot mentions by mobile, no longer made)
are cleared. Data only: the schema does not change. Not reversible (the numbers are not kept).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from calendars.text import contains_mobile

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

ID_WIDTH = 100
# (table, column) holding a member id; task.subject only for per-member duties (it is an org code otherwise).
REFERENCES = (
    ("position", "member"),
    ("task", "assignee"),
    ("completion", "lecturer"),
    ("completion", "recorded_by"),
    ("completion", "undone_by"),
    ("attendance", "member"),
    ("waiver", "approved_by"),
    ("probation_decision", "member"),
    ("member_appraisal", "member"),
    ("dues_payment", "member"),
    ("reminder", "recipient"),
    ("outbox_message", "recipient"),
    ("waiver_request", "requested_by"),
    ("waiver_request", "decided_by"),
    ("account", "member"),
    ("web_session", "member"),
    ("feed_token", "member"),
    ("audit_event", "actor"),
)


def _new_id(org: str, name: str, taken: set[str]) -> str:
    base = f"{org}/{name}"
    if contains_mobile(base) or len(base) > ID_WIDTH - 4:
        base = f"{org[: ID_WIDTH - 12]}/member"
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}（{number}）"
    return candidate


def upgrade() -> None:
    bind = op.get_bind()
    ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM member"))]
    renamed = [member_id for member_id in ids if contains_mobile(member_id)]
    if not renamed:
        return
    taken = set(ids)
    columns = [column["name"] for column in sa.inspect(bind).get_columns("member")]
    rest = ", ".join(column for column in columns if column != "id")
    for old in renamed:
        org, name = bind.execute(sa.text("SELECT org, name FROM member WHERE id = :old"), {"old": old}).one()
        new = _new_id(org, name, taken)
        taken.add(new)
        values = {"old": old, "new": new}
        # The new row first, then its references, then the old row: every foreign key holds at each step.
        bind.execute(
            sa.text(f"INSERT INTO member (id, {rest}) SELECT :new, {rest} FROM member WHERE id = :old"),
            values,
        )
        for table, column in REFERENCES:
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"), values)
        bind.execute(
            sa.text(
                "UPDATE task SET subject = :new WHERE subject = :old AND subject_kind IN ('member', 'officer')"
            ),
            values,
        )
        bind.execute(
            sa.text("UPDATE audit_event SET target = :new_target WHERE target = :old_target"),
            {"new_target": f"member:{new}", "old_target": f"member:{old}"},
        )
        bind.execute(sa.text("DELETE FROM member WHERE id = :old"), values)
    bind.execute(
        sa.text("UPDATE outbox_message SET mention_mobiles = NULL WHERE mention_mobiles IS NOT NULL")
    )
    bind.execute(sa.text("UPDATE plan_state SET registry_version = registry_version + 1"))


def downgrade() -> None:
    """The phone numbers are not kept as ids again."""
