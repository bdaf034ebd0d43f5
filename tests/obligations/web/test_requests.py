"""Extension and exemption requests on the desk (issue 11 "The 组织员's view": requested by a secretary, approved
by the parent's 组织员, the ≤1-year rules apply, both steps in the history), on both backends.

Roles (tests/obligations/web/conftest.py): a1 supervises the 机关党委 jg; b1m1 (secretary) and b1m2 (组织委员)
record for jg.b1; g1m1 for the group jg.b1.g1 only; b1m5 is an ordinary member; b2m1 records for jg.b2.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session, col, select
from starlette.testclient import TestClient

from obligations import requests
from obligations.models import Task, Waiver, WaiverRequest
from tests.obligations.web.conftest import ROLES, DeskFixture, audit_events, csrf_of

# Who may ask for jg.b1's tasks: its acting seats and the 机关党委 that supervises it.
MAY_ASK = {"a1", "b1m1", "b1m2"}
# Who decides a request of jg.b1: a supervisor of a subtree strictly above it.
MAY_DECIDE = {"a1"}


def _task(desk: DeskFixture, org: str, rule: str) -> Task:
    with Session(desk.engine) as session:
        task = session.exec(
            select(Task).where(col(Task.org) == org, col(Task.rule) == rule, col(Task.status) == "open")
        ).first()
        assert task is not None
        return task


def _requests(desk: DeskFixture) -> list[WaiverRequest]:
    with Session(desk.engine) as session:
        return list(session.exec(select(WaiverRequest).order_by(col(WaiverRequest.id))))


def _token(client: TestClient) -> str:
    return csrf_of(client.get("/requests").text)


def _ask(client: TestClient, task_id: int, **fields: str) -> object:
    data = {"kind": "extension", "until": "2027-01-31", "reason": "书记病休，改期召开", **fields}
    return client.post(
        f"/tasks/{task_id}/request", data={**data, "csrf_token": _token(client)}, follow_redirects=False
    )


def _pending_request(desk: DeskFixture, task: Task, until: dt.date | None = None) -> int:
    """b1m1 asks for `task`'s extension (to `until`, default a month after its due date)."""
    client = desk.signed_in("b1m1")
    response = client.post(
        f"/tasks/{task.id}/request",
        data={
            "kind": "extension",
            "until": str(until or task.due + dt.timedelta(days=31)),
            "reason": "机构调整",
            "csrf_token": _token(client),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return _requests(desk)[-1].id or 0


def test_a_secretary_asks_and_the_parent_organizer_approves_through_the_ledger(desk: DeskFixture) -> None:
    task = _task(desk, "jg.b1", "committee-meeting")
    secretary = desk.signed_in("b1m1")
    form = secretary.get(f"/tasks/{task.id}/request")
    assert form.status_code == 200 and 'name="reason"' in form.text and 'name="csrf_token"' in form.text
    assert _ask(secretary, task.id or 0, until="2026-12-31").status_code == 303
    [asked] = _requests(desk)
    assert (asked.state, asked.kind, asked.until, asked.requested_by) == (
        "pending",
        "extension",
        dt.date(2026, 12, 31),
        "b1m1",
    )
    assert asked.requested_via == "web" and asked.requested_from == "testclient"
    assert _task(desk, "jg.b1", "committee-meeting").due == task.due  # nothing moves before the approval

    organizer = desk.signed_in("a1")
    listing = organizer.get("/requests").text
    assert "待我审批（1）" in listing and "书记病休" in listing
    desk.clock.advance(hours=3)
    response = organizer.post(
        f"/requests/{asked.id}/approve",
        data={"note": "同意", "csrf_token": csrf_of(listing), "next": "/requests"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/requests"
    with Session(desk.engine) as session:
        moved = session.get(Task, task.id)
        assert moved is not None and moved.due == dt.date(2026, 12, 31) and moved.original_due == task.due
        [waiver] = session.exec(select(Waiver)).all()
        decided = session.get(WaiverRequest, asked.id)
    assert (
        waiver.request_id == asked.id and waiver.granted_via == "web" and waiver.granted_from == "testclient"
    )
    assert waiver.approved_by is not None and "a1" in waiver.approved_by
    assert decided is not None and decided.state == "approved" and decided.decided_by == "a1"
    assert decided.decided_at is not None and decided.decided_at > asked.requested_at  # both steps kept
    assert decided.decision_note == "同意" and decided.decided_via == "web"
    assert [(event.actor, event.target) for event in audit_events(desk, "request")] == [
        ("b1m1", f"task:{task.id}")
    ]
    history = secretary.get(f"/tasks/{task.id}/request").text
    assert "b1m1（工作台）申请延期至 2026-12-31" in history and "已批准" in history
    assert "a1（工作台），同意" in history
    assert [(event.actor, event.detail) for event in audit_events(desk, "decide")] == [("a1", "approved")]


@pytest.mark.parametrize("member", ROLES)
def test_who_may_open_and_submit_a_request_for_a_branch_task(desk: DeskFixture, member: str) -> None:
    task = _task(desk, "jg.b1", "theme-party-day")
    client = desk.signed_in(member)
    page = client.get(f"/tasks/{task.id}/request")
    response = _ask(client, task.id or 0)
    if member in MAY_ASK:
        assert page.status_code == 200 and response.status_code == 303
        assert [item.requested_by for item in _requests(desk)] == [member]
    else:
        assert page.status_code == 403 and response.status_code == 403
        assert _requests(desk) == []
        refused = audit_events(desk, "refused")
        assert [(event.actor, event.target) for event in refused] == [
            (member, f"GET /tasks/{task.id}/request"),
            (member, f"POST /tasks/{task.id}/request"),
        ]


def test_a_group_leader_asks_for_the_group_but_not_for_the_branch(desk: DeskFixture) -> None:
    client = desk.signed_in("g1m1")
    assert _ask(client, _task(desk, "jg.b1.g1", "group-meeting").id or 0).status_code == 303
    assert _ask(client, _task(desk, "jg.b1", "dues-collection").id or 0).status_code == 403


@pytest.mark.parametrize("member", ROLES)
def test_only_the_parent_organizer_approves(desk: DeskFixture, member: str) -> None:
    task = _task(desk, "jg.b1", "committee-meeting")
    request_id = _pending_request(desk, task)
    client = desk.signed_in(member)
    response = client.post(
        f"/requests/{request_id}/approve", data={"csrf_token": _token(client)}, follow_redirects=False
    )
    [stored] = _requests(desk)
    if member in MAY_DECIDE:
        assert response.status_code == 303 and stored.state == "approved"
    else:
        assert response.status_code == 403 and stored.state == "pending"
        assert _task(desk, "jg.b1", "committee-meeting").due == task.due
        assert [event.actor for event in audit_events(desk, "refused")] == [member]


@pytest.mark.parametrize("member", ROLES)
def test_only_the_parent_organizer_rejects(desk: DeskFixture, member: str) -> None:
    request_id = _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))
    client = desk.signed_in(member)
    rejected = client.post(
        f"/requests/{request_id}/reject",
        data={"note": "请按期召开", "csrf_token": _token(client)},
        follow_redirects=False,
    )
    [stored] = _requests(desk)
    if member in MAY_DECIDE:
        assert rejected.status_code == 303
        assert (stored.state, stored.decision_note, stored.decided_by) == ("rejected", "请按期召开", "a1")
    else:
        assert rejected.status_code == 403 and stored.state == "pending"
        assert [event.actor for event in audit_events(desk, "refused")] == [member]


@pytest.mark.parametrize("member", ROLES)
def test_only_the_requester_withdraws(desk: DeskFixture, member: str) -> None:
    request_id = _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))  # asked by b1m1
    client = desk.signed_in(member)
    withdrawn = client.post(
        f"/requests/{request_id}/withdraw", data={"csrf_token": _token(client)}, follow_redirects=False
    )
    [stored] = _requests(desk)
    if member == "b1m1":
        assert withdrawn.status_code == 303 and stored.state == "withdrawn" and stored.decided_by == "b1m1"
    else:
        assert withdrawn.status_code == 403 and stored.state == "pending"
        assert [event.actor for event in audit_events(desk, "refused")] == [member]


def test_a_request_cannot_be_approved_at_the_requesters_own_level(desk: DeskFixture) -> None:
    """The branch's own secretary and 组织委员 do not decide their branch's request; a 机关党委 secretary who
    asked for a branch does not approve their own request either; a request of the 机关党委 itself has no
    decider among its own seats."""
    request_id = _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))
    for member in ("b1m1", "b1m2"):
        client = desk.signed_in(member)
        response = client.post(
            f"/requests/{request_id}/approve", data={"csrf_token": _token(client)}, follow_redirects=False
        )
        assert response.status_code == 403
    organizer = desk.signed_in("a1")
    own = _task(desk, "jg", "term-election")
    assert _ask(organizer, own.id or 0, until="2027-06-30").status_code == 303
    own_request = _requests(desk)[-1].id
    response = organizer.post(
        f"/requests/{own_request}/approve", data={"csrf_token": _token(organizer)}, follow_redirects=False
    )
    assert response.status_code == 403
    assert [item.state for item in _requests(desk)] == ["pending", "pending"]


def test_a_term_election_postponed_beyond_a_year_is_refused_when_asked_and_when_approved(
    desk: DeskFixture,
) -> None:
    """《中国共产党基层组织选举工作条例》第三条: 延长期限一般不超过1年. jg.b1's term ends 2026-11-20: an extension to
    2027-11-21 is refused at the request, and a request stored with it (before the check) at the approval."""
    task = _task(desk, "jg.b1", "term-election")
    assert task.due == dt.date(2026, 11, 20)
    secretary = desk.signed_in("b1m1")
    response = _ask(secretary, task.id or 0, until="2027-11-21")
    assert response.status_code == 422
    assert "第三条" in response.text and "最晚 2027-11-20" in response.text
    assert _requests(desk) == []

    with Session(desk.engine) as session:
        stored = WaiverRequest(
            task_id=task.id or 0,
            kind="extension",
            until=dt.date(2027, 11, 21),
            reason="换届筹备",
            requested_by="b1m1",
            requested_at=desk.clock.now,
            requested_via="web",
        )
        session.add(stored)
        session.commit()
        request_id = stored.id
    organizer = desk.signed_in("a1")
    refused = organizer.post(
        f"/requests/{request_id}/approve", data={"csrf_token": _token(organizer)}, follow_redirects=False
    )
    assert refused.status_code == 422 and "第三条" in refused.text
    assert _task(desk, "jg.b1", "term-election").due == task.due
    assert [item.state for item in _requests(desk)] == ["pending"]

    # Within the year the same approval goes through.
    assert _ask(secretary, task.id or 0, until="2027-11-20").status_code == 422  # one pending per task
    with Session(desk.engine) as session:
        again = session.get(WaiverRequest, request_id)
        assert again is not None
        again.until = dt.date(2027, 11, 20)
        session.add(again)
        session.commit()
    approved = organizer.post(
        f"/requests/{request_id}/approve", data={"csrf_token": _token(organizer)}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert _task(desk, "jg.b1", "term-election").due == dt.date(2027, 11, 20)


def test_two_requests_for_one_task_at_the_same_moment_make_one(
    desk: DeskFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both secretaries' checks pass before either request is stored (the check in code is bypassed as a race
    would): the database keeps the first and the second is told so."""
    task = _task(desk, "jg.b1", "dues-collection")
    first, second = desk.signed_in("b1m1"), desk.signed_in("b1m2")
    assert _ask(first, task.id or 0).status_code == 303
    monkeypatch.setattr(requests, "pending_of", lambda _session, _task_id: None)
    response = _ask(second, task.id or 0, until="2027-02-28")
    assert response.status_code == 422 and "已有一份待审批的申请" in response.text
    assert [(item.requested_by, item.state) for item in _requests(desk)] == [("b1m1", "pending")]
    assert [event.actor for event in audit_events(desk, "request")] == ["b1m1"]


def test_a_rejection_needs_a_note_and_a_decided_request_stays_decided(desk: DeskFixture) -> None:
    request_id = _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))
    organizer = desk.signed_in("a1")
    blank = organizer.post(
        f"/requests/{request_id}/reject", data={"csrf_token": _token(organizer)}, follow_redirects=False
    )
    assert blank.status_code == 422 and "不批准须说明理由" in blank.text
    assert (
        organizer.post(
            f"/requests/{request_id}/reject",
            data={"note": "请按期召开", "csrf_token": _token(organizer)},
            follow_redirects=False,
        ).status_code
        == 303
    )
    again = organizer.post(
        f"/requests/{request_id}/approve", data={"csrf_token": _token(organizer)}, follow_redirects=False
    )
    assert again.status_code == 422 and "未批准" in again.text
    assert [item.state for item in _requests(desk)] == ["rejected"]


@pytest.mark.parametrize("action", ["approve", "reject", "withdraw"])
def test_a_decision_without_the_csrf_token_is_refused(desk: DeskFixture, action: str) -> None:
    request_id = _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))
    client = desk.signed_in("a1" if action != "withdraw" else "b1m1")
    response = client.post(f"/requests/{request_id}/{action}", data={"note": "x"}, follow_redirects=False)
    assert response.status_code == 403
    assert [item.state for item in _requests(desk)] == ["pending"]
    assert [event.detail for event in audit_events(desk, "refused")] == ["csrf"]


def test_a_request_without_the_csrf_token_is_refused(desk: DeskFixture) -> None:
    task = _task(desk, "jg.b1", "committee-meeting")
    client = desk.signed_in("b1m1")
    response = client.post(
        f"/tasks/{task.id}/request",
        data={"kind": "exemption", "reason": "支部撤销", "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and _requests(desk) == []
    assert [event.detail for event in audit_events(desk, "refused")] == ["csrf"]


@pytest.mark.parametrize("path", ["/tasks/0/request", "/tasks/2147483648/request", "/tasks/abc/request"])
def test_an_id_outside_the_row_range_is_not_found(desk: DeskFixture, path: str) -> None:
    assert desk.signed_in("b1m1").get(path).status_code == 404


@pytest.mark.parametrize("member", ROLES)
def test_everyone_sees_the_list_of_their_own_requests(desk: DeskFixture, member: str) -> None:
    _pending_request(desk, _task(desk, "jg.b1", "committee-meeting"))
    page = desk.signed_in(member).get("/requests")
    assert page.status_code == 200
    assert ("待我审批（1）" in page.text) == (member in MAY_DECIDE)
    assert ("机构调整" in page.text) == (member in MAY_DECIDE | {"b1m1"})


def test_an_exemption_once_approved_marks_the_task_waived(desk: DeskFixture) -> None:
    task = _task(desk, "jg.b1", "theme-party-day")
    secretary = desk.signed_in("b1m1")
    assert _ask(secretary, task.id or 0, kind="exemption", until="", reason="支部合并").status_code == 303
    [asked] = _requests(desk)
    assert asked.until is None
    organizer = desk.signed_in("a1")
    assert (
        organizer.post(
            f"/requests/{asked.id}/approve", data={"csrf_token": _token(organizer)}, follow_redirects=False
        ).status_code
        == 303
    )
    with Session(desk.engine) as session:
        waived = session.get(Task, task.id)
        assert waived is not None and waived.status == "waived"


def test_the_task_page_links_the_request_form_and_shows_its_requests(desk: DeskFixture) -> None:
    """The task's page carries both steps of a request (issue 11: 'with both steps in the history')."""
    task = _task(desk, "jg.b1", "committee-meeting")
    page = desk.signed_in("b1m1").get(f"/tasks/{task.id}").text
    assert f'href="/tasks/{task.id}/request"' in page
    _pending_request(desk, task)
    page = desk.signed_in("a1").get(f"/tasks/{task.id}").text
    assert "机构调整" in page and "待审批" in page


def test_the_request_form_takes_a_new_deadline_as_a_date_or_a_date_time(desk: DeskFixture) -> None:
    task = _task(desk, "jg.b1", "committee-meeting")
    secretary = desk.signed_in("b1m1")
    compact = _ask(secretary, task.id or 0, until="20261231")  # dt.date.fromisoformat takes it
    assert compact.status_code != 303 and "新的期限：无法识别的日期" in compact.text
    assert _requests(desk) == []
    assert _ask(secretary, task.id or 0, until="2026-12-31T10:00:00+08:00").status_code == 303
    assert [asked.until for asked in _requests(desk)] == [dt.date(2026, 12, 31)]
