"""The drivers' bulk paths for planning's large writes and reads.

PostgreSQL: rows go in by COPY (psycopg parses every long multi-row INSERT anew, which costs more than the
inserts themselves), and the digest queries of a large sweep are planned as the index lookups they are.
SQLite: SQLAlchemy's executemany (batched into multi-row INSERT … RETURNING) is already the fast path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, insert, text
from sqlalchemy.dialects import sqlite
from sqlmodel import Session

from obligations import tables

# A sweep that records at least this many reminders has its digest queries planned as index lookups.
BULK_REMINDERS = 10_000

# Per chunk of recipients, the digest queries read a few thousand pending reminders and their tasks. Right after
# a large sweep has written its reminders, PostgreSQL's statistics do not know them; even once analyzed, the
# planner prefers reading every pending reminder, or every task, into a hash table — per chunk, so that the
# sweep grows with the square of its size. Index lookups, without parallel workers, take milliseconds.
_LOOKUPS = {
    "enable_seqscan": "off",
    "enable_hashjoin": "off",
    "enable_mergejoin": "off",
    "max_parallel_workers_per_gather": "0",
}


def insert_returning_ids(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `table`; their new ids, in order.

    PostgreSQL: the ids are drawn from the table's sequence, then the rows COPied with them."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < 2:
        returning = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(session.scalars(returning, list(rows)).all())
    name = table.name
    columns = list(rows[0])
    assert all(list(row) == columns for row in rows), "rows of one shape"
    # What the ORM's insert would add: the columns' Python-side defaults (a server default applies by itself).
    omitted = {column.name: tables.scalar_default(column) for column in table.c if column.name not in columns}
    defaults = {name: value for name, value in omitted.items() if value is not None}
    ids = sorted(
        connection.execute(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"),
            {"table": name, "count": len(rows)},
        ).scalars()
    )
    processors = [table.c[column].type.bind_processor(connection.dialect) for column in columns]
    raw = connection.connection.driver_connection
    assert raw is not None
    names = ", ".join([*columns, *defaults])
    with raw.cursor() as cursor, cursor.copy(f"COPY {name} (id, {names}) FROM STDIN") as copy:
        for new_id, row in zip(ids, rows, strict=True):
            values = [
                process(row[column]) if process else row[column]
                for column, process in zip(columns, processors, strict=True)
            ]
            copy.write_row((new_id, *values, *defaults.values()))
    return ids


def insert_new_reminders(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the reminders not recorded yet (idempotent on the unique key); returns how many were new.

    SQLite: one statement executed with many parameter sets, through Core, which SQLAlchemy batches into
    multi-row INSERT … RETURNING ("insertmanyvalues") and compiles once. PostgreSQL: by COPY, see
    `_insert_new_reminders_by_copy`."""
    if not rows:
        return 0
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _insert_new_reminders_by_copy(connection, rows)
    table = tables.reminder
    statement = (
        sqlite.insert(table)
        .on_conflict_do_nothing(index_elements=["task_id", "step", "recipient", "due"])
        .returning(table.c.id)
    )
    return len(connection.execute(statement, list(rows)).all())


_STAGED = ("task_id", "step", "recipient", "due", "note", "created_at")


def _insert_new_reminders_by_copy(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """PostgreSQL: COPY into a temporary table, then one INSERT … SELECT … ON CONFLICT DO NOTHING (marked
    pending)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    columns = ", ".join(_STAGED)
    with raw.cursor() as cursor:
        cursor.execute(  # the columns of reminder, exactly; emptied by every commit or rollback
            f"CREATE TEMP TABLE IF NOT EXISTS reminder_stage ON COMMIT DELETE ROWS"
            f" AS SELECT {columns} FROM reminder WITH NO DATA"
        )
        with cursor.copy(f"COPY reminder_stage ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name in _STAGED))
        cursor.execute(
            f"INSERT INTO reminder ({columns}, pending) SELECT {columns}, true FROM reminder_stage"
            " ON CONFLICT (task_id, step, recipient, due) DO NOTHING"
        )
        created: int = cursor.rowcount
        cursor.execute("TRUNCATE reminder_stage")
    return created


def prefer_index_lookups(session: Session, reminders: int) -> dict[str, str]:
    """PostgreSQL, for a sweep that recorded `reminders` ≥ BULK_REMINDERS: the reminder table analyzed (its
    statistics then count the sweep's pending reminders) and the planner told to look rows up by index, for
    the rest of the transaction or until `restore_planner`. Returns the settings to restore (none elsewhere)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql" or reminders < BULK_REMINDERS:
        return {}
    connection.execute(text("ANALYZE reminder"))
    before = {name: connection.execute(text(f"SHOW {name}")).scalar_one() for name in _LOOKUPS}
    _set(session, _LOOKUPS)
    return before


def restore_planner(session: Session, before: Mapping[str, str]) -> None:
    if before:
        _set(session, before)


def _set(session: Session, settings: Mapping[str, str]) -> None:
    for name, value in settings.items():  # local to the transaction: the commit or rollback ends it too
        session.execute(text("SELECT set_config(:name, :value, true)"), {"name": name, "value": value})
