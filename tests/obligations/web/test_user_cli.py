"""`obligations user` and `obligations audit` (issue 11 "Who gets in" and "Records know who made them"): accounts
are opened only for registry members, passwords follow the policy and never appear in output, a reset or a
disable ends the member's sessions, and every such act is in the audit log with the command line's actor."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path

from click.testing import CliRunner, Result
from sqlmodel import Session, col, select

from obligations import db
from obligations.cli import cli
from obligations.models import Account, AuditEvent, WebSession
from tests.obligations.conftest import run


def _user(workspace: tuple[Path, str], *args: str, password: str | None = None) -> Result:
    config, url = workspace
    return CliRunner().invoke(
        cli, ["--config", str(config), "--db", url, "user", *args], input=password, catch_exceptions=False
    )


def _session(workspace: tuple[Path, str]) -> Session:
    return Session(db.make_engine(workspace[1]))


def test_an_account_is_opened_for_a_registry_member_with_a_hashed_password(
    imported: tuple[Path, str],
) -> None:
    result = _user(imported, "add", "jgb1m1", "--password-stdin", password="secret123\n")
    assert result.exit_code == 0, result.output
    assert "已为 jgb1m1 开通账号" in result.stdout and "secret123" not in result.output
    with _session(imported) as session:
        account = session.get(Account, "jgb1m1")
        assert account is not None and account.password_hash and account.password_hash.startswith("$argon2")
    listed = _user(imported, "list")
    assert "jgb1m1" in listed.stdout and "正常" in listed.stdout and "$argon2" not in listed.stdout


def test_an_account_for_someone_outside_the_registry_is_refused(imported: tuple[Path, str]) -> None:
    result = _user(imported, "add", "stranger", "--password-stdin", password="secret123\n")
    assert result.exit_code == 8
    assert "名册中没有党员" in result.stderr


def test_a_weak_password_is_refused_and_no_account_is_made(imported: tuple[Path, str]) -> None:
    result = _user(imported, "add", "jgb1m1", "--password-stdin", password="onlyletters\n")
    assert result.exit_code == 1 and "字母和数字" in result.stderr
    with _session(imported) as session:
        assert session.get(Account, "jgb1m1") is None


def test_a_second_account_for_the_same_member_is_refused(imported: tuple[Path, str]) -> None:
    assert _user(imported, "add", "jgb1m1", "--password-stdin", password="secret123\n").exit_code == 0
    again = _user(imported, "add", "jgb1m1", "--password-stdin", password="secret456\n")
    assert again.exit_code == 1 and "已有账号" in again.stderr


def test_passwd_and_disable_end_the_members_sessions(imported: tuple[Path, str]) -> None:
    import datetime as dt

    from obligations import accounts

    assert _user(imported, "add", "jgb1m1", "--password-stdin", password="secret123\n").exit_code == 0
    now = dt.datetime(2026, 11, 21, 2, 0, tzinfo=dt.UTC)
    with _session(imported) as session:
        accounts.open_session(session, "jgb1m1", method="password", now=now, address="127.0.0.1")
        session.commit()
    assert _user(imported, "passwd", "jgb1m1", "--password-stdin", password="changed99\n").exit_code == 0
    with _session(imported) as session:
        assert all(row.revoked_at is not None for row in session.exec(select(WebSession)))
        accounts.open_session(session, "jgb1m1", method="password", now=now, address="127.0.0.1")
        session.commit()
    assert _user(imported, "disable", "jgb1m1").exit_code == 0
    with _session(imported) as session:
        assert all(row.revoked_at is not None for row in session.exec(select(WebSession)))
    assert "已停用" in _user(imported, "list").stdout
    assert _user(imported, "enable", "jgb1m1").exit_code == 0
    assert "正常" in _user(imported, "list").stdout


def test_account_changes_are_in_the_audit_log_with_the_command_lines_actor(
    imported: tuple[Path, str],
) -> None:
    assert _user(imported, "add", "jgb1m1", "--password-stdin", password="secret123\n").exit_code == 0
    assert _user(imported, "disable", "jgb1m1").exit_code == 0
    with _session(imported) as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    assert [(event.action, event.channel, event.target) for event in events] == [
        ("user_add", "cli", "member:jgb1m1"),
        ("user_disable", "cli", "member:jgb1m1"),
    ]
    assert all(event.actor == getpass.getuser() for event in events)
    shown = run(imported, "audit", "--member", getpass.getuser())
    assert shown.exit_code == 0
    assert "开通账号" in shown.stdout and "停用账号" in shown.stdout and "命令行" in shown.stdout
    assert "没有符合条件" in run(imported, "audit", "--member", "nobody").stdout


def test_audit_since_takes_a_date_from_its_start_and_any_date_time_form(imported: tuple[Path, str]) -> None:
    assert _user(imported, "add", "jgb1m1", "--password-stdin", password="secret123\n").exit_code == 0
    with _session(imported) as session:  # made at 08:00 Beijing on 2026-11-21
        event = session.exec(select(AuditEvent)).one()
        event.at = dt.datetime(2026, 11, 21, 0, 0, tzinfo=dt.UTC)
        session.add(event)
        session.commit()
    for since in ("2026-11-21", "2026-11-21 07:59", "2026-11-20T23:59:00Z", "2026-11-21T07:59:00+0800"):
        shown = run(imported, "audit", "--since", since)
        assert shown.exit_code == 0 and "开通账号" in shown.stdout, since
    for since in ("2026-11-21 08:01", "2026-11-21T00:01Z", "2026-11-21T08:01:00+08:00", "2026-11-22"):
        shown = run(imported, "audit", "--since", since)
        assert shown.exit_code == 0 and "没有符合条件" in shown.stdout, since
    refused = run(imported, "audit", "--since", "2026-11-21 8am")
    assert refused.exit_code == 1 and refused.stderr.startswith("错误：无法识别的时间 '2026-11-21 8am'")
