"""The schema is defined once (obligations/tables.py) and the model classes are its Python face: a model that
drifts from its table (a field without a column, a column without a field, another nullability, another default)
is refused when the module is imported, before any row is read or written."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table
from sqlmodel import SQLModel

from obligations import models, tables

# A table of its own: the classes below are refused before they are mapped, so nothing is registered.
_PROBE = Table(
    "probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False),
    Column("until", Date),
    Column("active", Boolean, nullable=False, default=True),
)


def _define(body: str) -> type[Any]:
    namespace: dict[str, Any] = {"models": models, "dt": dt, "_PROBE": _PROBE}
    exec(f"class Probe(models.Row, table=True):\n    __table__ = _PROBE\n{body}", namespace)
    return namespace["Probe"]


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (
            "    id: int | None = None\n    name: str\n    until: dt.date | None = None\n",
            "differ: ['active']",
        ),
        (
            "    id: int | None = None\n    name: str\n    until: dt.date | None = None\n    active: bool = True\n"
            "    extra: str\n",
            "differ: ['extra']",
        ),
        (
            "    id: int | None = None\n    name: str | None = None\n    until: dt.date | None = None\n"
            "    active: bool = True\n",
            "Probe.name: str | None, column nullable=False",
        ),
        (
            "    id: int | None = None\n    name: str\n    until: dt.date\n    active: bool = True\n",
            "Probe.until: dt.date, column nullable=True",
        ),
        (
            "    id: int | None = None\n    name: str\n    until: dt.date | None = None\n    active: bool = False\n",
            "Probe.active: default False, column default True",
        ),
        (
            "    id: int | None = None\n    name: str = 'x'\n    until: dt.date | None = None\n    active: bool = True\n",
            "Probe.name: default 'x', column default None",
        ),
    ],
)
def test_a_model_that_drifts_from_its_table_is_refused_at_import(body: str, complaint: str) -> None:
    with pytest.raises(TypeError) as refused:
        _define(body)
    assert complaint in str(refused.value)


def test_every_table_has_its_model_and_every_model_its_table_of_the_schema() -> None:
    mapped = {
        cls.__table__.name: cls
        for cls in vars(models).values()
        if isinstance(cls, type) and issubclass(cls, SQLModel) and hasattr(cls, "__table__")
    }
    assert set(mapped) == set(tables.metadata.tables)
    for name, cls in mapped.items():
        assert cls.__table__ is tables.metadata.tables[name]
        assert set(cls.model_fields) == set(tables.metadata.tables[name].c.keys())


def test_a_model_reads_and_writes_through_its_table_columns() -> None:
    assert models.Task.due.property.columns[0] is tables.task.c.due
    task = models.Task(
        org="b1", rule="r", subject="b1", subject_kind="org", period="2026", period_start=dt.date(2026, 1, 1),
        due=dt.date(2026, 12, 31), responsible="secretary",
    )  # fmt: skip
    # the defaults are the columns': what an insert that omits them stores
    assert (task.status, task.unit, task.done_count, task.required_count) == ("open", "times", 0, 1)
    assert tables.scalar_default(tables.task.c.status) == "open"
