"""The migrations build exactly the schema obligations/tables.py declares (tables, columns, types, indexes, keys), on
SQLite and PostgreSQL: a column added to a model without its migration, or a migration that drifts from its
model, fails here rather than on an operator's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import obligations.models  # noqa: F401  (maps every table: a model that drifts from its table fails on import)
from obligations.tables import metadata


def test_the_migrated_schema_is_the_models_schema(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
