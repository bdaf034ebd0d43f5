"""`GET /l/{token}` (issue 11, 从提醒到表单): a reminder's link leads to the task page on a clean URL, through the
sign-in when there is no session (the WeCom silent sign-in inside WeCom's browser); the link alone signs nobody
in; expired, tampered, foreign and spent links are refused with a Chinese page and an audit event that does not
hold the token. On SQLite and PostgreSQL (the desk fixture)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlmodel import col, select
from starlette.testclient import TestClient

from obligations import links
from obligations.db import session_scope
from obligations.models import AuditEvent, Task
from obligations.web import create_app
from tests.obligations.web.conftest import BASE_URL, PROFILES, DeskFixture

WECOM_UA = "Mozilla/5.0 (iPhone) AppleWebKit/605.1.15 MicroMessenger/8.0 wxwork/4.1.30 MicroMessenger/7.0.1"


def open_task(desk: DeskFixture, org: str = "jg.b1") -> int:
    with session_scope(desk.engine) as session:
        task = session.exec(
            select(Task).where(Task.org == org, Task.status == "open").order_by(col(Task.due))
        ).first()
        assert task is not None and task.id is not None
        return task.id


def link_token(
    desk: DeskFixture, task_id: int, member: str = "b1m1", *, issued: dt.datetime | None = None
) -> str:
    with session_scope(desk.engine) as session:
        key = links.signing_key(session, desk.clock.now)
    return links.sign(key, task_id, member, now=issued or desk.clock.now)


def refusals(desk: DeskFixture) -> list[AuditEvent]:
    with session_scope(desk.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == "link_refused")).all())


def test_a_link_without_a_session_goes_to_the_sign_in_then_the_task_on_a_clean_url(desk: DeskFixture) -> None:
    task_id = open_task(desk)
    token = link_token(desk, task_id)
    client = desk.client()
    response = client.get(f"/l/{token}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/tasks/{task_id}"
    assert token not in response.headers["location"]
    # The link signed nobody in: the desk still asks for a sign-in.
    assert "obligations_session" not in client.cookies
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/login")
    # Signing in from there leads to the task.
    page = client.get(response.headers["location"])
    assert f'name="next" value="/tasks/{task_id}"' in page.text


def test_a_link_with_a_session_redirects_at_once_to_the_task(desk: DeskFixture) -> None:
    task_id = open_task(desk)
    client = desk.signed_in("b1m1")
    response = client.get(f"/l/{link_token(desk, task_id)}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/tasks/{task_id}"
    with session_scope(desk.engine) as session:
        opened = session.exec(select(AuditEvent).where(AuditEvent.action == "link")).one()
    assert (opened.actor, opened.target) == ("b1m1", f"task {task_id}")


def test_a_link_opened_by_someone_else_still_leads_only_to_the_task_page(desk: DeskFixture) -> None:
    """The task page checks the scope of whoever is signed in; the link grants nothing."""
    task_id = open_task(desk)
    response = desk.signed_in("b2m1").get(f"/l/{link_token(desk, task_id, 'b1m1')}", follow_redirects=False)
    assert response.headers["location"] == f"/tasks/{task_id}"


def test_inside_wecom_the_link_goes_to_the_silent_sign_in(desk: DeskFixture) -> None:
    task_id = open_task(desk)
    token = link_token(desk, task_id)
    plain = desk.client().get(f"/l/{token}", headers={"user-agent": WECOM_UA}, follow_redirects=False)
    assert plain.headers["location"] == f"/login?next=/tasks/{task_id}"  # no corp_id configured
    wecom = dataclasses.replace(
        desk.config.notifiers.wecom, corp_id="wwcorp0001", agent_id=1000002, corp_secret_env="X"
    )
    config = dataclasses.replace(
        desk.config, notifiers=dataclasses.replace(desk.config.notifiers, wecom=wecom)
    )
    client = TestClient(create_app(config, desk.engine, PROFILES, clock=desk.clock), base_url=BASE_URL)
    inside = client.get(f"/l/{token}", headers={"user-agent": WECOM_UA}, follow_redirects=False)
    assert inside.headers["location"] == f"/wecom/login?next=/tasks/{task_id}"
    outside = client.get(f"/l/{token}", follow_redirects=False)
    assert outside.headers["location"] == f"/login?next=/tasks/{task_id}"


def test_an_expired_link_is_refused_with_a_chinese_page_and_logged_without_the_token(
    desk: DeskFixture,
) -> None:
    task_id = open_task(desk)
    token = link_token(desk, task_id, issued=desk.clock.now)
    desk.clock.advance(days=30, minutes=1)
    response = desk.signed_in("b1m1").get(f"/l/{token}", follow_redirects=False)
    assert response.status_code == 410
    assert "此链接已过期" in response.text
    [event] = refusals(desk)
    assert (event.actor, event.outcome, event.detail) == ("b1m1", "refused", "expired")
    assert token not in f"{event.target} {event.detail}"


def test_a_tampered_or_foreign_link_is_refused(desk: DeskFixture) -> None:
    task_id = open_task(desk)
    token = link_token(desk, task_id)
    other_task = link_token(desk, task_id + 1).split(".")[0]
    foreign = links.sign("a key of another installation " * 2, task_id, "b1m1", now=desk.clock.now)
    client = desk.client()
    for bad in (token[:-3] + "xyz", other_task + "." + token.split(".")[1], foreign, "x" * 600):
        response = client.get(f"/l/{bad}", follow_redirects=False)
        assert response.status_code == 404, bad
        assert "此链接无效" in response.text
    events = refusals(desk)
    assert [event.detail for event in events] == ["invalid"] * 4
    assert all(event.actor is None and token not in (event.target or "") for event in events)


def test_a_link_to_a_task_that_is_done_is_refused(desk: DeskFixture) -> None:
    task_id = open_task(desk)
    token = link_token(desk, task_id)
    with session_scope(desk.engine) as session:
        task = session.get(Task, task_id)
        assert task is not None
        task.status = "done"
        session.add(task)
    response = desk.signed_in("b1m1").get(f"/l/{token}", follow_redirects=False)
    assert response.status_code == 410
    assert "此事项已办结" in response.text
    [event] = refusals(desk)
    assert event.target == f"task {task_id}" and event.detail == "closed, sent to b1m1"
