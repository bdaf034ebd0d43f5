"""The profiles a plan or a sweep needs: those of active organizations, and of pruned ones still owing tasks."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlmodel import Session

from obligations import planstate
from obligations.models import Organization, Task


def _org(code: str, profile: str, *, active: bool) -> Organization:
    return Organization(
        code=code, name=code, kind="branch", path=f"/{code}/", effective_profile=profile, active=active
    )


def _task(org: str, status: str) -> Task:
    day = dt.date(2026, 11, 30)
    return Task(
        org=org, rule="theme-party-day", subject=org, subject_kind="org", period="2026-11",
        period_start=dt.date(2026, 11, 1), due=day, status=status, responsible="secretary",
    )  # fmt: skip


def test_a_pruned_organization_needs_its_profile_only_while_it_owes_open_tasks(engine: Engine) -> None:
    with Session(engine) as session:
        session.add_all(
            [
                _org("live", "national", active=True),
                _org("owing", "wujin-2016", active=False),
                _org("settled", "suzhou-2020", active=False),
            ]
        )
        session.flush()
        session.add_all([_task("owing", "open"), _task("settled", "done")])
        session.commit()

        assert planstate.profiles_in_use(session) == {"national", "wujin-2016"}
