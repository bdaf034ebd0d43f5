"""The audit log on the desk (issue 11 "Records know who made them": an audit log of every sign-in, refusal and
write, readable by the 组织员 — `obligations audit` and a page), on both backends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlmodel import Session

from obligations import audit
from obligations.models import Organization
from tests.obligations.web.conftest import PASSWORD, ROLES, DeskFixture, login_token, refusals


@pytest.mark.parametrize("member", ROLES)
def test_only_a_supervisor_reads_the_audit_page(desk: DeskFixture, member: str) -> None:
    response = desk.signed_in(member).get("/audit")
    if member == "a1":
        assert response.status_code == 200 and "审计日志" in response.text
    else:
        assert response.status_code == 403
        assert refusals(desk) == [(member, "GET /audit")]


def test_the_page_lists_sign_ins_writes_and_refusals_newest_first_with_filters(desk: DeskFixture) -> None:
    desk.signed_in("b1m1")
    desk.clock.advance(days=1)
    desk.signed_in("b2m1").get("/org/jg.b1")  # refused: outside jg.b2
    stranger = desk.client()
    stranger.post(
        "/login", data={"member": "nobody", "password": PASSWORD, "csrf_token": login_token(stranger)}
    )
    organizer = desk.signed_in("a1")
    page = organizer.get("/audit").text
    assert "b1m1" in page and "b2m1" in page and "nobody" in page and "登录失败" in page
    assert page.index("GET /org/jg.b1") < page.index("b1m1")  # newest first
    only = organizer.get("/audit?member=b2m1").text
    assert "b2m1" in only and "b1m1" not in only and "拒绝访问" in only
    later = organizer.get("/audit?since=2026-11-22").text
    assert "b2m1" in later and "b1m1" not in later
    # The CLI's forms (calendars.instants): b1m1 signed in at 2026-11-21 10:00 Beijing (02:00 UTC).
    for before in ("2026-11-21 09:59", "2026-11-21T01:59:00Z", "2026-11-21T09:59+0800"):
        assert "b1m1" in organizer.get("/audit", params={"since": before}).text, before
    for after in ("2026-11-21 10:01", "2026-11-21T02:01:00Z", "2026-11-21T10:01:00+08:00"):
        page = organizer.get("/audit", params={"since": after}).text
        assert "b1m1" not in page and "b2m1" in page, after
    bad = organizer.get("/audit?since=yesterday")
    assert bad.status_code == 400 and "无法识别的时间" in bad.text and "yesterday" in bad.text


def test_a_supervisor_reads_the_events_of_their_subtree_only(desk: DeskFixture) -> None:
    desk.signed_in("b1m1")
    desk.signed_in("b2m1")
    with Session(desk.engine) as session:
        b2 = session.get(Organization, "jg.b2")
        assert b2 is not None
        seen = audit.events(session, visible=audit.seen_under([b2.path]))
        everything = audit.events(session, visible=audit.seen_under(["/"]))
        nothing = audit.events(session, visible=audit.seen_under([]))
    assert {event.actor for event in seen} == {"b2m1"}
    assert {event.actor for event in everything} == {"b1m1", "b2m1"}
    assert list(nothing) == []


def test_the_page_is_bounded(desk: DeskFixture) -> None:
    with Session(desk.engine) as session:
        at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        for index in range(250):
            audit.log(
                session, audit.Actor("b1m1", "web", "10.0.0.1"), "record", at=at, target=f"task:{index}"
            )
        session.commit()
    page = desk.signed_in("a1").get("/audit").text
    assert page.count("<tr class=") == 200 and "仅显示最近 200 条" in page
