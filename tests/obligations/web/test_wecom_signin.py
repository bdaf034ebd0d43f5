"""企业微信 sign-in (issue 11: "silent OAuth (snsapi_base) inside the WeCom browser, the returned userid matched
to the member's `wecom` id; the code exchanged once, never logged"), against the local WeCom peer on 127.0.0.1
(tests/notifiers/servers.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from obligations.db import session_scope
from obligations.models import Account, AuditEvent, WebSession
from obligations.web import create_app
from tests.notifiers.servers import FakeTime, FakeWeCom
from tests.obligations.web.conftest import BASE_URL, PROFILES, DeskFixture

CORP_ID = "ww5a1b2c3d4e5f6a7b"
CORP_SECRET = "Corp-Secret-For-The-Desk-0123456789"
AGENT_ID = 1000002
SECRET_ENV = "OBLIGATIONS_TEST_WECOM_SECRET"
USERINFO = "/cgi-bin/auth/getuserinfo"


@pytest.fixture
def peer() -> Iterator[FakeWeCom]:
    """The WeCom peer, served by an event loop of its own in a thread (the desk runs in the TestClient's)."""
    loop = asyncio.new_event_loop()
    server = FakeWeCom(
        robot_key="unused-robot-key", corp_id=CORP_ID, corp_secret=CORP_SECRET, clock=FakeTime().clock
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(server.__aenter__(), loop).result(timeout=10)
    yield server
    asyncio.run_coroutine_threadsafe(server.__aexit__(None, None, None), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)
    loop.close()


@pytest.fixture
def wecom_desk(desk: DeskFixture, peer: FakeWeCom, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv(SECRET_ENV, CORP_SECRET)
    wecom = dataclasses.replace(
        desk.config.notifiers.wecom,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        corp_secret_env=SECRET_ENV,
        api_base=peer.base_url,
    )
    config = dataclasses.replace(
        desk.config, notifiers=dataclasses.replace(desk.config.notifiers, wecom=wecom)
    )
    app = create_app(config, desk.engine, PROFILES, clock=desk.clock)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def authorize(client: TestClient, next_path: str = "/tasks/5") -> str:
    """GET /wecom/login: WeCom's authorize URL, with the desk's callback and a fresh state; returns the state."""
    response = client.get("/wecom/login", params={"next": next_path}, follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    url = urlsplit(location)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://open.weixin.qq.com/connect/oauth2/authorize"
    assert url.fragment == "wechat_redirect"
    query = parse_qs(url.query)
    assert list(query) == ["appid", "redirect_uri", "response_type", "scope", "state", "agentid"]
    assert query["appid"] == [CORP_ID] and query["agentid"] == [str(AGENT_ID)]
    assert query["redirect_uri"] == [f"{BASE_URL}/wecom/callback"]
    assert query["response_type"] == ["code"] and query["scope"] == ["snsapi_base"]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/wecom" in cookie and "Max-Age=300" in cookie
    return query["state"][0]


def server_side_log(caplog: pytest.LogCaptureFixture) -> str:
    """What the desk and its WeCom client logged (not the test's browser: the TestClient logs its own URLs)."""
    return "\n".join(record.getMessage() for record in caplog.records if not record.name.startswith("httpx2"))


def audit_of(desk: DeskFixture) -> list[AuditEvent]:
    with session_scope(desk.engine) as session:
        return list(session.exec(select(AuditEvent).order_by(AuditEvent.id)).all())


def test_a_wecom_member_with_an_account_is_signed_in_and_sent_to_next_on_a_clean_url(
    desk: DeskFixture, peer: FakeWeCom, wecom_desk: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = authorize(wecom_desk, "/tasks/5")
    peer.codes["CODE-b1m1-0001"] = "b1m1"
    response = wecom_desk.get(
        "/wecom/callback", params={"code": "CODE-b1m1-0001", "state": state}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/tasks/5"  # no code in the address bar
    assert wecom_desk.get("/", follow_redirects=False).status_code == 200  # signed in
    [exchange] = peer.calls(USERINFO)
    assert exchange.query["code"] == "CODE-b1m1-0001" and exchange.query["access_token"].startswith("token-")
    with session_scope(desk.engine) as session:
        [web_session] = session.exec(select(WebSession)).all()
    assert (web_session.member, web_session.method) == ("b1m1", "wecom")
    [login] = [event for event in audit_of(desk) if event.action == "login"]
    assert (login.actor, login.detail) == ("b1m1", "wecom")
    everything = " ".join(f"{e.target} {e.detail}" for e in audit_of(desk)) + server_side_log(caplog)
    assert "CODE-b1m1-0001" not in everything
    assert "getuserinfo?code=***" in server_side_log(caplog)  # httpx's request log, redacted


def test_a_reused_code_is_refused_by_wecom_and_signs_nobody_in(
    desk: DeskFixture, peer: FakeWeCom, wecom_desk: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    peer.codes["CODE-once"] = "b1m1"
    wecom_desk.get("/wecom/callback", params={"code": "CODE-once", "state": authorize(wecom_desk)})
    wecom_desk.cookies.clear()
    response = wecom_desk.get(
        "/wecom/callback",
        params={"code": "CODE-once", "state": authorize(wecom_desk)},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "企业微信登录未成功" in response.text
    assert wecom_desk.get("/", follow_redirects=False).status_code == 303  # to the sign-in
    failed = [event for event in audit_of(desk) if event.action == "login_failed"]
    assert len(failed) == 1 and failed[0].detail is not None and failed[0].detail.startswith("wecom: ")
    assert "40029" in failed[0].detail
    assert "CODE-once" not in failed[0].detail + server_side_log(caplog)
    assert len(peer.calls(USERINFO)) == 2


def test_a_wrong_or_missing_state_is_refused_before_the_code_is_spent(
    desk: DeskFixture, peer: FakeWeCom, wecom_desk: TestClient
) -> None:
    authorize(wecom_desk)
    peer.codes["CODE-x"] = "b1m1"
    wrong = wecom_desk.get(
        "/wecom/callback", params={"code": "CODE-x", "state": "forged"}, follow_redirects=False
    )
    assert wrong.status_code == 400 and "登录请求已过期或来源不明" in wrong.text
    wecom_desk.cookies.clear()
    missing = wecom_desk.get("/wecom/callback", params={"code": "CODE-x", "state": "forged"})
    assert missing.status_code == 400
    assert peer.calls(USERINFO) == []
    assert [event.detail for event in audit_of(desk)] == ["wecom: state mismatch"] * 2


def test_a_userid_of_no_member_with_an_account_is_refused(
    desk: DeskFixture, peer: FakeWeCom, wecom_desk: TestClient
) -> None:
    with session_scope(desk.engine) as session:
        disabled = session.get(Account, "b2m1")
        assert disabled is not None
        disabled.disabled = True
        session.add(disabled)
    for code, userid in (("C1", "stranger"), ("C2", "b1m3"), ("C3", "b2m1")):
        peer.codes[code] = userid
        response = wecom_desk.get(
            "/wecom/callback", params={"code": code, "state": authorize(wecom_desk)}, follow_redirects=False
        )
        assert response.status_code == 403, userid
        assert "没有对应的党务工作台账号" in response.text
        assert wecom_desk.get("/", follow_redirects=False).status_code == 303
    details = [event.detail for event in audit_of(desk) if event.action == "login_failed"]
    assert details == [
        "wecom: userid stranger: no member",
        "wecom: userid b1m3: no account",
        "wecom: userid b2m1: account disabled",
    ]


def test_without_a_corp_id_there_is_no_wecom_sign_in(desk: DeskFixture) -> None:
    client = desk.client()
    for response in (
        client.get("/wecom/login", follow_redirects=False),
        client.get("/wecom/callback", params={"code": "c", "state": "s"}),
    ):
        assert response.status_code == 404
        assert "本工作台未启用企业微信登录" in response.text
