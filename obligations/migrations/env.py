"""Alembic environment: migrations run on the connection the application hands over."""

from __future__ import annotations

from alembic import context

from obligations.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `obligations init`, which provides the connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
