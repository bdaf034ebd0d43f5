"""WeCom group robot and application messages against a local HTTP server speaking the WeCom API."""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from notifiers.base import Channel, Deferred, Delivery, DeliveryError, Message, Recipient
from notifiers.wecom import (
    APP_MARKDOWN_LIMIT,
    ROBOT_MARKDOWN_LIMIT,
    AppChannel,
    RobotPool,
    WebhookChannel,
    robot_address,
)
from tests.notifiers.servers import FakeTime, FakeWeCom, free_port

ROBOT_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
CORP_ID = "ww0123456789abcdef"
CORP_SECRET = "Corp-Secret-Never-Shown-0123456789"
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
ZHANG = Recipient(name="张三", email="zhangsan@example.org", wecom="zhangsan", mobile="13800000001")
WEBHOOK = "/cgi-bin/webhook/send"
SEND = "/cgi-bin/message/send"
TOKEN = "/cgi-bin/gettoken"

T = TypeVar("T")


def message(key: str = "r-1", **fields: Any) -> Message:
    defaults: dict[str, Any] = {
        "recipient": ZHANG,
        "subject": "【党建提醒】支部委员会会议",
        "text": "张三同志：请于 2026年11月30日 前召开支部委员会会议。",
        "markdown": "## 党建工作提醒\n> **第一党支部 · 支部委员会会议**\n> 截止：2026年11月30日",
    }
    defaults.update(fields)
    return Message(key=key, **defaults)


def with_server(scenario: Callable[[FakeWeCom, FakeTime], Awaitable[T]]) -> T:
    """Runs `scenario` with a fresh WeCom speaker whose clock is the fake one the channels get too."""
    fake = FakeTime()

    async def run() -> T:
        async with FakeWeCom(
            robot_key=ROBOT_KEY, corp_id=CORP_ID, corp_secret=CORP_SECRET, clock=fake.clock
        ) as server:
            return await scenario(server, fake)

    return asyncio.run(run())


def robot(server: FakeWeCom, fake: FakeTime, key: str = ROBOT_KEY, **options: Any) -> WebhookChannel:
    return WebhookChannel(
        server.base_url, key, clock=fake.clock, sleep=fake.sleep, now=lambda: NOW, **options
    )


def app(server: FakeWeCom, fake: FakeTime, secret: str = CORP_SECRET, **options: Any) -> AppChannel:
    return AppChannel(server.base_url, CORP_ID, secret, 1000002, clock=fake.clock, now=lambda: NOW, **options)


async def failed(channel: Channel, outgoing: Message) -> DeliveryError:
    try:
        await channel.send(outgoing)
    except DeliveryError as error:
        return error
    raise AssertionError("the send should have failed")


def max_in_any_window(times: list[float], per: float) -> int:
    return max((sum(start <= t < start + per for t in times) for start in times), default=0)


# --- the group robot ---


def test_robot_sends_markdown_and_hides_its_key() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[Delivery, Any]:
        channel = robot(server, fake)
        assert isinstance(channel, Channel)
        assert channel.address_of(ZHANG) == "robot:…5aaa"
        delivery = await channel.send(message())
        await channel.aclose()
        return delivery, server.calls(WEBHOOK)

    delivery, [request] = with_server(scenario)
    assert request.method == "POST" and request.query == {"key": ROBOT_KEY}
    assert request.body == {"msgtype": "markdown", "markdown": {"content": message().markdown}}
    assert delivery.channel == "wecom_robot"
    assert delivery.address == "robot:…5aaa"
    assert ROBOT_KEY not in repr(delivery)
    assert delivery.started_at == NOW


def test_robot_mentions_people_by_mobile_with_a_text_message() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> Any:
        channel = robot(server, fake)
        await channel.send(message(mention_mobiles=("13800000001", "13800000002")))
        await channel.send(message(markdown=None))
        await channel.aclose()
        return [request.body for request in server.calls(WEBHOOK)]

    mention, fallback = with_server(scenario)
    assert mention == {
        "msgtype": "text",
        "text": {"content": message().text, "mentioned_mobile_list": ["13800000001", "13800000002"]},
    }
    assert fallback == {"msgtype": "markdown", "markdown": {"content": message().text}}


def test_robot_refuses_a_body_over_the_limit_instead_of_cutting_it() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = robot(server, fake)
        error = await failed(channel, message(markdown="> 支部委员会会议\n" * 1000))
        await channel.aclose()
        assert server.calls(WEBHOOK) == []  # nothing cut, nothing sent
        return error

    error = with_server(scenario)
    size = len(("> 支部委员会会议\n" * 1000).encode("utf-8"))
    assert error.permanent and f"{size} 字节" in error.reason and str(ROBOT_MARKDOWN_LIMIT) in error.reason


def test_the_peer_refuses_a_body_over_wecoms_limit_as_wecom_does() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[dict[str, Any]]:
        answers = []
        async with httpx.AsyncClient() as client:
            for msgtype, limit in (("markdown", ROBOT_MARKDOWN_LIMIT), ("text", 2048)):
                for content in ("党" * (limit // 3), "党" * (limit // 3) + "建"):
                    response = await client.post(
                        f"{server.base_url}{WEBHOOK}",
                        params={"key": ROBOT_KEY},
                        json={"msgtype": msgtype, msgtype: {"content": content}},
                    )
                    answers.append(response.json())
        return answers

    fits, over, text_fits, text_over = with_server(scenario)
    assert fits["errcode"] == 0 and text_fits["errcode"] == 0
    assert over == {
        "errcode": 40058,
        "errmsg": "markdown.content exceed max length 4096. invalid Request Parameter",
    }
    assert text_over["errcode"] == 40058 and "text.content exceed max length 2048" in text_over["errmsg"]


def test_the_21st_robot_message_in_a_minute_waits_until_the_window_frees() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[list[float], list[float]]:
        channel = robot(server, fake)
        for n in range(10):
            await channel.send(message(f"a{n}"))
        fake.now += 30.0
        for n in range(15):
            await channel.send(message(f"b{n}"))
        await channel.aclose()
        return [request.at for request in server.calls(WEBHOOK)], fake.sleeps

    times, sleeps = with_server(scenario)
    assert len(times) == 25
    # Ten at t0, ten at t0+30 fill the window; the 21st waits for the first ten to leave it at t0+60.
    assert sleeps == [pytest.approx(30.0)]
    assert times[20] == pytest.approx(times[0] + 60.0)
    assert max_in_any_window(times, 60.0) == 20


def test_concurrent_robot_messages_never_exceed_twenty_a_minute() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[float]:
        channel = robot(server, fake)
        await asyncio.gather(*(channel.send(message(f"k{n}")) for n in range(45)))
        await channel.aclose()
        return [request.at for request in server.calls(WEBHOOK)]

    times = with_server(scenario)
    assert len(times) == 45
    assert max_in_any_window(times, 60.0) == 20
    assert max(times) - min(times) == pytest.approx(120.0)


def test_slow_robot_requests_still_never_exceed_twenty_a_minute_on_the_servers_clock() -> None:
    """A request counts until a minute after it finished: the server may have seen it as late as that."""

    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[float]:
        def travel() -> None:
            fake.now += 2.5  # each request takes 2.5 s of fake time to reach the server

        server.on_request = travel
        channel = robot(server, fake)
        await asyncio.gather(*(channel.send(message(f"k{n}")) for n in range(50)))
        await channel.aclose()
        return [request.at for request in server.calls(WEBHOOK)]

    times = with_server(scenario)
    assert len(times) == 50
    assert max_in_any_window(times, 60.0) <= 20


@pytest.mark.parametrize(
    ("answer", "permanent", "retry_after", "words"),
    [
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, False, 60.0, "45009"),
        ({"errcode": -1, "errmsg": "system busy"}, False, None, "繁忙"),
        ({"errcode": 40008, "errmsg": "invalid message type"}, True, None, "40008"),
        ((502, b"<html>Bad Gateway</html>"), False, None, "HTTP 502"),
        ((200, b"<html>not json</html>"), False, None, "无法识别"),
        ((404, b"no such path"), True, None, "HTTP 404"),
    ],
)
def test_robot_answers_decide_temporary_or_permanent(
    answer: Any, permanent: bool, retry_after: float | None, words: str
) -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        server.answers[WEBHOOK].append(answer)
        channel = robot(server, fake)
        error = await failed(channel, message())
        await channel.aclose()
        return error

    error = with_server(scenario)
    assert error.permanent is permanent
    assert error.retry_after == retry_after
    assert words in error.reason


def test_a_wrong_robot_key_is_permanent_and_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    wrong_key = "wrong-" + ROBOT_KEY
    caplog.set_level(logging.DEBUG)

    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = robot(server, fake, key=wrong_key)
        error = await failed(channel, message())
        await channel.aclose()
        return error

    error = with_server(scenario)
    assert error.permanent
    assert "93000" in error.reason
    shown = [str(error), repr(error), *traceback.format_exception(error)]
    shown += [record.getMessage() for record in caplog.records]
    assert any("webhook/send" in text for text in shown)  # httpx did log the request …
    assert not [text for text in shown if wrong_key in text]  # … without the key


def test_robot_unreachable_or_slow_is_temporary() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[DeliveryError, DeliveryError]:
        closed = WebhookChannel(
            f"http://127.0.0.1:{free_port()}", ROBOT_KEY, clock=fake.clock, sleep=fake.sleep
        )
        refused = await failed(closed, message())
        await closed.aclose()
        server.delay = 1.0
        slow = robot(server, fake, timeout=0.2)
        timed_out = await failed(slow, message())
        await slow.aclose()
        return refused, timed_out

    refused, timed_out = with_server(scenario)
    assert not refused.permanent and "无法连接" in refused.reason
    assert not timed_out.permanent and "超时" in timed_out.reason
    assert ROBOT_KEY not in refused.reason + timed_out.reason


# --- one robot per organization ---

OTHER_KEY = "0b5c7e2a-1d3f-4e6a-9b8c-7d6e5f4a3b2c"


def org_message(key: str, org: str) -> Message:
    return message(key, recipient=Recipient(name=f"{org}党支部", robot=robot_address(org)))


def pool(server: FakeWeCom, fake: FakeTime, keys: dict[str, str]) -> RobotPool:
    def key_of(address: str) -> str:
        org = address.removeprefix("robot:")
        if org not in keys:
            raise DeliveryError(f"群机器人 key 的环境变量 ROBOT_{org.upper()} 未设置", permanent=True)
        return keys[org]

    return RobotPool(server.base_url, lambda: key_of, clock=fake.clock, now=lambda: NOW)


def test_each_organization_posts_to_its_own_robot_and_the_delivery_names_the_organization() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[list[Delivery], list[Any]]:
        server.robot_keys.add(OTHER_KEY)
        channel = pool(server, fake, {"b1": ROBOT_KEY, "b2": OTHER_KEY})
        assert isinstance(channel, Channel)
        assert channel.address_of(ZHANG) is None  # a person is never a robot's addressee
        deliveries = [
            await channel.send(org_message("s1", "b1")),
            await channel.send(org_message("s2", "b2")),
        ]
        await channel.aclose()
        return deliveries, server.calls(WEBHOOK)

    deliveries, requests = with_server(scenario)
    assert [request.query["key"] for request in requests] == [ROBOT_KEY, OTHER_KEY]
    assert [delivery.address for delivery in deliveries] == ["robot:b1", "robot:b2"]
    assert [delivery.channel for delivery in deliveries] == ["wecom_robot", "wecom_robot"]
    assert all(request.body["msgtype"] == "markdown" for request in requests)


def test_a_full_robot_defers_its_21st_message_at_once_while_another_robot_posts_without_waiting() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[list[Any], list[Any], list[float]]:
        server.robot_keys.add(OTHER_KEY)
        channel = pool(server, fake, {"b1": ROBOT_KEY, "b2": OTHER_KEY})
        busy = [channel.send(org_message(f"a{n}", "b1")) for n in range(21)]
        other = [channel.send(org_message(f"b{n}", "b2")) for n in range(5)]
        outcomes = await asyncio.gather(*busy, *other, return_exceptions=True)
        fake.now += 30.0
        later = await failed_or_deferred(channel, org_message("a21", "b1"))
        await channel.aclose()
        return [*outcomes, later], server.calls(WEBHOOK), fake.sleeps

    outcomes, requests, sleeps = with_server(scenario)
    first = [request.at for request in requests if request.query["key"] == ROBOT_KEY]
    second = [request.at for request in requests if request.query["key"] == OTHER_KEY]
    # Twenty of the first robot's and all five of the second's go at once; nobody sleeps …
    assert len(first) == 20 and len(second) == 5 and len(set(first + second)) == 1
    assert sleeps == []
    # … and the first robot's 21st is handed back, unsent, with the time until its window frees.
    deferred = [outcome for outcome in outcomes if isinstance(outcome, Deferred)]
    assert [outcome.seconds for outcome in deferred] == [pytest.approx(60.0), pytest.approx(30.0)]
    assert len([outcome for outcome in outcomes if isinstance(outcome, Delivery)]) == 25


async def failed_or_deferred(channel: Channel, outgoing: Message) -> BaseException:
    try:
        await channel.send(outgoing)
    except (DeliveryError, Deferred) as error:
        return error
    raise AssertionError("the send should not have gone through")


def test_a_robot_wecom_says_is_over_its_limit_defers_its_next_messages_and_not_the_other_robots() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[BaseException, BaseException, Delivery]:
        server.robot_keys.add(OTHER_KEY)
        server.robot_answers[ROBOT_KEY] = deque([{"errcode": 45009, "errmsg": "api freq out of limit"}])
        channel = pool(server, fake, {"b1": ROBOT_KEY, "b2": OTHER_KEY})
        refused = await failed_or_deferred(channel, org_message("a0", "b1"))
        held = await failed_or_deferred(channel, org_message("a1", "b1"))  # not asked: it would be refused
        other = await channel.send(org_message("b0", "b2"))
        await channel.aclose()
        assert [request.query["key"] for request in server.calls(WEBHOOK)] == [ROBOT_KEY, OTHER_KEY]
        return refused, held, other

    refused, held, other = with_server(scenario)
    assert isinstance(refused, DeliveryError) and not refused.stalled and refused.retry_after == 60.0
    assert isinstance(held, Deferred) and held.seconds == pytest.approx(60.0)
    assert other.address == "robot:b2"


def test_every_robot_of_the_pool_posts_over_one_kept_alive_connection() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[Any]:
        keys = {f"b{n}": f"robot-key-{n:04d}-0123456789abcdef" for n in range(30)}
        server.robot_keys |= set(keys.values())
        channel = pool(server, fake, keys)
        for org in keys:
            await channel.send(org_message(f"s-{org}", org))
        await channel.aclose()
        return server.calls(WEBHOOK)

    requests = with_server(scenario)
    assert len({request.query["key"] for request in requests}) == 30
    assert {request.connection for request in requests} == {1}


def test_a_robot_without_a_key_fails_its_message_permanently_and_sends_nothing() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[DeliveryError, DeliveryError, int]:
        channel = pool(server, fake, {"b1": ROBOT_KEY})
        missing = await failed(channel, org_message("s1", "b2"))
        nowhere = await failed(channel, message("s2"))  # a person's digest: no robot address
        await channel.aclose()
        return missing, nowhere, len(server.calls(WEBHOOK))

    missing, nowhere, posts = with_server(scenario)
    assert missing.permanent and "ROBOT_B2" in missing.reason
    assert nowhere.permanent and "没有群机器人地址" in nowhere.reason
    assert posts == 0


# --- application messages ---


def test_app_messages_fetch_the_token_once_and_address_the_userid() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[Delivery]:
        channel = app(server, fake)
        assert isinstance(channel, Channel)
        deliveries = [
            await channel.send(message("a")),
            await channel.send(message("b", markdown=None)),
            await channel.send(message("c", recipient=Recipient(name="李四", wecom="lisi"))),
        ]
        await channel.aclose()
        assert len(server.calls(TOKEN)) == 1
        assert server.calls(TOKEN)[0].query == {"corpid": CORP_ID, "corpsecret": CORP_SECRET}
        sends = server.calls(SEND)
        assert len({request.query["access_token"] for request in sends}) == 1
        first, second, third = (request.body for request in sends)
        assert first["touser"] == "zhangsan" and first["agentid"] == 1000002
        assert first["msgtype"] == "markdown" and first["markdown"]["content"] == message().markdown
        assert second["msgtype"] == "text" and second["text"]["content"] == message().text
        assert third["touser"] == "lisi"
        assert first["enable_duplicate_check"] == 1
        return deliveries

    deliveries = with_server(scenario)
    assert [delivery.address for delivery in deliveries] == ["zhangsan", "zhangsan", "lisi"]
    assert all(
        delivery.channel == "wecom" and delivery.detail.startswith("msgid ") for delivery in deliveries
    )


def test_app_fetches_a_new_token_shortly_before_it_expires() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> int:
        channel = app(server, fake)
        await channel.send(message("a"))
        fake.now += 6000  # of 7200 s: still good
        await channel.send(message("b"))
        fake.now += 1000  # inside the last five minutes: renewed before WeCom refuses it
        await channel.send(message("c"))
        await channel.aclose()
        return len(server.calls(TOKEN))

    assert with_server(scenario) == 2


@pytest.mark.parametrize(("invalidate", "errcode"), [("expire_tokens", 42001), ("revoke_tokens", 40014)])
def test_a_rejected_token_is_refreshed_and_the_send_repeated_once(invalidate: str, errcode: int) -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> list[str]:
        channel = app(server, fake)
        await channel.send(message("a"))
        getattr(server, invalidate)()
        delivery = await channel.send(message("b"))
        await channel.aclose()
        assert delivery.address == "zhangsan"
        assert len(server.calls(TOKEN)) == 2
        return [request.query["access_token"] for request in server.calls(SEND)]

    tokens = with_server(scenario)
    # a (first token), b refused with the first token, b again with the second
    assert len(tokens) == 3 and tokens[0] == tokens[1] != tokens[2]


def test_a_token_refused_twice_is_not_retried_again() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        server.answers[SEND].extend([{"errcode": 40014, "errmsg": "invalid access_token"}] * 2)
        channel = app(server, fake)
        error = await failed(channel, message())
        await channel.aclose()
        assert len(server.calls(SEND)) == 2 and len(server.calls(TOKEN)) == 2
        return error

    error = with_server(scenario)
    assert not error.permanent
    assert "40014" in error.reason


@pytest.mark.parametrize(
    ("answer", "permanent", "words"),
    [
        ({"errcode": 0, "errmsg": "ok", "invaliduser": "zhangsan", "msgid": "x"}, True, "zhangsan"),
        ({"errcode": 40003, "errmsg": "invalid userid"}, True, "userid"),
        ({"errcode": 45009, "errmsg": "api freq out of limit"}, False, "45009"),
        ({"errcode": 60020, "errmsg": "not allow to access from your ip"}, True, "IP"),
    ],
)
def test_app_answers_decide_temporary_or_permanent(
    answer: dict[str, Any], permanent: bool, words: str
) -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        server.answers[SEND].append(answer)
        channel = app(server, fake)
        error = await failed(channel, message())
        await channel.aclose()
        return error

    error = with_server(scenario)
    assert error.permanent is permanent
    assert words in error.reason


def test_a_wrong_corp_secret_is_permanent_and_no_secret_is_ever_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = "wrong-" + CORP_SECRET
    caplog.set_level(logging.DEBUG)

    async def scenario(server: FakeWeCom, fake: FakeTime) -> tuple[DeliveryError, Delivery, list[str]]:
        bad = app(server, fake, secret=wrong)
        error = await failed(bad, message())
        await bad.aclose()
        good = app(server, fake)
        delivery = await good.send(message())
        server.expire_tokens()
        await good.send(message("again"))
        await good.aclose()
        return error, delivery, list(server.tokens)

    error, delivery, tokens = with_server(scenario)
    assert error.permanent and "40001" in error.reason
    shown = [str(error), repr(error), *traceback.format_exception(error), repr(delivery)]
    shown += [record.getMessage() for record in caplog.records]
    secrets = [wrong, CORP_SECRET, *tokens]
    assert not [text for text in shown if any(secret in text for secret in secrets)]


def test_a_recipient_without_a_userid_is_permanent_and_sends_nothing() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = app(server, fake)
        assert channel.address_of(Recipient(name="王五", email="wangwu@example.org")) is None
        error = await failed(channel, message(recipient=Recipient(name="王五")))
        await channel.aclose()
        assert server.requests == []
        return error

    error = with_server(scenario)
    assert error.permanent and "王五" in error.reason


@pytest.mark.parametrize("userid", ["zhangsan|lisi", "_zhangsan", "张三", "a" * 65])
def test_a_userid_against_wecoms_rule_is_permanent_sends_nothing_and_is_not_logged(
    userid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """`zhangsan|lisi` as touser would reach two people: the registry's rule (calendars.text) holds here too."""

    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = app(server, fake)
        error = await failed(channel, message(recipient=Recipient(name="王五", wecom=userid)))
        await channel.aclose()
        assert server.requests == []
        return error

    with caplog.at_level(logging.DEBUG):
        error = with_server(scenario)
    assert error.permanent and "王五" in error.reason and userid not in error.reason
    assert userid not in caplog.text


def test_app_refuses_markdown_over_the_limit_as_a_permanent_error_naming_its_size() -> None:
    async def scenario(server: FakeWeCom, fake: FakeTime) -> DeliveryError:
        channel = app(server, fake)
        error = await failed(channel, message(markdown="> 主题党日\n" * 500))
        await channel.aclose()
        assert server.calls(SEND) == []
        return error

    error = with_server(scenario)
    size = len(("> 主题党日\n" * 500).encode("utf-8"))
    assert error.permanent
    assert f"{size} 字节" in error.reason and f"上限 {APP_MARKDOWN_LIMIT} 字节" in error.reason
