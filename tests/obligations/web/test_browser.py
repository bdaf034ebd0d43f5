"""The desk in a real browser (issue 11, "A real browser in CI"): Playwright for Python drives Debian's chromium
(`executable_path`, no browser download) against the app served by uvicorn on 127.0.0.1, on both backends.

Pages must read on a 390 px phone (企业微信's browser) and on a PC: every page visited is screenshotted at 390×844
and 1280×800 and asserted to have no horizontal overflow. Screenshots are test artifacts, written under
`test-artifacts/web/` (ignored by git; `OBLIGATIONS_TEST_ARTIFACTS` names another folder); each test prints its
folder.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from playwright import sync_api as playwright_api
from sqlmodel import col, select
from starlette.applications import Starlette

from obligations.cli import cli
from obligations.config import load_config
from obligations.db import session_scope
from obligations.models import Attachment, Completion, CompletionTask, Task
from obligations.web import create_app
from tests import chromium
from tests.free_port import free_port
from tests.obligations.test_reminders import MailSink
from tests.obligations.web.conftest import PASSWORD, PROFILES, DeskFixture

VIEWPORTS = {"phone": (390, 844), "pc": (1280, 800)}
# The smallest well-formed PDF: what the content check (filetype) recognises as a PDF.
MINUTES_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


# ---------------------------------------------------------------------------------------------------
# The server, the browser, the artifacts


@contextmanager
def served(app: Starlette, port: int | None = None) -> Iterator[str]:
    """The app under uvicorn in a thread, on a free port of 127.0.0.1; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="desk-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[playwright_api.Browser]:
    with chromium.browser("drive the web desk in a real browser") as launched:
        yield launched


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    return chromium.artifacts("web", request.node.name)


def fits_every_width(page: playwright_api.Page, artifacts: Path, name: str) -> None:
    """Screenshot the page at each width, and assert it has no horizontal overflow at any."""
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_load_state("load")
        # The body's width too: `overflow-x: hidden` on the body would clip a wide page without scrolling it.
        scroll, client = page.evaluate(
            "[Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),"
            " document.documentElement.clientWidth]"
        )
        shot = artifacts / f"{name}-{label}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 2000
        assert scroll <= client, f"{name} overflows at {width} px: {scroll} > {client} ({shot})"


def sign_in(page: playwright_api.Page, member: str, password: str = PASSWORD) -> None:
    """Fill the login form the page shows and submit it."""
    assert urlpath(page.url) == "/login", page.url
    page.fill('input[name="member"]', member)
    page.fill('input[name="password"]', password)
    with page.expect_navigation():
        page.click('form[action="/login"] button[type="submit"]')


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("?", 1)[0]


# ---------------------------------------------------------------------------------------------------
# Sign-in and 我的待办


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_secretary_signs_in_and_reads_my_todo_on_a_phone_and_a_pc(
    desk: DeskFixture, browser: playwright_api.Browser, artifacts: Path, viewport: str
) -> None:
    width, height = VIEWPORTS[viewport]
    with served(desk.app) as base:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        page = context.new_page()
        page.goto(f"{base}/")
        assert urlpath(page.url) == "/login"  # no session: the sign-in form, then back to 我的待办
        fits_every_width(page, artifacts, "login")

        page.fill('input[name="member"]', "b1m1")
        page.fill('input[name="password"]', "wrong-pass1")
        with page.expect_navigation():
            page.click('form[action="/login"] button[type="submit"]')
        assert "党员编号或密码不正确" in page.inner_text("main")

        sign_in(page, "b1m1")
        assert urlpath(page.url) == "/"
        assert page.inner_text("h1").startswith("我的待办")
        listed = page.inner_text("main")
        # jg.b1's November 支委会 (due 2026-11-30, 9 days after the desk's clock) and its overdue 换届.
        assert "支部委员会会议" in listed and "已逾期" in listed
        fits_every_width(page, artifacts, "todo")
        context.close()


# ---------------------------------------------------------------------------------------------------
# From the reminder to the record: waits for /l/{token} (helper 5), /tasks/{id} (helper 3) and /org/{code}
# (helper 4); it fails until they are merged.

REMIND_AT = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)  # Monday 09:00 in Beijing


@pytest.fixture
def smtp() -> Iterator[tuple[MailSink, Controller]]:
    sink = MailSink(today=REMIND_AT.date())
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller
    controller.stop()


def _item_link(body: str, title: str) -> str:
    """The desk link of the reminder item titled `title` (items are numbered paragraphs)."""
    items = re.split(r"\n(?=\d+\. )", body)
    item = next((item for item in items if title in item), None)
    assert item is not None, f"no reminder item for {title}:\n{body}"
    link = re.search(r"https?://\S+/l/[\w.~-]+", item)
    assert link is not None, f"the reminder item carries no desk link /l/…:\n{item}"
    return link.group(0)


def test_reminder_link_to_record_flow(
    desk: DeskFixture,
    browser: playwright_api.Browser,
    artifacts: Path,
    smtp: tuple[MailSink, Controller],
    tmp_path: Path,
) -> None:
    sink, controller = smtp
    port = free_port()
    config_file = tmp_path / "flow.toml"
    config_file.write_text(
        textwrap.dedent(
            f"""
            [reminders]
            channels = ["email"]
            [notifiers.email]
            host = "127.0.0.1"
            port = {controller.port}
            security = "none"
            [web]
            public_url = "http://127.0.0.1:{port}"
            [ledger]
            attachments = "{(tmp_path / "attachments").as_posix()}"
            """
        ),
        encoding="utf-8",
    )
    config = load_config(config_file, required=True)
    desk.clock.now = REMIND_AT
    with session_scope(desk.engine) as session:
        task = session.exec(
            select(Task).where(
                col(Task.org) == "jg.b1",
                col(Task.rule) == "committee-meeting",
                col(Task.due) == dt.date(2026, 11, 30),
            )
        ).one()
        task_id = task.id
    assert task_id is not None

    # The Monday-morning reminder, sent by `obligations remind` to the SMTP server.
    database = desk.engine.url.render_as_string(hide_password=False)
    remind = ["--config", str(config_file), "--db", database, "remind", "--as-of", "2026-11-23 09:00"]
    with ThreadPoolExecutor(1) as worker:  # off this thread: Playwright's sync API runs an event loop here
        sent = worker.submit(CliRunner().invoke, cli, remind).result()
    assert sent.exit_code == 0, sent.output
    (mail,) = sink.to("b1m1@example.org")
    body = mail.message.get_body(("plain",))
    assert body is not None
    link = _item_link(str(body.get_content()), "支部委员会会议")

    app = create_app(config, desk.engine, PROFILES, clock=desk.clock)
    with served(app, port) as base:
        assert link.startswith(f"{base}/l/")
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = phone.new_page()

        # The link alone signs nobody in: the login, then the task page on a clean URL.
        page.goto(link)
        assert "/l/" not in page.url
        sign_in(page, "b1m1")
        assert urlpath(page.url) == f"/tasks/{task_id}", page.url
        assert "/l/" not in page.url
        assert "支部委员会会议" in page.inner_text("main")
        fits_every_width(page, artifacts, "task")

        # The record form, as the CLI's options: date, place, host, topic, attendees, minutes (a PDF).
        page.set_viewport_size({"width": 390, "height": 844})
        record = page.locator('form:has([name="on"])')
        _fill(record, "on", "2026-11-20")
        _fill(record, "place", "第一党支部活动室")
        _fill(record, "host", "b1m1")
        _fill(record, "topic", "研究十二月支部工作安排")
        _pick_attendees(record, ["b1m1", "b1m2"])
        minutes = tmp_path / "支委会记录.pdf"
        minutes.write_bytes(MINUTES_PDF)
        record.locator('input[name="minutes"]').set_input_files(str(minutes))
        with page.expect_navigation():
            record.locator('button[type="submit"], input[type="submit"]').first.click()

        # Saved: the record with its undo, and the task done.
        shown = page.inner_text("main")
        assert "研究十二月支部工作安排" in shown and "撤销" in shown, shown
        fits_every_width(page, artifacts, "recorded")
        with session_scope(desk.engine) as session:
            done = session.get(Task, task_id)
            assert done is not None and done.status == "done"
            completion = session.exec(
                select(Completion)
                .join(CompletionTask, col(CompletionTask.completion_id) == col(Completion.id))
                .where(col(CompletionTask.task_id) == task_id)
            ).one()
            assert (completion.recorded_by, completion.recorded_via) == ("b1m1", "web")
            assert completion.held_on == dt.date(2026, 11, 20)
            (attachment,) = session.exec(
                select(Attachment).where(col(Attachment.completion_id) == completion.id)
            ).all()
            assert (tmp_path / "attachments" / attachment.path).read_bytes() == MINUTES_PDF
        page.goto(f"{base}/")
        assert page.locator(f'a[href="/tasks/{task_id}"]').count() == 0  # no longer on 我的待办
        phone.close()

        # The 机关党委's secretary (who supervises the subtree) sees it done on the subtree view, on a PC: no
        # longer among the overdue and due-soon work, and in the branch's 台账 the view links to.
        pc = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        page = pc.new_page()
        page.goto(f"{base}/org/jg")
        sign_in(page, "a1")
        assert urlpath(page.url) == "/org/jg", page.url
        assert "第一党支部" in page.inner_text("main")
        assert page.locator(f'a[href="/tasks/{task_id}"]').count() == 0
        fits_every_width(page, artifacts, "org-committee")
        with page.expect_navigation():
            page.locator('a[href^="/org/jg.b1/ledger"]').first.click()
        ledger_page = page.inner_text("body")  # the 台账 export, a document of its own
        assert "研究十二月支部工作安排" in ledger_page and "第一党支部活动室" in ledger_page, ledger_page
        fits_every_width(page, artifacts, "org-ledger")
        pc.close()


def _fill(form: playwright_api.Locator, name: str, value: str) -> None:
    """Type into a field, or choose in a select, whichever the form shows for `name`."""
    field = form.locator(f'[name="{name}"]').first
    if field.evaluate("element => element.tagName") == "SELECT":
        field.select_option(value)
    else:
        field.fill(value)


def _pick_attendees(form: playwright_api.Locator, members: list[str]) -> None:
    """Attendees are picked from the roster: check boxes named `attendee`, or a multiple select."""
    select_box = form.locator('select[name="attendee"]')
    if select_box.count():
        select_box.select_option(members)
        return
    for member in members:
        form.locator(f'input[name="attendee"][value="{member}"]').check()
