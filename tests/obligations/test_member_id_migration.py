"""Migration 0018: members whose id an earlier version made of their mobile number get "org/name", with every
reference, so that a re-import of the same roster (now deriving "org/name") updates them instead of adding them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import Session, select

from obligations import db
from obligations.models import (
    Account,
    Attendance,
    AuditEvent,
    Completion,
    Member,
    Organization,
    OutboxMessage,
    Position,
    Task,
)
from tests.obligations.conftest import REGISTRY, run

AT = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def _member(member_id: str, name: str, mobile: str | None) -> Member:
    return Member(
        id=member_id, name=name, org="jg.b1", status="full", joined_on=dt.date(2010, 7, 1), mobile=mobile
    )


def _task(subject: str, assignee: str) -> Task:
    return Task(
        org="jg.b1", rule="study-hours", subject=subject, subject_kind="member", period="2026",
        period_start=dt.date(2026, 1, 1), due=dt.date(2026, 12, 31), responsible="member", assignee=assignee,
    )  # fmt: skip


def test_phone_number_ids_become_org_and_name_with_every_reference(database_url: str, tmp_path: Path) -> None:
    engine = db.make_engine(db.resolve_url(database_url, Path.cwd()), create=True)
    try:
        with engine.begin() as connection:
            command.upgrade(db.alembic_config(connection), "0017")
        with Session(engine) as session:
            session.add(
                Organization(
                    code="jg.b1",
                    name="第一党支部",
                    kind="branch",
                    path="/jg.b1/",
                    effective_profile="national",
                )
            )
            session.flush()
            # 张三 was listed without an id (old: his mobile); 张三 of the same name already holds "jg.b1/张三".
            session.add_all([
                _member("13800000001", "张三", "13800000001"),
                _member("jg.b1/张三", "张三", None),
                _member("m7", "李四", "13800000007"),
            ])  # fmt: skip
            session.flush()
            session.add_all([
                Position(org="jg.b1", role="secretary", member="13800000001", since=dt.date(2024, 1, 1)),
                _task("13800000001", "13800000001"),
                Completion(org="jg.b1", held_on=dt.date(2026, 10, 1), fingerprint="f", recorded_at=AT,
                           lecturer="13800000001", recorded_by="13800000001"),
                Account(member="13800000001", created_at=AT),
                AuditEvent(at=AT, actor="13800000001", channel="web", action="login",
                           target="member:13800000001", outcome="ok"),
                OutboxMessage(recipient="13800000001", channel="wecom_robot", address="robot:jg.b1", subject="s",
                              text="t", mention_mobiles="13800000001", created_at=AT, next_attempt_at=AT),
            ])  # fmt: skip
            session.flush()
            completion = session.exec(select(Completion)).one()
            session.add(Attendance(completion_id=completion.id, member="13800000001"))
            session.commit()

        db.upgrade(engine)

        new = "jg.b1/张三（2）"
        with Session(engine) as session:
            assert {member.id: member.mobile for member in session.exec(select(Member))} == {
                new: "13800000001", "jg.b1/张三": None, "m7": "13800000007",
            }  # fmt: skip
            assert session.exec(select(Position.member)).one() == new
            task = session.exec(select(Task)).one()
            assert (task.subject, task.assignee) == (new, new)
            completion = session.exec(select(Completion)).one()
            assert (completion.lecturer, completion.recorded_by) == (new, new)
            assert session.exec(select(Attendance.member)).one() == new
            assert session.exec(select(Account.member)).one() == new
            event = session.exec(select(AuditEvent)).one()
            assert (event.actor, event.target) == (new, f"member:{new}")
            outbox = session.exec(select(OutboxMessage)).one()
            assert (outbox.recipient, outbox.mention_mobiles) == (new, None)
        with engine.connect() as connection:
            dumped = "\n".join(
                str(row)
                for table in (
                    "member",
                    "position",
                    "task",
                    "completion",
                    "attendance",
                    "account",
                    "audit_event",
                )
                for row in connection.execute(text(f"SELECT * FROM {table}"))
            )
        # The number stays only where it is the member's mobile, in the member table.
        assert dumped.count("13800000001") == 1
    finally:
        engine.dispose()


def test_a_roster_imported_by_an_earlier_version_updates_its_members_after_the_migration(
    workspace: tuple[Path, str], tmp_path: Path
) -> None:
    url = workspace[1]
    assert run(workspace, "init").exit_code == 0
    organizations = workspace[0].parent / "registry.toml"
    organizations.write_text(REGISTRY, encoding="utf-8")
    assert run(workspace, "import", str(organizations), "--as-of", "2026-11-21").exit_code == 0
    engine = db.make_engine(url)
    try:
        with engine.begin() as connection:  # the database as an earlier version left it
            command.downgrade(db.alembic_config(connection), "0017")
        with Session(engine) as session:
            session.add(_member("13800000001", "张三", "13800000001"))
            session.commit()
    finally:
        engine.dispose()
    assert run(workspace, "init").exit_code == 0  # upgrades
    roster = tmp_path / "名册.csv"
    roster.write_text(
        "姓名,所在组织,人员类别,入党日期,手机\n张三,jg.b1,正式党员,2010-07-01,13800000001\n", "utf-8"
    )

    result = run(workspace, "import", str(roster), "--as-of", "2026-11-21")

    assert result.exit_code == 0, result.stderr
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            assert session.exec(select(Member.id).where(Member.org == "jg.b1")).all() == ["jg.b1/张三"]
    finally:
        engine.dispose()
