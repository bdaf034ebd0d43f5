"""The pages of the subtree view, the requests, the audit log and the calendar subscription read on a 390 px
phone (issue 11: usable on a 390 px phone screen inside 企业微信's browser): wide tables scroll inside their
wrapper, the page itself never scrolls sideways. Each page is rendered by the desk, saved with its stylesheet
and measured in Debian's headless chromium (skipped where chromium is not installed; CI installs it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from obligations.models import Task
from obligations.web.app import STATIC
from tests.chromium import chromium_path, page_width
from tests.obligations.web.conftest import DeskFixture, csrf_of


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("window", [390, 1280])
def test_the_desk_pages_of_this_part_do_not_scroll_sideways(
    desk: DeskFixture, tmp_path: Path, window: int
) -> None:
    chromium = chromium_path("measure the desk's pages")
    secretary = desk.signed_in("b1m1")
    with Session(desk.engine) as session:
        task = session.exec(
            select(Task).where(col(Task.org) == "jg.b1", col(Task.rule) == "term-election")
        ).one()
    long_reason = "换届筹备工作因机构改革需要延期" * 12  # a long unbroken Chinese text
    secretary.post(
        f"/tasks/{task.id}/request",
        data={
            "kind": "extension",
            "until": "2027-05-20",
            "reason": long_reason,
            "csrf_token": csrf_of(secretary.get("/requests").text),
        },
    )
    organizer = desk.signed_in("a1")
    pages = {
        "org": organizer.get("/org/jg").text,
        "requests": organizer.get("/requests").text,
        "audit": organizer.get("/audit").text,
        "form": secretary.get(f"/tasks/{task.id}/request").text,
        "feed": secretary.post("/me/feed", data={"csrf_token": csrf_of(secretary.get("/me/feed").text)}).text,
    }
    css = (STATIC / "desk.css").as_uri()
    for name, html in pages.items():
        page = html.replace('href="/static/desk.css"', f'href="{css}"')
        page = re.sub(r'<script src="/static/[^"]+"[^>]*></script>', "", page)
        width, viewport = page_width(chromium, page, tmp_path, window)
        assert width <= viewport, f"{name} scrolls sideways at {window} px: {width} px wide"
