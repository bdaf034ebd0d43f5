"""我的待办 reads one person's tasks by index (migration 0012): on a planned city the query behind the page
(duelist.Mine) probes the person's assignee, subject and organization indexes instead of reading every open task
of the city due within the window through (status, due) — which cost a 1,000-branch city 250 ms a page on SQLite
and would cost a 10,000-branch city seconds (benchmarks/bench_web.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Engine, event

from calendars.model import OrgKind
from obligations import duelist, importer, planner, planstate
from obligations.db import session_scope
from obligations.registry import OrgRecord, PositionRecord, Registry
from obligations.web.todo import WITHIN_DAYS
from tests.obligations.registry_fixtures import member
from tests.obligations.web.conftest import AS_OF, PROFILES

BRANCHES = 150


def _city() -> Registry:
    """A 党委 over BRANCHES branches of 9 members, each with its secretary."""
    orgs = [OrgRecord("c", "机关党委", OrgKind.COMMITTEE, None, "national", dt.date(2023, 3, 1), None)]
    members = []
    positions = []
    for i in range(BRANCHES):
        code = f"c.b{i}"
        orgs.append(OrgRecord(code, f"第{i}党支部", OrgKind.BRANCH, "c", None, dt.date(2024, 3, 1), None))
        members.extend(member(f"b{i}m{j}", code) for j in range(9))
        positions.append(PositionRecord(code, "secretary", f"b{i}m0", dt.date(2024, 3, 1), None))
    return Registry(tuple(orgs), tuple(members), tuple(positions))


def _todo_plan(engine: Engine, mine: duelist.Mine) -> str:
    """The database's plan for 我的待办's task query, as the page sends it."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM task JOIN organization" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_scope(engine) as session:
            rows = duelist.due_rows(session, PROFILES, as_of=AS_OF, within=WITHIN_DAYS, mine=mine)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert rows, "the secretary has tasks on 我的待办"
    ((statement, parameters),) = sent
    explain = "EXPLAIN QUERY PLAN" if engine.dialect.name == "sqlite" else "EXPLAIN"
    with engine.connect() as connection:
        return " | ".join(
            str(row[-1]) for row in connection.exec_driver_sql(f"{explain} {statement}", parameters)
        )


def test_my_todo_reads_the_persons_tasks_by_index_not_every_open_task(engine: Engine) -> None:
    with session_scope(engine) as session:
        importer.apply(session, _city(), prune=False, default_profile="national", as_of=AS_OF)
        planned = planner.plan(session, PROFILES, AS_OF, planstate.default_horizon(AS_OF))
    assert planned.inserted > 10_000  # enough for the planner to refresh the statistics
    plan = _todo_plan(engine, duelist.Mine("b7m0", frozenset({"c.b7"})))
    assert "ix_task_assignee_due" in plan and "ix_task_subject_due" in plan, plan
    assert "ix_task_org_due" in plan, plan
    assert "ix_task_status_due" not in plan, plan
