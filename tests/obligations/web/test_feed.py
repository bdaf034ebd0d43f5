"""The calendar feed as a subscription URL per person (issue 11 "Pages": a secret token, revocable, so a phone
calendar subscribes once), on both backends."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from icalendar import Calendar
from sqlmodel import Session, select
from starlette.testclient import TestClient

from obligations.ical import uid
from obligations.models import Account, FeedToken, Task
from tests.obligations.web.conftest import AS_OF, BASE_URL, ROLES, DeskFixture, audit_events, csrf_of

FEED_URL = re.compile(re.escape(BASE_URL) + r"/feed/([A-Za-z0-9_-]+)\.ics")


def _create(client: TestClient) -> str:
    page = client.post("/me/feed", data={"csrf_token": csrf_of(client.get("/me/feed").text)})
    assert page.status_code == 200, page.text
    found = FEED_URL.search(page.text)
    assert found is not None
    return found.group(1)


def _uids(body: str) -> set[str]:
    return set(re.findall(r"^UID:(.+?)\r?$", body, re.M))


def test_the_feed_url_is_shown_once_and_serves_the_persons_desk_without_a_session(desk: DeskFixture) -> None:
    secretary = desk.signed_in("b1m1")
    token = _create(secretary)
    assert token not in secretary.get("/me/feed").text  # shown once
    with Session(desk.engine) as session:
        [stored] = session.exec(select(FeedToken)).all()
    assert stored.member == "b1m1" and token not in stored.token_hash  # only its hash is kept
    feed = desk.client().get(f"/feed/{token}.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    uids = _uids(feed.text)
    # The branch's tasks and its 党小组's (the secretary records for both), nothing of jg.b2 or the 机关党委.
    assert any(".jg.b1." in uid for uid in uids) and any(".jg.b1.g1." in uid for uid in uids)
    assert not any(".jg.b2." in uid or re.search(r"\.jg\.\d", uid) for uid in uids)
    assert [event.actor for event in audit_events(desk, "feed_create")] == ["b1m1"]


def test_a_group_leaders_feed_holds_the_group_not_the_branch(desk: DeskFixture) -> None:
    token = _create(desk.signed_in("g1m1"))
    uids = _uids(desk.client().get(f"/feed/{token}.ics").text)
    assert any(".jg.b1.g1." in uid for uid in uids)
    assert not any(re.search(r"\.jg\.b1\.\d", uid) for uid in uids)


def test_a_revoked_or_replaced_or_unknown_token_is_not_found_and_logged(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m1")
    first = _create(client)
    second = _create(client)  # a new URL replaces the old one
    anonymous = desk.client()
    assert anonymous.get(f"/feed/{first}.ics").status_code == 404
    assert anonymous.get(f"/feed/{second}.ics").status_code == 200
    revoked = client.post("/me/feed/revoke", data={"csrf_token": csrf_of(client.get("/me/feed").text)})
    assert revoked.status_code == 200 and "尚未开通订阅" in revoked.text
    assert anonymous.get(f"/feed/{second}.ics").status_code == 404
    assert anonymous.get("/feed/" + "A" * 43 + ".ics").status_code == 404
    assert anonymous.get("/feed/short.ics").status_code == 404
    assert anonymous.get(f"/feed/{second}").status_code == 404
    refusals = audit_events(desk, "feed_refused")
    assert len(refusals) == 5 and all(event.outcome == "refused" for event in refusals)
    assert not any(second in (event.target or "") + (event.detail or "") for event in refusals)
    assert [event.actor for event in audit_events(desk, "feed_revoke")] == ["b1m1"]


def test_a_disabled_account_feed_stops(desk: DeskFixture) -> None:
    token = _create(desk.signed_in("b1m1"))
    with Session(desk.engine) as session:
        account = session.get(Account, "b1m1")
        assert account is not None
        account.disabled = True
        session.add(account)
        session.commit()
    assert desk.client().get(f"/feed/{token}.ics").status_code == 404


@pytest.mark.parametrize("member", ROLES)
def test_every_member_manages_their_own_feed(desk: DeskFixture, member: str) -> None:
    client = desk.signed_in(member)
    assert client.get("/me/feed").status_code == 200
    token = _create(client)
    feed = desk.client().get(f"/feed/{token}.ics")
    assert feed.status_code == 200 and "BEGIN:VCALENDAR" in feed.text
    with Session(desk.engine) as session:
        assert [row.member for row in session.exec(select(FeedToken))] == [member]
    revoked = client.post("/me/feed/revoke", data={"csrf_token": csrf_of(client.get("/me/feed").text)})
    assert revoked.status_code == 200
    assert desk.client().get(f"/feed/{token}.ics").status_code == 404


@pytest.mark.parametrize("path", ["/me/feed", "/me/feed/revoke"])
def test_feed_changes_without_the_csrf_token_are_refused(desk: DeskFixture, path: str) -> None:
    client = desk.signed_in("b1m1")
    token = _create(client)
    response = client.post(path, data={"csrf_token": "forged"})
    assert response.status_code == 403
    assert desk.client().get(f"/feed/{token}.ics").status_code == 200  # neither replaced nor revoked
    assert [event.detail for event in audit_events(desk, "refused")] == ["csrf"]


def test_the_feed_pages_need_a_session(desk: DeskFixture) -> None:
    anonymous = desk.client()
    assert anonymous.get("/me/feed", follow_redirects=False).status_code == 303
    assert anonymous.post("/me/feed", data={}).status_code == 401


def test_the_feed_holds_all_day_events_and_with_todo_1_the_same_tasks_as_todos(desk: DeskFixture) -> None:
    secretary = desk.signed_in("b1m1")
    page = secretary.post("/me/feed", data={"csrf_token": csrf_of(secretary.get("/me/feed").text)})
    token = FEED_URL.search(page.text)
    assert token is not None
    assert f"{BASE_URL}/feed/{token.group(1)}.ics?todo=1" in page.text  # the to-do form is offered too
    anonymous = desk.client()

    events = Calendar.from_ical(anonymous.get(f"/feed/{token.group(1)}.ics").content)
    todos = Calendar.from_ical(anonymous.get(f"/feed/{token.group(1)}.ics?todo=1").content)

    assert events.walk("VTODO") == [] and todos.walk("VEVENT") == []
    by_uid = {str(event["UID"]): event for event in events.walk("VEVENT")}
    assert set(by_uid) == {str(todo["UID"]) for todo in todos.walk("VTODO")} and by_uid
    for todo in todos.walk("VTODO"):
        event = by_uid[str(todo["UID"])]
        assert event["DTSTART"].dt == todo["DUE"].dt
        assert event["DTEND"].dt == todo["DUE"].dt + dt.timedelta(days=1)
        assert str(todo["URL"]) == str(event["URL"])
    # The desk has a public address: each entry links to its task page.
    with Session(desk.engine) as session:
        for key, event in by_uid.items():
            url = str(event["URL"])
            assert url.startswith(f"{BASE_URL}/tasks/")
            task = session.get(Task, int(url.rsplit("/", 1)[1]))
            assert task is not None and uid(task.rule, task.subject, task.period) == key
    # Open tasks already overdue stay in the feed, however old (the secretary's branch owes some).
    overdue = [event for event in by_uid.values() if "逾期" in event.categories]
    assert overdue and all(str(event["SUMMARY"]).startswith("【逾期】") for event in overdue)
    assert all(event["DTSTART"].dt < AS_OF for event in overdue)
    # Anything but todo=1 is the default form; a forged token with the query is still a 404.
    assert Calendar.from_ical(anonymous.get(f"/feed/{token.group(1)}.ics?todo=0").content).walk("VTODO") == []
    assert anonymous.get("/feed/" + "A" * 43 + ".ics?todo=1").status_code == 404
