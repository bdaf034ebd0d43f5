"""`obligations init --demo` opens desk accounts for the demo's 组织员 and one branch secretary and prints their
passwords once, so that a `make run` user can sign in (issue 11, README quick start: "the demo creates a password
for its 组织员 and one secretary, printed by `init --demo`")."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from obligations import accounts
from obligations.cli import cli
from obligations.cli.web import asgi
from obligations.demo_accounts import demo_password
from tests.obligations.web.conftest import login_token

ORIGIN = "http://127.0.0.1:8080"
_LINE = re.compile(r"^\s+(m\d+) \S+（(.+?)）\s+密码 (\S+)$", re.MULTILINE)


def _init_demo(tmp_path: Path, database_url: str) -> tuple[list[str], str]:
    base = ["--config", str(tmp_path / "config.toml"), "--db", database_url]
    result = CliRunner().invoke(cli, [*base, "init", "--demo"])
    assert result.exit_code == 0, result.output
    return base, result.output


def _printed(output: str) -> dict[str, tuple[str, str]]:
    return {member: (role, password) for member, role, password in _LINE.findall(output)}


def _desk(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """The desk as `gunicorn 'obligations.cli.web:asgi()'` builds it, on the demo's config and database."""
    monkeypatch.setenv("OBLIGATIONS_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.setenv("OBLIGATIONS_DATABASE_URL", database_url)
    return TestClient(asgi(), base_url=ORIGIN, headers={"origin": ORIGIN})


def _sign_in(client: TestClient, member: str, password: str) -> int:
    response = client.post(
        "/login",
        data={"member": member, "password": password, "csrf_token": login_token(client), "next": "/"},
        follow_redirects=False,
    )
    return response.status_code


def test_demo_prints_passwords_that_sign_in_as_the_organizer_and_a_branch_secretary(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _base, output = _init_demo(tmp_path, database_url)
    printed = _printed(output)
    # The 机关党委's 组织委员 (m03 in obligations/demo.py) and the secretary of 综合处室党支部 jg.b1 (m04).
    assert set(printed) == {"m03", "m04"}, output
    assert printed["m03"][0] == "机关党委组织员" and printed["m04"][0] == "支部书记"
    for _role, password in printed.values():
        assert accounts.password_problem(password) is None
    assert printed["m03"][1] != printed["m04"][1]

    organizer = _desk(tmp_path, database_url, monkeypatch)
    assert _sign_in(organizer, "m03", printed["m03"][1]) == 303
    todo = organizer.get("/")
    assert todo.status_code == 200
    secretary = _desk(tmp_path, database_url, monkeypatch)
    assert _sign_in(secretary, "m04", printed["m03"][1]) == 401  # the other account's password
    assert _sign_in(secretary, "m04", printed["m04"][1]) == 303
    # The secretary's 我的待办 lists the demo's overdue 党员大会 of jg.b1 (left undone by the demo).
    assert "党员大会" in secretary.get("/").text


def test_repeating_init_demo_keeps_the_accounts_and_says_so(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, first = _init_demo(tmp_path, database_url)
    printed = _printed(first)
    again = CliRunner().invoke(cli, [*base, "init", "--demo"])
    assert again.exit_code == 0, again.output
    assert _printed(again.output) == {}  # no password is shown twice
    assert "m03" in again.output and "已有账号，密码不变" in again.output
    assert "obligations user passwd m04" in again.output
    client = _desk(tmp_path, database_url, monkeypatch)
    assert _sign_in(client, "m04", printed["m04"][1]) == 303  # the first password still signs in


def test_each_demo_database_gets_its_own_passwords(tmp_path: Path) -> None:
    first = _printed(_init_demo(tmp_path / "a", f"sqlite:///{tmp_path / 'a.db'}")[1])
    second = _printed(_init_demo(tmp_path / "b", f"sqlite:///{tmp_path / 'b.db'}")[1])
    assert first["m03"][1] != second["m03"][1] and first["m04"][1] != second["m04"][1]


def test_demo_passwords_always_satisfy_the_policy() -> None:
    passwords = {demo_password() for _ in range(200)}
    assert len(passwords) == 200
    assert all(accounts.password_problem(password) is None for password in passwords)
