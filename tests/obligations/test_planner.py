"""The planner on SQLite and PostgreSQL, with the registry of the planner issue, as of 2026-11-21."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from calendars.profiles import load_profiles
from obligations import importer, planner, planstate
from obligations.db import session_scope
from obligations.duelist import due_rows
from obligations.models import Task
from obligations.registry import PositionRecord, Registry, validate
from tests.obligations.registry_fixtures import issue_registry, without_members

D = dt.date
AS_OF = D(2026, 11, 21)
PROFILES = load_profiles()
TRACKED = D(2025, 1, 1)  # the registry's organizations are tracked since 2025 (跟踪起始)


def _import(engine: Engine, registry: Registry, *, prune: bool = False, as_of: dt.date = AS_OF) -> None:
    with session_scope(engine) as session:
        existing = importer.existing_registry(session)
        assert validate(registry, file="test", existing=existing, as_of=as_of, profiles=PROFILES) == []
        importer.apply(
            session, registry, prune=prune, default_profile="national", as_of=as_of, track_from=TRACKED
        )
        planner.ensure_planned(session, PROFILES, as_of, planstate.default_horizon(as_of))


def _tasks(engine: Engine, **where: str) -> list[Task]:
    with session_scope(engine) as session:
        query = select(Task).order_by(col(Task.due), col(Task.rule))
        for name, value in where.items():
            query = query.where(getattr(Task, name) == value)
        return list(session.exec(query))


@pytest.fixture
def planned(engine: Engine) -> Engine:
    _import(engine, issue_registry())
    return engine


def test_the_issue_registry_as_of_2026_11_21(planned: Engine) -> None:
    with session_scope(planned) as session:
        rows = {
            (row.org, row.rule, row.period): row
            for row in due_rows(session, PROFILES, as_of=AS_OF, within=120)
        }
    election = rows[("jg.b1", "term-election", "2023-11-20/P3Y")]
    assert (election.due, election.status, election.days_left) == (D(2026, 11, 20), "overdue", -1)
    vacancy = rows[("jg.b1", "vacancy-fill", "vacancy:deputy_secretary:2026-06-01")]
    assert (vacancy.due, vacancy.status) == (D(2026, 12, 1), "open")
    november = rows[("jg.b1", "committee-meeting", "2026-11")]
    assert (november.due, november.assignee) == (D(2026, 11, 30), "党员b1m1")
    assert not [key for key in rows if key[0] == "jg.b2" and key[1] == "committee-meeting"]
    life = rows[("jg.b2", "organizational-life-meeting", "2026-H2")]
    assert life.due == D(2026, 12, 31)
    jg_election = rows[("jg", "term-election", "2022-03-10/P5Y")]
    assert jg_election.due == D(2027, 3, 10)


def test_tasks_run_from_the_previous_period_to_the_end_of_next_year(planned: Engine) -> None:
    meetings = _tasks(planned, org="jg.b1", rule="committee-meeting")
    assert [t.period for t in meetings] == ["2026-10", "2026-11", "2026-12"] + [
        f"2027-{m:02d}" for m in range(1, 13)
    ]
    quarters = _tasks(planned, org="jg.b1", rule="general-meeting")
    assert quarters[0].period == "2026-Q3"
    talks = _tasks(planned, org="jg.b1", rule="heart-to-heart-talk")
    assert [t.period for t in talks] == ["2025", "2026", "2027"]
    assert not _tasks(planned, org="jg.b1", rule="party-lesson")  # Wujin's quarterly 党课, not the baseline's


def test_planning_is_idempotent(planned: Engine) -> None:
    before = len(_tasks(planned))
    with session_scope(planned) as session:
        assert planner.ensure_planned(session, PROFILES, AS_OF, planstate.default_horizon(AS_OF)) is None
        summary = planner.plan(session, PROFILES, AS_OF, planstate.default_horizon(AS_OF), everything=True)
    assert (summary.inserted, summary.updated, summary.removed) == (0, 0, 0)
    assert len(_tasks(planned)) == before


def test_a_branch_that_drops_below_seven_loses_its_future_committee_meetings_but_keeps_done_ones(
    planned: Engine,
) -> None:
    with session_scope(planned) as session:
        done = session.exec(
            select(Task).where(
                Task.org == "jg.b1", Task.period == "2027-01", Task.rule == "committee-meeting"
            )
        ).one()
        done.status, done.done_count, done.done_on = "done", 1, D(2026, 11, 20)
        session.add(done)
    _import(planned, without_members(issue_registry(), "b1m5", "b1m6", "b1m7"), prune=True, as_of=AS_OF)
    meetings = _tasks(planned, org="jg.b1", rule="committee-meeting")
    # October's is overdue and stays owed; November (due 11-30) onward go; January 2027 was done and stays.
    assert [(t.period, t.status) for t in meetings] == [("2026-10", "open"), ("2027-01", "done")]


def test_a_new_vacancy_creates_its_vacancy_fill_task(planned: Engine) -> None:
    registry = issue_registry()
    registry = replace(
        registry,
        positions=(
            *[p for p in registry.positions if not (p.org == "jg.b1" and p.role == "organization")],
            PositionRecord("jg.b1", "organization", None, None, D(2026, 11, 2)),
        ),
    )
    _import(planned, registry, prune=True)
    fills = _tasks(planned, org="jg.b1", rule="vacancy-fill")
    assert [(t.period, t.due) for t in fills] == [
        ("vacancy:deputy_secretary:2026-06-01", D(2026, 12, 1)),
        ("vacancy:organization:2026-11-02", D(2027, 5, 2)),
    ]


def test_filling_a_vacancy_removes_its_task(planned: Engine) -> None:
    registry = issue_registry()
    registry = replace(
        registry,
        positions=(
            *[p for p in registry.positions if p.role != "deputy_secretary"],
            PositionRecord("jg.b1", "deputy_secretary", "b1m3", D(2026, 11, 10), None),
        ),
    )
    _import(planned, registry)
    assert _tasks(planned, org="jg.b1", rule="vacancy-fill") == []


def test_a_new_election_moves_the_term_election_deadline(planned: Engine) -> None:
    registry = issue_registry()
    orgs = tuple(replace(o, elected_on=D(2026, 11, 18)) if o.code == "jg.b1" else o for o in registry.orgs)
    _import(planned, replace(registry, orgs=orgs))
    elections = _tasks(planned, org="jg.b1", rule="term-election")
    assert [(t.period, t.due) for t in elections] == [("2026-11-18/P3Y", D(2029, 11, 18))]


def test_due_for_an_org_includes_its_whole_subtree(planned: Engine) -> None:
    with session_scope(planned) as session:
        rows = due_rows(session, PROFILES, as_of=AS_OF, org="jg.b1")
        everything = due_rows(session, PROFILES, as_of=AS_OF)
    assert {row.org for row in rows} == {"jg.b1", "jg.b1.g1"}
    assert {row.org for row in everything} == {"jg", "jg.b1", "jg.b1.g1", "jg.b2"}
    assert [row.due for row in everything] == sorted(row.due for row in everything)
    assert all(row.due <= AS_OF + dt.timedelta(days=30) for row in everything)


def test_the_group_meeting_falls_to_the_group_leader_and_a_vacant_seat_to_the_secretary(
    planned: Engine,
) -> None:
    (group,) = _tasks(planned, org="jg.b1.g1", rule="group-meeting", period="2026-11")
    assert group.assignee == "g1m1"
    (fill,) = _tasks(planned, org="jg.b1", rule="vacancy-fill")
    assert fill.assignee == "b1m1"


def test_planning_an_earlier_date_keeps_events_triggered_after_its_window(planned: Engine) -> None:
    """A plan for 2020 cannot see the 2026 vacancy or the 2023/2024 elections: it must not take them away."""
    before = {task.id: (task.rule, task.subject, task.period) for task in _tasks(planned)}
    assert ("vacancy-fill", "jg.b1", "vacancy:deputy_secretary:2026-06-01") in before.values()
    with session_scope(planned) as session:
        summary = planner.plan(session, PROFILES, D(2020, 6, 30), planstate.default_horizon(D(2020, 6, 30)))
    assert summary.removed == 0
    after = {task.id: (task.rule, task.subject, task.period) for task in _tasks(planned)}
    assert {task_id: after.get(task_id) for task_id in before} == before
