"""Each channel tells a stalled channel (timeout, refused or reset connection, TLS handshake that never ends,
overloaded service) from a bad message or recipient, against real peers on 127.0.0.1: the outbox's circuit
breaker counts only the first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from notifiers.base import DeliveryError
from notifiers.wecom import WebhookChannel
from tests.notifiers.servers import FakeTime, FakeWeCom, SilentServer, SmtpServer, free_port
from tests.notifiers.test_email import channel as email_channel
from tests.notifiers.test_email import failure
from tests.notifiers.test_email import message as email_message
from tests.notifiers.test_wecom import ROBOT_KEY, SEND, WEBHOOK, app, failed, robot, with_server
from tests.notifiers.test_wecom import message as wecom_message

# --- email ---


@pytest.mark.parametrize("security", ["none", "starttls", "tls"])
def test_an_smtp_server_that_accepts_and_never_answers_is_a_stall(security: str) -> None:
    # With implicit TLS the client's hello is never answered: the handshake is what stalls.
    with SilentServer() as silent:
        error = failure(email_channel(silent.port, security=security, timeout=0.3), email_message())

    assert silent.accepted == 1
    assert error.stalled and not error.permanent
    assert "超时" in error.reason


def test_a_closed_smtp_port_is_a_stall() -> None:
    error = failure(email_channel(free_port()), email_message())

    assert error.stalled and not error.permanent
    assert "无法连接" in error.reason


def test_an_smtp_connection_reset_at_once_is_a_stall() -> None:
    with SilentServer(reset=True) as resetting:
        error = failure(email_channel(resetting.port), email_message())

    assert resetting.accepted == 1
    assert error.stalled and not error.permanent


@pytest.mark.parametrize(
    ("reply", "stalled", "permanent"),
    [
        ("421 4.3.2 Service not available, closing channel", True, False),
        ("451 4.7.1 Greylisted, try again later", False, False),
        ("452 4.2.2 Mailbox full", False, False),
        ("550 5.1.1 Mailbox unavailable", False, True),
    ],
)
def test_an_smtp_reply_to_one_recipient_stalls_the_channel_only_when_the_server_closes_it(
    smtp_server: SmtpServer, reply: str, stalled: bool, permanent: bool
) -> None:
    smtp_server.mailbox.rcpt_replies["zhangsan@example.org"] = reply

    error = failure(email_channel(smtp_server.port), email_message())

    assert (error.stalled, error.permanent) == (stalled, permanent)
    assert reply.split()[0] in error.reason


@pytest.mark.parametrize(
    ("greeting", "stalled", "permanent"),
    [
        (b"421 4.3.2 Too many connections, try again later\r\n", True, False),
        (b"554 5.7.1 No service\r\n", False, True),
    ],
)
def test_a_greeting_that_refuses_service_for_now_is_a_stall(
    greeting: bytes, stalled: bool, permanent: bool
) -> None:
    with SilentServer(greeting=greeting) as refusing:
        error = failure(email_channel(refusing.port, timeout=2.0), email_message())

    assert (error.stalled, error.permanent) == (stalled, permanent)
    assert greeting[:3].decode() in error.reason


# --- WeCom ---


def _robot_error(prepare: Callable[[FakeWeCom, FakeTime], WebhookChannel]) -> DeliveryError:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = prepare(server, fake)
        error = await failed(channel, wecom_message())
        await channel.aclose()
        return error

    return with_server(scenario)


def test_a_wecom_peer_that_accepts_and_never_answers_is_a_stall() -> None:
    with SilentServer() as silent:
        error = _robot_error(
            lambda server, fake: WebhookChannel(
                f"http://127.0.0.1:{silent.port}", ROBOT_KEY, clock=fake.clock, sleep=fake.sleep, timeout=0.3
            )
        )
    assert error.stalled and not error.permanent and "超时" in error.reason
    assert ROBOT_KEY not in error.reason


def test_a_wecom_tls_handshake_that_never_ends_is_a_stall() -> None:
    with SilentServer() as silent:
        error = _robot_error(
            lambda server, fake: WebhookChannel(
                f"https://127.0.0.1:{silent.port}", ROBOT_KEY, clock=fake.clock, sleep=fake.sleep, timeout=0.3
            )
        )
    assert silent.accepted == 1
    assert error.stalled and not error.permanent and "超时" in error.reason


@pytest.mark.parametrize("reset", [False, True], ids=["closed-port", "reset"])
def test_a_closed_or_resetting_wecom_peer_is_a_stall(reset: bool) -> None:
    with SilentServer(reset=True) as resetting:
        port = resetting.port if reset else free_port()
        error = _robot_error(
            lambda server, fake: WebhookChannel(
                f"http://127.0.0.1:{port}", ROBOT_KEY, clock=fake.clock, sleep=fake.sleep
            )
        )
    assert error.stalled and not error.permanent
    assert ROBOT_KEY not in error.reason


def test_a_slow_wecom_answer_is_a_stall() -> None:
    def slow(server: FakeWeCom, fake: FakeTime) -> WebhookChannel:
        server.delay = 1.0
        return robot(server, fake, timeout=0.2)

    error = _robot_error(slow)
    assert error.stalled and not error.permanent and "超时" in error.reason


@pytest.mark.parametrize(
    ("answer", "stalled", "permanent"),
    [
        ((502, b"<html>Bad Gateway</html>"), True, False),
        ((503, b"<html>Service Unavailable</html>"), True, False),
        ((429, b"slow down"), True, False),
        ({"errcode": -1, "errmsg": "system busy"}, True, False),
        # A robot's rate limit is its own 20 a minute: one busy group, not the service (it never pauses the others).
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, False, False),
        ({"errcode": 45033, "errmsg": "api concurrent out of limit"}, False, False),
        ({"errcode": 93000, "errmsg": "invalid webhook url"}, False, True),
        ({"errcode": 40008, "errmsg": "invalid message type"}, False, True),
        ((404, b"no such path"), False, True),
        ((200, b"<html>not json</html>"), False, False),
    ],
)
def test_wecom_robot_answers_stall_the_channel_only_when_the_service_is_down_or_overloaded(
    answer: Any, stalled: bool, permanent: bool
) -> None:
    def answering(server: FakeWeCom, fake: FakeTime) -> WebhookChannel:
        server.answers[WEBHOOK].append(answer)
        return robot(server, fake)

    error = _robot_error(answering)
    assert (error.stalled, error.permanent) == (stalled, permanent)


def test_the_wecom_applications_rate_limit_stalls_its_channel() -> None:
    """The application's limits are the whole channel's (every person's message goes through it)."""

    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        server.answers[SEND].append({"errcode": 45009, "errmsg": "api freq out of limit"})
        channel = app(server, fake)
        error = await failed(channel, wecom_message())
        await channel.aclose()
        return error

    error = with_server(scenario)
    assert error.stalled and not error.permanent and error.retry_after == 60.0


@pytest.mark.parametrize(
    "answer",
    [
        {"errcode": 0, "errmsg": "ok", "invaliduser": "zhangsan", "msgid": "x"},
        {"errcode": 0, "errmsg": "ok", "unlicenseduser": "zhangsan", "msgid": "x"},
        {"errcode": 40003, "errmsg": "invalid userid"},
        {"errcode": 81013, "errmsg": "user & party & tag all invalid"},
    ],
)
def test_a_refused_wecom_recipient_is_permanent_and_never_a_stall(answer: dict[str, Any]) -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        server.answers[SEND].append(answer)
        channel = app(server, fake)
        error = await failed(channel, wecom_message())
        await channel.aclose()
        return error

    error = with_server(scenario)
    assert error.permanent and not error.stalled


def test_the_stall_verdict_survives_the_scrubbing_of_secrets() -> None:
    error = DeliveryError("连接 key=abc 超时", permanent=False, retry_after=5.0, stalled=True)
    scrubbed = error.with_reason("连接 key=*** 超时")
    assert (scrubbed.reason, scrubbed.permanent, scrubbed.retry_after, scrubbed.stalled) == (
        "连接 key=*** 超时",
        False,
        5.0,
        True,
    )
    with pytest.raises(ValueError, match="temporary"):
        DeliveryError("x", permanent=True, stalled=True)
