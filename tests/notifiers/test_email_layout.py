"""The reminder email as a phone and a PC show it: the HTML part that aiosmtpd received, laid out by Debian's
chromium (Playwright) at 390 px (a phone) and 1280 px. Screenshots go to `test-artifacts/email/<test>/`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import pytest
from playwright import sync_api as playwright_api

from notifiers.base import Message, Recipient
from notifiers.email import EmailChannel
from notifiers.render import render_digest
from tests import chromium
from tests.notifiers.servers import SmtpServer

AS_OF = date(2026, 11, 23)
DESK = "https://dangjian.example.gov.cn"
PHONE, PC = (390, 844), (1280, 800)


def long_digest() -> dict[str, Any]:
    """The digest that overflowed a phone: many items, long organization names (one an unbroken ASCII run),
    long titles, signed links of 300 characters, supervised items with their assignee, a failure."""
    items = []
    for n in range(9):
        org = (
            "中共某某市某某区某某街道某某社区第" + "十一" * (n % 3 + 1) + "党支部委员会联合党支部"
            if n != 4
            else "PartyBranchOfTheInternationalResearchInstituteForAdvancedStudiesCommittee"
        )
        items.append(
            {
                "org_name": org,
                "org_code": f"jg.b{n}",
                "title": "支部委员会会议（研究发展党员和年度民主评议党员工作安排）",
                "period": "2026-11",
                "due": AS_OF + timedelta(days=n - 4),
                "step": "overdue" if n < 4 else "final" if n == 4 else "upcoming",
                "clause": "《中国共产党支部工作条例（试行）》第十二条",
                "command": f"obligations done {100 + n} --on YYYY-MM-DD",
                "link": f"{DESK}/l/{'AbCdEfGhIjKlMnOpQrStUvWxYz0123456789' * 8}{n}",
                "assignee_name": "张三" if n % 2 else "欧阳娜娜",
                "fallback_note": "组织委员空缺，由书记代为接收" if n % 3 == 0 else "",
            }
        )
    return {
        "recipient": {"name": "张三"},
        "as_of": AS_OF,
        "items": items,
        "desk_url": f"{DESK}/",
        "failures": [
            {
                "recipient_name": "王五",
                "channel": "email",
                "reason": "收件人被拒绝（SMTP 550 5.1.1 <wangwu.a.very.long.mailbox.name@branch.example.gov.cn>）",
                "title": "党员大会",
                "org_name": "第三党支部",
                "parts": 3,  # a digest sent in parts, two of them refused: （第 2、3 部分，共 3 部分）
                "failed_parts": [2, 3],
            }
        ],
    }


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with chromium.browser("lay out the reminder email at a phone's width") as launched:
        yield launched


def received_html(smtp_server: SmtpServer) -> str:
    """The long digest rendered, sent through the email channel, and its HTML part as it arrived."""
    digest = render_digest(long_digest())
    mailer = EmailChannel(
        "127.0.0.1", smtp_server.port, "none", None, None, "党建提醒 <dangjian@example.org>", 5.0
    )
    outgoing = Message(
        key="obligations-1",
        recipient=Recipient(name="张三", email="zhangsan@example.org"),
        subject=digest.subject,
        text=digest.text,
        html=digest.html,
    )

    async def run() -> None:
        try:
            await mailer.send(outgoing)
        finally:
            await mailer.aclose()

    # Playwright's sync API keeps an event loop running in this thread: the send runs in a thread of its own.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()
    html = smtp_server.mailbox.received[0].message.get_body(("html",))
    assert html is not None
    return str(html.get_content())


# The page's width (the body's too: `overflow-x:hidden` on it would clip a wide page without scrolling it).
_WIDTHS = """[Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    document.documentElement.clientWidth]"""
# Where the first item's title cell and due-date cell are, whether the header row shows, and the due date's own
# label: found by what they say, not by the template's class names.
_GEOMETRY = """() => {
    const header = [...document.querySelectorAll("th")].find((cell) => cell.textContent === "截止日期");
    const row = header.closest("tr").nextElementSibling;
    const title = row.children[0];
    const due = [...row.children].find((cell) => cell.textContent.includes("2026年"));
    const label = [...due.querySelectorAll("span")].find((span) => span.textContent.startsWith("截止日期"));
    const box = (element) => { const r = element.getBoundingClientRect(); return [r.left, r.top, r.width]; };
    return {
        title: box(title), due: box(due),
        header: header.closest("tr").getBoundingClientRect().height,
        label: label ? label.getBoundingClientRect().width : 0,
    };
}"""

# The table headings that the browser broke over more than one line (one client rect per line box).
_WRAPPED_HEADINGS = """[...document.querySelectorAll("th")].filter((cell) => {
    const range = document.createRange();
    range.selectNodeContents(cell);
    return range.getClientRects().length > 1;
}).map((cell) => cell.textContent)"""


def test_the_reminder_email_stacks_on_a_phone_and_is_a_table_on_a_pc(
    smtp_server: SmtpServer, browser: playwright_api.Browser, request: pytest.FixtureRequest
) -> None:
    html = received_html(smtp_server)
    folder = chromium.artifacts("email", request.node.name)
    page = browser.new_page(viewport={"width": PHONE[0], "height": PHONE[1]})
    page.set_content(html, wait_until="load")

    page.screenshot(path=str(folder / "digest-phone-390.png"), full_page=True)
    scroll, client = page.evaluate(_WIDTHS)
    assert scroll <= PHONE[0] == client, f"the email overflows a 390 px phone: {scroll} px wide ({folder})"
    phone: dict[str, Any] = page.evaluate(_GEOMETRY)
    # Stacked: the due date under the title, at its left edge, as wide as the title; the header row hidden,
    # each cell's own label shown instead.
    (title_x, title_y, title_w), (due_x, due_y, due_w) = phone["title"], phone["due"]
    assert due_y > title_y and abs(due_x - title_x) < 1 and abs(due_w - title_w) < 1
    assert phone["header"] == 0 and phone["label"] > 0

    page.set_viewport_size({"width": PC[0], "height": PC[1]})
    page.screenshot(path=str(folder / "digest-pc-1280.png"), full_page=True)
    assert page.evaluate(_WIDTHS) == [PC[0], PC[0]]
    pc: dict[str, Any] = page.evaluate(_GEOMETRY)
    # A table: the due date beside the title on the same row, under a header row; labels hidden.
    (title_x, title_y, _), (due_x, due_y, _) = pc["title"], pc["due"]
    assert due_y == title_y and due_x > title_x
    assert pc["header"] > 0 and pc["label"] == 0
    # Every column's heading on one line (a narrow 负责人 column once showed one character per line).
    wrapped = page.evaluate(_WRAPPED_HEADINGS)
    assert not wrapped, f"headings wrapped at 1280 px: {wrapped} ({folder})"
    # The card stays a readable column on a wide screen.
    card = page.evaluate("document.querySelector('h2').closest('table').getBoundingClientRect().width")
    assert 600 <= card <= 640
    page.close()
