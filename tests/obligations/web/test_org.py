"""The 组织员's view of a subtree (issue 11 "The 组织员's view"): overdue and due-soon tasks, the on-time heat map
of the report, the 台账 of each organization and the pending requests, each shown only to who sees the
organization (obligations/scope.py), on both backends."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, col, select

from obligations.models import Task
from obligations.report import Outcome
from obligations.web import org as org_page
from tests.obligations.web.conftest import ROLES, DeskFixture, csrf_of, refusals

ORGS = ("jg", "jg.b1", "jg.b1.g1", "jg.b2")
SEES = {
    "a1": set(ORGS),  # the 机关党委's secretary supervises its subtree
    "b1m1": {"jg.b1", "jg.b1.g1"},  # a branch secretary: the branch and its 党小组
    "b1m2": {"jg.b1", "jg.b1.g1"},
    "g1m1": {"jg.b1.g1"},  # a 党小组长: the group
    "b1m5": set(),
    "b2m1": {"jg.b2"},
}


@pytest.mark.parametrize("member", ROLES)
def test_who_sees_which_organization_and_its_ledger(desk: DeskFixture, member: str) -> None:
    client = desk.signed_in(member)
    expected_refusals = []
    for code in ORGS:
        page = client.get(f"/org/{code}")
        book = client.get(f"/org/{code}/ledger?year=2026")
        allowed = code in SEES[member]
        assert page.status_code == (200 if allowed else 403), code
        assert book.status_code == (200 if allowed else 403), code
        if not allowed:
            expected_refusals += [(member, f"GET /org/{code}"), (member, f"GET /org/{code}/ledger")]
    assert refusals(desk) == expected_refusals


def test_the_subtree_view_lists_overdue_and_due_soon_tasks_heat_map_ledgers_and_requests(
    desk: DeskFixture,
) -> None:
    secretary = desk.signed_in("b1m1")
    with Session(desk.engine) as session:
        election = session.exec(
            select(Task).where(col(Task.org) == "jg.b1", col(Task.rule) == "term-election")
        ).one()
    secretary.post(
        f"/tasks/{election.id}/request",
        data={
            "kind": "extension",
            "until": "2027-05-20",
            "reason": "换届筹备中",
            "csrf_token": csrf_of(secretary.get("/requests").text),
        },
    )
    page = desk.signed_in("a1").get("/org/jg")
    assert page.status_code == 200
    text = page.text
    # jg.b1's term ended 2026-11-20: overdue one day on 2026-11-21, beside the due-soon tasks of jg.b2.
    assert "逾期 1 天" in text and "第二党支部" in text and f"/tasks/{election.id}" in text
    # The heat map of the report: twelve months, November of jg.b1 missed (its election is overdue).
    assert all(f"<th>{month}月</th>" in text for month in range(1, 13))
    b1_row = re.search(r'<tr>\s*<td class="org depth-1"><a href="/org/jg.b1">.*?</tr>', text, re.S)
    assert b1_row is not None
    cells = re.findall(r'<td class="cell (\w+)"', b1_row.group(0))
    assert len(cells) == 12 and cells[10] == "missed"
    # Its totals under the report's own column labels (labels defined once, in report.Outcome).
    totals = re.search(r"合计 (\d+) 项：(.*?)；按时率", text)
    assert totals is not None
    assert [part.split(" ")[0] for part in totals.group(2).split("，")] == [o.label for o in Outcome]
    for code in ORGS:
        assert f'href="/org/{code}/ledger?year=2026"' in text
    # The pending request, with the approval form for the 组织员.
    assert "换届筹备中" in text and "/requests/" in text and "批准" in text
    # Wide tables scroll inside their wrapper (390 px phones): every table sits in one.
    assert text.count("<table") == text.count('<div class="table-wrap">') == 2


def test_a_branch_secretary_sees_the_request_but_cannot_decide_it_there(desk: DeskFixture) -> None:
    secretary = desk.signed_in("b1m1")
    with Session(desk.engine) as session:
        task = session.exec(
            select(Task).where(
                col(Task.org) == "jg.b1", col(Task.rule) == "committee-meeting", col(Task.period) == "2026-11"
            )
        ).one()
    secretary.post(
        f"/tasks/{task.id}/request",
        data={
            "kind": "exemption",
            "reason": "支部合并",
            "csrf_token": csrf_of(secretary.get("/requests").text),
        },
    )
    text = secretary.get("/org/jg.b1").text
    assert "支部合并" in text and "/approve" not in text and "撤回申请" in text


def test_the_due_list_is_paged(desk: DeskFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(org_page, "PAGE_SIZE", 2)
    client = desk.signed_in("a1")
    first = client.get("/org/jg").text
    second = client.get("/org/jg?page=2").text
    tasks_on = lambda html: re.findall(r'<td><a href="/tasks/(\d+)">', html)  # noqa: E731
    assert len(tasks_on(first)) == 2 and len(tasks_on(second)) == 2
    assert not set(tasks_on(first)) & set(tasks_on(second))
    assert 'href="?page=2"' in first and 'href="?page=1"' in second


@pytest.mark.parametrize("query", ["page=0", "page=abc", "page=99999999", "page=-1"])
def test_a_page_number_out_of_range_is_not_found(desk: DeskFixture, query: str) -> None:
    assert desk.signed_in("a1").get(f"/org/jg?{query}").status_code == 404


def test_an_unknown_organization_is_not_found(desk: DeskFixture) -> None:
    client = desk.signed_in("a1")
    assert client.get("/org/nowhere").status_code == 404
    assert client.get("/org/" + "x" * 200).status_code == 404


def test_the_ledger_is_the_export_of_one_organization_and_year(desk: DeskFixture) -> None:
    client = desk.signed_in("b1m1")
    book = client.get("/org/jg.b1/ledger?year=2026")
    assert book.status_code == 200 and "第一党支部" in book.text and "2026" in book.text
    csp = book.headers["content-security-policy"]
    assert "style-src 'unsafe-inline'" in csp and "script" not in csp and "default-src 'none'" in csp
    assert client.get("/org/jg.b1/ledger?year=abc").status_code == 404
    assert client.get("/org/jg.b1/ledger?year=99999").status_code == 404


def test_an_event_duty_is_named_in_chinese_not_by_its_key(desk: DeskFixture) -> None:
    """jg.b1's vacant deputy-secretary seat (since 2026-06-01) is listed as 副书记空缺（…起）, on the subtree
    view and on 我的待办, never as vacancy:deputy_secretary:2026-06-01."""
    for client, path in ((desk.signed_in("a1"), "/org/jg"), (desk.signed_in("b1m1"), "/")):
        page = client.get(path).text
        assert "vacancy:" not in page
        assert "副书记空缺（2026年6月1日起）" in page
