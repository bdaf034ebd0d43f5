"""Access logs keep no secret (issue 11: "the token must not stay in the address bar or in access logs"; the
WeCom code is "never logged"): the desk served by a real uvicorn on 127.0.0.1, its access log formatted by
uvicorn's own formatter, carries `/l/***` and `code=***` where the request had the token and the code."""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from uvicorn.logging import AccessFormatter

from obligations import links
from obligations.db import session_scope
from obligations.web import redact
from tests.notifiers.servers import free_port
from tests.obligations.web.conftest import DeskFixture
from tests.obligations.web.test_links import open_task

CODE = "CODEa1b2c3d4e5f6SECRET"
STATE = "STATEz9y8x7SECRET"


@pytest.fixture
def access_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s', use_colors=False)
    )
    logger = logging.getLogger("uvicorn.access")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_uvicorns_access_log_shows_neither_link_tokens_nor_wecom_codes(
    desk: DeskFixture, access_log: io.StringIO
) -> None:
    task_id = open_task(desk)
    with session_scope(desk.engine) as session:
        token = links.sign(links.signing_key(session, desk.clock.now), task_id, "b1m1", now=desk.clock.now)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(desk.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=False) as client:
            assert client.get(f"/l/{token}").status_code == 303
            client.get("/wecom/callback", params={"code": CODE, "state": STATE})
            client.get("/login", params={"next": "/", "state": STATE})
    finally:
        server.should_exit = True
        thread.join(timeout=20)
    logged = access_log.getvalue()
    assert '"GET /l/*** HTTP/1.1" 303' in logged
    assert "/wecom/callback?code=***&state=*** HTTP/1.1" in logged
    assert "/login?next=%2F&state=*** HTTP/1.1" in logged
    for secret in (token, token.split(".")[0], CODE, STATE):
        assert secret not in logged


def test_the_filter_keeps_uvicorns_five_arguments_and_other_paths_as_they_are() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/tasks/12?code=abc&x=1", "1.1", 200),
        None,
    )
    assert redact.RedactLinks().filter(record)
    assert record.args == ("127.0.0.1:5000", "GET", "/tasks/12?code=***&x=1", "1.1", 200)
    assert redact.redact("/login?next=/l/abc.def") == "/login?next=/l/***"
    assert redact.redact("/login?next=%2Fl%2Fabc.def&a=1") == "/login?next=%2Fl%2F***&a=1"
    assert redact.redact("/static/desk.css?v=1") == "/static/desk.css?v=1"
    assert redact.redact("/lists/l/x") == "/lists/l/***"  # only ever over-redacts
