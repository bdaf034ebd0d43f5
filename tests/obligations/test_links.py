"""Signed task links (issue 11, 从提醒到表单): the token names the task and the recipient, expires after 30 days,
is refused when tampered with or signed with another key, and its key is created once for all processes."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from obligations import links
from obligations.db import session_scope
from obligations.models import AppSecret

NOW = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
KEY = "k" * 64


def test_a_link_names_its_task_and_recipient() -> None:
    token = links.sign(KEY, 42, "b1m1", now=NOW)
    link = links.verify(KEY, token, now=NOW + dt.timedelta(days=29, hours=23))
    assert (link.task_id, link.member, link.issued) == (42, "b1m1", NOW)


def test_a_link_expires_after_thirty_days_on_the_clock_it_is_given() -> None:
    token = links.sign(KEY, 42, "b1m1", now=NOW)
    with pytest.raises(links.LinkError) as raised:
        links.verify(KEY, token, now=NOW + dt.timedelta(days=30, seconds=1))
    assert raised.value.kind == "expired"


def test_a_link_from_the_future_is_refused() -> None:
    token = links.sign(KEY, 42, "b1m1", now=NOW + dt.timedelta(days=2))
    with pytest.raises(links.LinkError) as raised:
        links.verify(KEY, token, now=NOW)
    assert raised.value.kind == "invalid"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        lambda token: links.sign(KEY, 43, "b1m1", now=NOW).split(".")[0] + "." + token.split(".")[1],
        lambda token: links.sign("another key" * 4, 42, "b1m1", now=NOW),  # foreign-signed
        lambda token: "x" * (links.MAX_TOKEN + 1),
        lambda token: "",
    ],
    ids=["signature", "payload", "foreign-key", "too-long", "empty"],
)
def test_a_tampered_or_foreign_link_is_invalid(mangle: object) -> None:
    token = links.sign(KEY, 42, "b1m1", now=NOW)
    assert callable(mangle)
    with pytest.raises(links.LinkError) as raised:
        links.verify(KEY, mangle(token), now=NOW)
    assert raised.value.kind == "invalid"


def test_a_payload_of_the_wrong_shape_is_invalid_even_when_signed() -> None:
    serializer = links._serializer(KEY)
    for payload in ([0, "m", 1], ["42", "m", 1], [42, "", 1], [42, "m"], {"t": 42}, [2**31, "m", 1]):
        with pytest.raises(links.LinkError):
            links.verify(KEY, str(serializer.dumps(payload)), now=NOW)


def test_the_signing_key_is_made_once_and_kept(engine: Engine) -> None:
    with session_scope(engine) as session:
        first = links.signing_key(session, NOW)
    with session_scope(engine) as session:
        assert links.signing_key(session, NOW + dt.timedelta(days=1)) == first
        assert len(session.exec(select(AppSecret)).all()) == 1
    assert len(first) >= 64


def test_two_processes_creating_the_key_at_once_get_the_same_key(engine: Engine) -> None:
    """The first inserter holds its transaction open while the second looks for the key and inserts: the
    second waits, does nothing, and reads the first one's key."""
    other: list[str] = []
    started = threading.Event()

    def second() -> None:
        with Session(engine) as session:
            started.set()
            other.append(links.signing_key(session, NOW))
            session.commit()

    with Session(engine) as session:
        mine = links.signing_key(session, NOW)
        thread = threading.Thread(target=second)
        thread.start()
        started.wait()
        thread.join(timeout=0.5)  # blocked on our uncommitted insert (or it read nothing yet)
        session.commit()
    thread.join(timeout=30)
    assert other == [mine]
    with session_scope(engine) as session:
        assert session.exec(select(AppSecret.value)).all() == [mine]


def test_a_linker_makes_nothing_without_a_public_address(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert links.linker(session, "", NOW) is None
        linker = links.linker(session, "https://desk.example.cn/dj/", NOW)
    assert linker is not None
    url = linker.url(7, "b1m1")
    assert url.startswith("https://desk.example.cn/dj/l/")
    token = url.rsplit("/", 1)[1]
    assert links.verify(linker.key, token, now=NOW).task_id == 7
    assert linker.home == "https://desk.example.cn/dj/"
