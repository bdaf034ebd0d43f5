"""Signing in to the desk (issue 11 "Who gets in"): accounts of registry members, argon2 passwords with a policy,
lockout after repeated failures, server-side sessions that are revocable and time out, cookies HttpOnly and
SameSite=Lax, and a CSRF token plus a matching Origin on every state-changing request."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

from obligations import accounts
from obligations.models import Account, WebSession
from obligations.web import create_app
from tests.obligations.web.conftest import (
    BASE_URL,
    PASSWORD,
    PROFILES,
    DeskFixture,
    audit_events,
    csrf_of,
    desk_config,
    login_token,
)


def test_a_page_without_a_session_leads_to_the_sign_in_and_back(desk: DeskFixture) -> None:
    client = desk.client()
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/"
    form = client.get(response.headers["location"]).text
    assert 'name="member"' in form and 'name="password"' in form and 'name="csrf_token"' in form
    assert 'name="next" value="/"' in form


def test_signing_in_sets_an_httponly_lax_session_cookie_and_shows_my_tasks(desk: DeskFixture) -> None:
    client = desk.client()
    response = client.post(
        "/login",
        data={"member": "b1m1", "password": PASSWORD, "csrf_token": login_token(client), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    cookie = next(
        value for value in response.headers.get_list("set-cookie") if value.startswith("obligations_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert "我的待办" in page.text and "第一党支部" in page.text
    assert [event.actor for event in audit_events(desk, "login")] == ["b1m1"]


def test_cookies_are_secure_when_the_desk_is_served_over_https(desk: DeskFixture, tmp_path: Path) -> None:
    config = desk_config(tmp_path, public_url="https://desk.test")
    client_app = create_app(config, desk.engine, PROFILES, clock=desk.clock)
    from starlette.testclient import TestClient

    client = TestClient(client_app, base_url="https://desk.test", headers={"origin": "https://desk.test"})
    response = client.post(
        "/login",
        data={"member": "b1m1", "password": PASSWORD, "csrf_token": login_token(client), "next": "/"},
        follow_redirects=False,
    )
    cookie = next(
        value for value in response.headers.get_list("set-cookie") if value.startswith("obligations_session=")
    )
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("member", "password"),
    [("b1m1", "wrong1234"), ("nobody", PASSWORD), ("", "")],
)
def test_a_wrong_member_or_password_is_refused_with_one_message(
    desk: DeskFixture, member: str, password: str
) -> None:
    client = desk.client()
    response = client.post(
        "/login",
        data={"member": member, "password": password, "csrf_token": login_token(client), "next": "/"},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "党员编号或密码不正确" in response.text
    assert "obligations_session" not in response.headers.get("set-cookie", "")
    assert len(audit_events(desk, "login_failed")) == 1


def test_repeated_failures_lock_the_account_until_the_lockout_passes(desk: DeskFixture) -> None:
    client = desk.client()
    attempts = desk.config.web.login_attempts
    for attempt in range(attempts):
        response = client.post(
            "/login",
            data={"member": "b1m1", "password": "wrong1234", "csrf_token": login_token(client)},
        )
        if attempt < attempts - 1:
            assert f"再错 {attempts - attempt - 1} 次" in response.text
    assert "已锁定" in response.text
    # Even the right password is refused while locked …
    response = client.post(
        "/login", data={"member": "b1m1", "password": PASSWORD, "csrf_token": login_token(client)}
    )
    assert response.status_code == 401 and "已锁定" in response.text
    # … and accepted once the lockout has passed.
    desk.clock.advance(minutes=desk.config.web.lockout_minutes + 1)
    desk.signed_in("b1m1")


def test_a_new_password_lifts_the_lockout_and_ends_every_session(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m1")
    with Session(desk.engine) as session:
        accounts.set_password(session, "b1m1", "newpass99", now=desk.clock())
        session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
    desk.signed_in("b1m1", "newpass99")


@pytest.mark.parametrize("password", ["short1", "lettersonly", "12345678"])
def test_the_password_policy_asks_for_eight_characters_with_letters_and_digits(password: str) -> None:
    assert accounts.password_problem(password) is not None


def test_a_session_idle_longer_than_session_hours_signs_out(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m1")
    desk.clock.advance(hours=desk.config.web.session_hours - 1)
    assert client.get("/").status_code == 200  # activity keeps it alive
    desk.clock.advance(hours=desk.config.web.session_hours - 1)
    assert client.get("/").status_code == 200
    desk.clock.advance(hours=desk.config.web.session_hours, minutes=1)
    assert client.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_signing_out_revokes_the_session_on_the_server(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m1")
    cookie = client.cookies["obligations_session"]
    page = client.get("/").text
    assert (
        client.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False).status_code == 303
    )
    # The old cookie, replayed, no longer signs anyone in.
    replay = desk.client()
    replay.cookies.set("obligations_session", cookie)
    assert replay.get("/", follow_redirects=False).status_code == 303
    with Session(desk.engine) as session:
        assert all(row.revoked_at is not None for row in session.exec(select(WebSession)))


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m5")
    with Session(desk.engine) as session:
        accounts.set_disabled(session, "b1m5", True, now=desk.clock())
        session.commit()
    assert client.get("/", follow_redirects=False).status_code == 303
    fresh = desk.client()
    response = fresh.post(
        "/login", data={"member": "b1m5", "password": PASSWORD, "csrf_token": login_token(fresh)}
    )
    assert response.status_code == 401 and "已停用" in response.text


def test_the_stored_password_is_an_argon2_hash(desk: DeskFixture) -> None:
    with Session(desk.engine) as session:
        account = session.get(Account, "b1m1")
        assert account is not None and account.password_hash is not None
        assert account.password_hash.startswith("$argon2") and PASSWORD not in account.password_hash


@pytest.mark.parametrize(
    ("token", "origin"),
    [(None, BASE_URL), ("forged", BASE_URL), ("right", "http://evil.test"), ("right", None)],
)
def test_a_post_without_the_csrf_token_or_from_another_origin_is_refused(
    desk: DeskFixture, token: str | None, origin: str | None
) -> None:
    client = desk.signed_in("b1m1")
    right = csrf_of(client.get("/").text)
    data = {} if token is None else {"csrf_token": right if token == "right" else token}
    headers = {"origin": origin} if origin else {}
    if origin is None:
        client.headers.pop("origin")
    response = client.post("/logout", data=data, headers=headers, follow_redirects=False)
    assert response.status_code == 403
    assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
    refused = audit_events(desk, "refused")
    assert refused and refused[-1].actor == "b1m1" and refused[-1].detail == "csrf"


def test_the_sign_in_form_itself_needs_its_csrf_token(desk: DeskFixture) -> None:
    client = desk.client()
    login_token(client)
    response = client.post("/login", data={"member": "b1m1", "password": PASSWORD, "csrf_token": "x"})
    assert response.status_code == 403


def test_next_after_sign_in_never_leaves_the_desk(desk: DeskFixture) -> None:
    client = desk.client()
    response = client.post(
        "/login",
        data={
            "member": "b1m1",
            "password": PASSWORD,
            "csrf_token": login_token(client),
            "next": "//evil.test/x",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_every_page_carries_security_headers(desk: DeskFixture) -> None:
    response = desk.client().get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
