"""Group robots in a sweep's delivery: every organization's robot is isolated from the others (a full window or a
rate-limited robot holds back only its own summaries), all robots share one HTTP client and one read of the
registry per round, and no robot key is ever read from a variable outside OBLIGATIONS_ROBOT_… (real peers: the
WeCom peer on 127.0.0.1, the channels as `remind` and the daemon build them, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import col, select

from calendars.ladder import PARTY_TIME, OfficeHours
from calendars.workdays import WorkCalendar
from notifiers.base import Channel
from obligations import db, reminders
from obligations.channels import build_channels
from obligations.config import Config, load_config
from obligations.models import DeliveryAttempt, Organization, OutboxMessage
from tests.notifiers.servers import FakeWeCom

NOW = dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARTY_TIME)  # a Monday, in office hours
SETTINGS = reminders.Settings(OfficeHours.parse("08:30-18:00", WorkCalendar()), ("console", "wecom_robot"))
WEBHOOK = "/cgi-bin/webhook/send"
RATE_LIMITED = {"errcode": 45009, "errmsg": "api freq out of limit"}
T = TypeVar("T")


def key(org: str) -> str:
    return f"{org}-robot-key-0123456789abcdef"


def variable(org: str) -> str:
    return f"OBLIGATIONS_ROBOT_{org.upper()}"


def organizations(engine: Engine, robots: Mapping[str, str]) -> None:
    """Branches with the robot variables given (as stored: an older import may have stored anything)."""
    with db.session_scope(engine) as session:
        for org, name in robots.items():
            session.add(
                Organization(
                    code=org,
                    name=f"{org}党支部",
                    kind="branch",
                    path=f"/{org}/",
                    effective_profile="national",
                    wecom_robot_env=name,
                )
            )


def queue(engine: Engine, org: str, count: int) -> None:
    with db.session_scope(engine) as session:
        for index in range(count):
            session.add(
                OutboxMessage(
                    org=org,
                    recipient_name=f"{org}党支部",
                    channel="wecom_robot",
                    address=f"robot:{org}",
                    subject="【党建提醒】本组织待办",
                    text=f"{org}党支部：第 {index + 1} 条汇总",
                    markdown=f"## {org}党支部 · 党建工作提醒\n> 第 {index + 1} 条汇总",
                    next_attempt_at=NOW,
                    created_at=NOW,
                )
            )


def summaries(engine: Engine, org: str) -> list[OutboxMessage]:
    with db.session_scope(engine) as session:
        found = session.exec(
            select(OutboxMessage).where(col(OutboxMessage.org) == org).order_by(col(OutboxMessage.id))
        ).all()
        session.expunge_all()
        return list(found)


def attempts(engine: Engine, org: str) -> int:
    return sum(message.attempts for message in summaries(engine, org))


def configured(tmp_path: Path, server: FakeWeCom, extra: str = "") -> Config:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[reminders]\nchannels = ["console", "wecom_robot"]\n[notifiers.console]\npath = "console.log"\n'
        f'[notifiers.wecom]\napi_base = "{server.base_url}"\n{extra}',
        encoding="utf-8",
    )
    return load_config(path)


async def deliver(
    engine: Engine,
    channels: Mapping[str, Channel],
    now: dt.datetime = NOW,
    breakers: reminders.Breakers | None = None,
) -> tuple[int, int, int]:
    return await reminders.deliver(
        engine, channels, now, SETTINGS, worker="test", rng=random.Random(1), breakers=breakers
    )


async def close(channels: Mapping[str, Channel]) -> None:
    for channel in channels.values():
        await channel.aclose()


def with_wecom(keys: list[str], scenario: Callable[[FakeWeCom], Awaitable[T]]) -> T:
    async def run() -> T:
        async with FakeWeCom(
            robot_key=keys[0], corp_id="ww-robots", corp_secret="unused", clock=time.monotonic
        ) as server:
            server.robot_keys |= set(keys)
            return await scenario(server)

    return asyncio.run(run())


def posted_keys(server: FakeWeCom) -> list[str]:
    return [request.query["key"] for request in server.calls(WEBHOOK)]


# --- isolation ---


def test_a_robot_with_a_full_window_waits_alone_while_every_other_robots_summary_goes_in_the_same_sweep(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizations(engine, {"b1": variable("b1"), "b2": variable("b2")})
    for org in ("b1", "b2"):
        monkeypatch.setenv(variable(org), key(org))
    queue(engine, "b1", 22)  # claimed first: its 21st and 22nd come before every one of b2's
    queue(engine, "b2", 5)

    async def scenario(server: FakeWeCom) -> tuple[tuple[int, int, int], list[str]]:
        channels = build_channels(configured(tmp_path, server), engine)
        try:
            counts = await deliver(engine, channels)
        finally:
            await close(channels)
        return counts, posted_keys(server)

    counts, keys = with_wecom([key("b1"), key("b2")], scenario)

    assert counts == (25, 0, 0)
    assert keys.count(key("b1")) == 20 and keys.count(key("b2")) == 5
    assert {message.state for message in summaries(engine, "b2")} == {"sent"}
    waiting = [message for message in summaries(engine, "b1") if message.state != "sent"]
    # The 21st and 22nd stay queued, due when the window frees, without using up an attempt.
    assert [(message.state, message.attempts) for message in waiting] == [("pending", 0)] * 2
    for message in waiting:
        due = db.aware(message.next_attempt_at)
        assert NOW + dt.timedelta(seconds=30) <= due <= NOW + dt.timedelta(seconds=60)
    with db.session_scope(engine) as session:
        assert len(session.exec(select(DeliveryAttempt)).all()) == 25

    # A later round (a new `remind`, or the daemon a minute on) sends them.
    async def later(server: FakeWeCom) -> list[str]:
        channels = build_channels(configured(tmp_path, server), engine)
        try:
            assert await deliver(engine, channels, NOW + dt.timedelta(minutes=1)) == (2, 0, 0)
        finally:
            await close(channels)
        return posted_keys(server)

    assert with_wecom([key("b1")], later) == [key("b1")] * 2


def test_a_robot_wecom_says_is_over_its_limit_never_pauses_the_other_organizations_robots(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizations(engine, {"b1": variable("b1"), "b2": variable("b2")})
    for org in ("b1", "b2"):
        monkeypatch.setenv(variable(org), key(org))
    queue(engine, "b1", 3)  # as many as the breaker's failures: three rate limits in a row would pause
    queue(engine, "b2", 5)
    breakers = reminders.Breakers(3, dt.timedelta(minutes=10))

    async def scenario(server: FakeWeCom) -> tuple[tuple[int, int, int], list[str]]:
        server.robot_answers[key("b1")] = deque([RATE_LIMITED] * 3)  # another sender fills b1's minute
        channels = build_channels(configured(tmp_path, server), engine)
        try:
            counts = await deliver(engine, channels, breakers=breakers)
        finally:
            await close(channels)
        return counts, posted_keys(server)

    counts, keys = with_wecom([key("b1"), key("b2")], scenario)

    assert breakers.paused(NOW) == {}
    assert counts == (5, 1, 0)
    assert keys == [key("b1")] + [key("b2")] * 5  # b1 asked once; its other two not at all
    assert {message.state for message in summaries(engine, "b2")} == {"sent"}
    b1 = summaries(engine, "b1")
    assert {message.state for message in b1} == {"pending"}
    assert [message.attempts for message in b1] == [1, 0, 0]  # the refused one retried; the others deferred
    assert all(db.aware(message.next_attempt_at) >= NOW + dt.timedelta(seconds=59) for message in b1)


# --- one client, one read of the registry per round ---


def test_thirty_robots_share_one_connection_and_one_read_of_the_registry_per_round(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orgs = [f"b{n}" for n in range(30)]
    organizations(engine, {org: variable(org) for org in orgs})
    for org in orgs:
        monkeypatch.setenv(variable(org), key(org))
        queue(engine, org, 1)
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    async def scenario(server: FakeWeCom) -> tuple[tuple[int, int, int], list[int]]:
        channels = build_channels(configured(tmp_path, server), engine)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            counts = await deliver(engine, channels)
        finally:
            event.remove(engine, "before_cursor_execute", seen)
            await close(channels)
        return counts, [request.connection for request in server.calls(WEBHOOK)]

    counts, connections = with_wecom([key(org) for org in orgs], scenario)

    assert counts == (30, 0, 0)
    assert len(connections) == 30 and set(connections) == {1}  # one client, its connection kept alive
    registry_reads = [text for text in statements if "FROM organization" in text]
    assert len(registry_reads) == 1, registry_reads


def test_a_registry_imported_between_two_rounds_is_followed_by_the_next(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    organizations(engine, {"b1": variable("b1")})
    monkeypatch.setenv(variable("b1"), key("b1"))
    monkeypatch.setenv("OBLIGATIONS_ROBOT_NEW", key("new"))
    queue(engine, "b1", 1)

    async def scenario(server: FakeWeCom) -> list[str]:
        channels = build_channels(configured(tmp_path, server), engine)  # kept, as the daemon keeps them
        try:
            assert await deliver(engine, channels) == (1, 0, 0)
            with db.session_scope(engine) as session:
                session.execute(update(Organization).values(wecom_robot_env="OBLIGATIONS_ROBOT_NEW"))
            queue(engine, "b1", 1)
            assert await deliver(engine, channels) == (1, 0, 0)
        finally:
            await close(channels)
        return posted_keys(server)

    assert with_wecom([key("b1"), key("new")], scenario) == [key("b1"), key("new")]


# --- no other secret leaves as a robot key ---


def test_a_stored_robot_variable_naming_another_secret_of_the_server_is_refused_at_send_and_never_read(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_password, reused = "smtp-password-never-leaves", "wecom-secret-never-leaves"
    organizations(
        engine,
        {
            "b1": "OBLIGATIONS_SMTP_PASSWORD",  # outside the robots' prefix (stored before imports refused it)
            "b2": "OBLIGATIONS_ROBOT_SHARED",  # the robots' prefix, but config.toml's own secret variable
            "b3": variable("b3"),
        },
    )
    monkeypatch.setenv("OBLIGATIONS_SMTP_PASSWORD", smtp_password)
    monkeypatch.setenv("OBLIGATIONS_ROBOT_SHARED", reused)
    monkeypatch.setenv(variable("b3"), key("b3"))
    for org in ("b1", "b2", "b3"):
        queue(engine, org, 1)

    async def scenario(server: FakeWeCom) -> tuple[tuple[int, int, int], list[str]]:
        config = configured(tmp_path, server, 'corp_secret_env = "OBLIGATIONS_ROBOT_SHARED"\n')
        channels = build_channels(config, engine)
        try:
            counts = await deliver(engine, channels)
        finally:
            await close(channels)
        return counts, [request.query.get("key", "") for request in server.requests]

    # The peer would accept either secret as a key: only the check keeps them home.
    counts, keys = with_wecom([key("b3"), smtp_password, reused], scenario)

    assert counts == (1, 0, 2) and keys == [key("b3")]
    [b1], [b2] = summaries(engine, "b1"), summaries(engine, "b2")
    assert b1.state == b2.state == "failed"
    assert b1.last_error is not None and "应为以 OBLIGATIONS_ROBOT_ 开头的环境变量名" in b1.last_error
    assert b2.last_error is not None and "与 config.toml 中其他密钥所用的环境变量相同" in b2.last_error
    with db.session_scope(engine) as session:
        stored = [str(row.model_dump()) for row in session.exec(select(DeliveryAttempt)).all()]
    for text in [*stored, b1.last_error, b2.last_error]:
        assert smtp_password not in text and reused not in text
