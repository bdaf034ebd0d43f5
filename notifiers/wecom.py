"""WeCom (企业微信): the group robot webhook and application messages to a person's userid, over httpx.

The robot key, the corp secret and the access token are credentials: they travel in query strings because the
API wants them there, so they are kept out of our logs, out of httpx's request log (a filter below), out of
every DeliveryError and out of Delivery.address.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from calendars.text import WECOM_USERID_RULE, wecom_userid_problem
from notifiers.base import (
    CARD_BUTTON_CHARS,
    CARD_DESCRIPTION_LIMIT,
    CARD_TITLE_LIMIT,
    ChannelKind,
    Deferred,
    Delivery,
    DeliveryError,
    Message,
    MonotonicClock,
    Recipient,
    WallClock,
    scrub,
    shorten,
    system_wall_clock,
    to_utc,
)
from notifiers.retry import WECOM_RATE_LIMITS, classify_http, classify_http_status, classify_wecom

logger = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
# Documented maxima of message bodies, in UTF-8 bytes.
ROBOT_TEXT_LIMIT = 2048
ROBOT_MARKDOWN_LIMIT = 4096
APP_TEXT_LIMIT = 2048
APP_MARKDOWN_LIMIT = 2048

# An application message goes to one person's userid; a group robot posts an organization's summary to its group.
APP_KIND = ChannelKind(
    "wecom", "企业微信", "wecom", text_limit=APP_TEXT_LIMIT, markdown_limit=APP_MARKDOWN_LIMIT
)
ROBOT_KIND = ChannelKind(
    "wecom_robot",
    "企业微信群机器人",
    "robot",
    personal=False,
    text_limit=ROBOT_TEXT_LIMIT,
    markdown_limit=ROBOT_MARKDOWN_LIMIT,
)
ROBOT_PREFIX = "robot:"  # a group robot's address is its organization's code behind this prefix


def robot_address(org: str) -> str:
    """Where an organization's summary goes: the address of its group robot."""
    return ROBOT_PREFIX + org


SERVICE = "企业微信接口"
TOKEN_ERRCODES = (40014, 42001)  # invalid / expired access_token: fetch a new one and send again once

Sleep = Callable[[float], Awaitable[None]]


class _RedactCredentials(logging.Filter):
    """httpx logs every request URL at INFO; ours carry key=, corpsecret= and access_token=."""

    pattern = re.compile(r"(?i)\b(key|corpsecret|access_token|code)=[^&\s\"'>]*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.pattern.sub(r"\1=***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _install_redaction() -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactCredentials) for existing in httpx_logger.filters):
        httpx_logger.addFilter(_RedactCredentials())


_install_redaction()


def truncate_utf8(text: str, limit: int, *, mark: str = "…") -> str:
    """At most `limit` bytes of UTF-8, cut on a character boundary and marked as cut: for a card's title and
    description only, which sum up a message sent whole. A message body is never cut (`within_limit`)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len(mark.encode("utf-8"))
    return data[:room].decode("utf-8", errors="ignore") + mark


def within_limit(content: str, limit: int, msgtype: str) -> str:
    """A body WeCom would refuse (errcode 40058) is refused here, never cut: planning splits a long digest
    into parts (notifiers/split.py), so a body over the limit at send time is a bug, and permanent."""
    used = len(content.encode("utf-8"))
    if used > limit:
        raise DeliveryError(
            f"企业微信{msgtype}消息过长：{used} 字节，超过上限 {limit} 字节（应在生成时分段，未发送）",
            permanent=True,
        )
    return content


class SlidingWindow:
    """At most `limit` requests in any `per` seconds, as the server counts them.

    A request is counted from the moment it is let through until `per` seconds after it finished: the server
    saw it somewhere in between, so no `per`-second stretch of the server's clock can hold more than `limit`,
    however long requests take. Waiting uses the injected sleep (tests move a fake clock)."""

    def __init__(self, limit: int, per: float, *, clock: MonotonicClock, sleep: Sleep) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("limit must be at least 1 and per positive")
        self.limit = limit
        self.per = per
        self._clock = clock
        self._sleep = sleep
        self._finished: collections.deque[float] = collections.deque()  # in order: appended when finished
        self._in_flight = 0
        self._released = asyncio.Event()
        self._lock = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def slot(self, *, wait: bool = True) -> AsyncIterator[float]:
        """Holds one slot for the duration of a request; yields the seconds slept to get it. `wait` False: when
        no slot is free, raise Deferred with the seconds until one may be, instead of sleeping."""
        waited = await self._acquire(wait)
        try:
            yield waited
        finally:
            self._in_flight -= 1
            self._finished.append(self._clock())
            self._released.set()

    def fill(self) -> None:
        """The server says the limit is reached (someone else posts with the same key): count the window as full
        from now, so that the next requests wait (or are deferred) instead of being refused one by one."""
        now = self._clock()
        self._finished.extend([now] * self.limit)

    async def _acquire(self, wait: bool) -> float:
        waited = 0.0
        async with self._lock:  # one waiter at a time, so that slots go out in order
            while True:
                now = self._clock()
                while self._finished and self._finished[0] <= now - self.per:
                    self._finished.popleft()
                if len(self._finished) + self._in_flight < self.limit:
                    self._in_flight += 1
                    return waited
                # With every slot taken by a request still under way, its end starts the countdown: `per` at least.
                pause = self._finished[0] + self.per - now if self._finished else self.per
                if not wait:
                    raise Deferred(pause)
                if self._finished:
                    await self._sleep(pause)
                    waited += pause
                else:
                    self._released.clear()
                    await self._released.wait()


class _WeComApi:
    """JSON over HTTP, with every failure already classified and every credential scrubbed."""

    def __init__(self, base_url: str, secrets: Callable[[], Iterable[str | None]], timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self._secrets = secrets
        import httpx  # here, not above: the channel table (read by config.toml's checks) loads this module

        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def call(
        self, method: str, path: str, *, params: dict[str, str], json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        import httpx

        try:
            response = await self._http.request(method, self.base_url + path, params=params, json=json)
        except httpx.HTTPError as exc:
            raise self.scrubbed(
                classify_http(exc, service=SERVICE)
            ) from None  # httpx's exceptions carry the URL
        if not response.is_success:
            retry_after = response.headers.get("retry-after")
            raise self.scrubbed(classify_http_status(response.status_code, retry_after, service=SERVICE))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise DeliveryError(
                f"{SERVICE}返回了无法识别的应答（HTTP {response.status_code}）", permanent=False
            )
        return answer

    def scrubbed(self, error: DeliveryError) -> DeliveryError:
        return error.with_reason(scrub(error.reason, self._secrets()))

    def check(self, answer: dict[str, Any], *, robot: bool = False) -> None:
        errcode = _errcode(answer)
        if errcode != 0:
            raise self.scrubbed(classify_wecom(errcode, str(answer.get("errmsg", "")), robot=robot))

    async def aclose(self) -> None:
        await self._http.aclose()


def robot_payload(message: Message) -> dict[str, Any]:
    """A group robot's body: markdown, or text when someone is to be @-mentioned by mobile number."""
    if message.mention_mobiles:  # WeCom markdown cannot @ by mobile number; text can
        return {
            "msgtype": "text",
            "text": {
                "content": within_limit(message.text, ROBOT_TEXT_LIMIT, "text"),
                "mentioned_mobile_list": list(message.mention_mobiles),
            },
        }
    content = message.markdown if message.markdown is not None else message.text
    return {
        "msgtype": "markdown",
        "markdown": {"content": within_limit(content, ROBOT_MARKDOWN_LIMIT, "markdown")},
    }


@dataclasses.dataclass(frozen=True)
class _Robots:
    """What posting to any group robot needs: the HTTP client (one for every robot: a connection kept alive
    to the API, not one per group) and the clocks."""

    api: _WeComApi
    clock: MonotonicClock
    now: WallClock

    async def post(
        self, key: str, window: SlidingWindow, message: Message, address: str, *, wait: bool
    ) -> Delivery:
        """Posts `message` with the robot `key` inside its `window` (`wait` False: Deferred when it is full);
        `address` names the robot in logs and in the Delivery, never the key."""
        try:
            payload = robot_payload(message)
            async with window.slot(wait=wait) as waited:
                if waited:
                    logger.info("wecom robot %s: rate limit reached, waited %.1f s", address, waited)
                started_at = to_utc(self.now())
                started = self.clock()
                answer = await self.api.call(
                    "POST", "/cgi-bin/webhook/send", params={"key": key}, json=payload
                )
            if _errcode(answer) in WECOM_RATE_LIMITS:
                window.fill()  # its other messages wait for the minute instead of being refused too
            self.api.check(answer, robot=True)
        except DeliveryError as error:
            _log_failure("wecom robot", message.key, address, error)
            raise
        duration_ms = (self.clock() - started) * 1000.0
        logger.info("wecom robot %s: message %s sent in %.0f ms", address, message.key, duration_ms)
        return Delivery(
            channel=ROBOT_KIND.name,
            address=address,
            started_at=started_at,
            duration_ms=duration_ms,
            detail=_summary(answer),
        )


class WebhookChannel:
    """One group robot (群机器人), for a caller that posts to a single group: a message waits for a free slot of
    the robot's 20-a-minute window. The reminders use `RobotPool`, which never waits."""

    name = "wecom_robot"

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        clock: MonotonicClock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        limit: int = 20,
        per: float = 60.0,
        timeout: float = 10.0,
        now: WallClock = system_wall_clock,
    ) -> None:
        if not key:
            raise ValueError("the robot key is empty")
        self._key = key
        self._robots = _Robots(
            _WeComApi(base_url or DEFAULT_API_BASE, lambda: [self._key], timeout), clock, now
        )
        self._window = SlidingWindow(limit, per, clock=clock, sleep=sleep)
        # Enough to tell two robots apart in a log, too little to be the key.
        self.address = f"robot:…{key[-4:]}" if len(key) >= 16 else "robot"

    def __repr__(self) -> str:
        return f"WebhookChannel({self._robots.api.base_url}, {self.address})"

    def address_of(self, recipient: Recipient) -> str | None:
        return self.address  # the group is reachable whoever the message is about

    payload = staticmethod(robot_payload)

    async def send(self, message: Message) -> Delivery:
        return await self._robots.post(self._key, self._window, message, self.address, wait=True)

    async def aclose(self) -> None:
        await self._robots.api.aclose()


# A robot's address -> its key; a permanent DeliveryError (never quoting a key) when there is none.
KeyOf = Callable[[str], str]


class RobotPool:
    """Every organization's group robot behind one channel: a message goes to the robot at its recipient's
    address (`robot:<org code>`), whose key the current `KeyOf` finds (raising a permanent DeliveryError, without
    the key, when it cannot); `keys` makes a new one at each `refresh` (once per delivery round: one read of the
    registry, not one per message).

    One HTTP client for all robots; per robot key only its 20-a-minute window (two organizations sharing a robot
    share it). A message whose robot's window is full is not waited for: `send` raises Deferred with the seconds
    until the window frees, so that the caller goes on with the other robots' messages and one busy group never
    holds back another's summary."""

    name = ROBOT_KIND.name

    def __init__(
        self,
        base_url: str,
        keys: Callable[[], KeyOf],
        *,
        clock: MonotonicClock = time.monotonic,
        limit: int = 20,
        per: float = 60.0,
        timeout: float = 10.0,
        now: WallClock = system_wall_clock,
    ) -> None:
        self._keys = keys
        self._key_of: KeyOf | None = None
        self._windows: dict[str, SlidingWindow] = {}  # by key
        self._window = functools.partial(SlidingWindow, limit, per, clock=clock, sleep=asyncio.sleep)
        self._robots = _Robots(
            _WeComApi(base_url or DEFAULT_API_BASE, self._windows.keys, timeout), clock, now
        )

    def __repr__(self) -> str:
        return f"RobotPool({self._robots.api.base_url}, {len(self._windows)} robots)"

    def refresh(self) -> None:
        self._key_of = self._keys()

    def address_of(self, recipient: Recipient) -> str | None:
        return ROBOT_KIND.address_of(recipient)

    async def send(self, message: Message) -> Delivery:
        address = self.address_of(message.recipient)
        try:
            if address is None:
                raise DeliveryError(f"消息没有群机器人地址：{message.recipient.name}", permanent=True)
            if self._key_of is None:
                self.refresh()
            assert self._key_of is not None
            key = self._key_of(address)
        except DeliveryError as error:
            _log_failure("wecom robot", message.key, address or message.recipient.name, error)
            raise
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = self._window()
        return await self._robots.post(key, window, message, address, wait=False)

    async def aclose(self) -> None:
        await self._robots.api.aclose()
        self._windows.clear()


class AppChannel:
    """An application message (应用消息) to one person's userid, with a cached access_token."""

    name = "wecom"

    def __init__(
        self,
        base_url: str,
        corp_id: str,
        corp_secret: str,
        agent_id: int,
        *,
        clock: MonotonicClock = time.monotonic,
        timeout: float = 10.0,
        now: WallClock = system_wall_clock,
    ) -> None:
        if not corp_id or not corp_secret:
            raise ValueError("corp_id and corp_secret are required for WeCom application messages")
        self._corp_id = corp_id
        self._corp_secret = corp_secret
        self._agent_id = agent_id
        self._api = _WeComApi(base_url or DEFAULT_API_BASE, self._secrets, timeout)
        self._clock = clock
        self._now = now
        self._token: str | None = None
        self._token_valid_until = 0.0
        self._token_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"AppChannel({self._api.base_url}, corp_id={self._corp_id}, agent_id={self._agent_id})"

    def _secrets(self) -> list[str | None]:
        return [self._corp_secret, self._token]

    def address_of(self, recipient: Recipient) -> str | None:
        return APP_KIND.address_of(recipient)

    def payloads(self, message: Message, userid: str) -> list[dict[str, Any]]:
        """What one message sends: its card when it has one (and then its markdown when the card says more
        follows: a digest of several items, each with its own link), else its markdown or text."""
        if message.card is None:
            return [self.payload(message, userid)]
        card = message.card
        body: dict[str, Any] = {
            "touser": userid,
            "agentid": self._agent_id,
            "msgtype": "textcard",
            "textcard": {
                "title": truncate_utf8(card.title, CARD_TITLE_LIMIT, mark="…"),
                "description": truncate_utf8(card.description, CARD_DESCRIPTION_LIMIT, mark="…"),
                "url": card.url,
                "btntxt": card.button[:CARD_BUTTON_CHARS],
            },
            "enable_duplicate_check": 1,
            "duplicate_check_interval": 1800,
        }
        return [body, self.payload(message, userid)] if card.more else [body]

    def payload(self, message: Message, userid: str) -> dict[str, Any]:
        body: dict[str, Any] = {"touser": userid, "agentid": self._agent_id}
        if message.markdown is not None:
            body |= {
                "msgtype": "markdown",
                "markdown": {"content": within_limit(message.markdown, APP_MARKDOWN_LIMIT, "markdown")},
            }
        else:
            body |= {
                "msgtype": "text",
                "text": {"content": within_limit(message.text, APP_TEXT_LIMIT, "text")},
            }
        # WeCom drops an identical message to the same person within the interval: a resend after a crash
        # between sending and recording then reaches nobody twice.
        body |= {"enable_duplicate_check": 1, "duplicate_check_interval": 1800}
        return body

    async def send(self, message: Message) -> Delivery:
        started_at = to_utc(self._now())
        started = self._clock()
        userid = self.address_of(message.recipient)
        try:
            if userid is None:
                raise DeliveryError(f"收件人没有企业微信账号：{message.recipient.name}", permanent=True)
            # The rule the registry checks at import (a `|` in touser would add recipients); a value stored
            # before the check, or by hand, is refused here rather than sent, and is not repeated back.
            if wecom_userid_problem(userid) is not None:
                userid = None
                raise DeliveryError(
                    f"收件人的企业微信账号无效：{message.recipient.name}（{WECOM_USERID_RULE}）",
                    permanent=True,
                )
            # A card and its digest: if the digest fails after the card went out, the retry sends both, and
            # WeCom's duplicate check drops the card the person already has.
            for payload in self.payloads(message, userid):
                answer = await self._call_with_token("POST", "/cgi-bin/message/send", params={}, json=payload)
                self._api.check(answer)
                _check_recipients(answer, userid)
        except DeliveryError as error:
            _log_failure("wecom app", message.key, userid or message.recipient.name, error)
            raise
        duration_ms = (self._clock() - started) * 1000.0
        logger.info("wecom app: message %s sent to %s in %.0f ms", message.key, userid, duration_ms)
        return Delivery(
            channel=self.name,
            address=userid,
            started_at=started_at,
            duration_ms=duration_ms,
            detail=_summary(answer),
        )

    async def aclose(self) -> None:
        await self._api.aclose()

    async def userid_of_code(self, code: str) -> str:
        """The WeCom userid behind a sign-in code (OAuth snsapi_base), exchanged once: WeCom's codes are
        single-use and live 5 minutes. The code is a credential: it is kept out of every error and log."""
        try:
            answer = await self._call_with_token("GET", "/cgi-bin/auth/getuserinfo", params={"code": code})
            self._api.check(answer)
        except DeliveryError as error:
            raise error.with_reason(scrub(error.reason, [code])) from None
        userid = answer.get("userid") or answer.get("UserId")
        if not isinstance(userid, str) or not userid:
            raise DeliveryError("企业微信未返回成员账号（可能不是本企业成员）", permanent=True)
        return userid

    async def _call_with_token(
        self, method: str, path: str, *, params: dict[str, str], json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A call that needs the access token: with the cached one, and once more with a new one when WeCom
        says it is invalid or expired."""
        token = await self._access_token()
        answer = await self._api.call(method, path, params={**params, "access_token": token}, json=json)
        if _errcode(answer) in TOKEN_ERRCODES:
            logger.info("wecom app: access token rejected (errcode %s), fetching a new one", _errcode(answer))
            self._forget(token)
            token = await self._access_token()
            answer = await self._api.call(method, path, params={**params, "access_token": token}, json=json)
        return answer

    async def _access_token(self) -> str:
        async with self._token_lock:  # concurrent sends share one gettoken
            if self._token is not None and self._clock() < self._token_valid_until:
                return self._token
            asked_at = self._clock()
            answer = await self._api.call(
                "GET", "/cgi-bin/gettoken", params={"corpid": self._corp_id, "corpsecret": self._corp_secret}
            )
            self._api.check(answer)
            token = answer.get("access_token")
            if not isinstance(token, str) or not token:
                raise DeliveryError("企业微信 gettoken 应答缺少 access_token", permanent=False)
            expires_in = _number(answer.get("expires_in"), default=7200.0)
            # Renew a little early: a token that expires in flight costs a failed send and a refetch.
            self._token = token
            self._token_valid_until = asked_at + expires_in - min(300.0, expires_in / 10)
            logger.debug("wecom app: new access token, valid for %.0f s", expires_in)
            return token

    def _forget(self, token: str) -> None:
        # Only the token that failed: a concurrent send may already have fetched its successor.
        if self._token == token:
            self._token = None


def _errcode(answer: dict[str, Any]) -> int:
    value = answer.get("errcode", 0)
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1


def _number(value: object, *, default: float) -> float:
    if isinstance(value, int | float | str):
        try:
            return float(value)
        except ValueError:
            return default
    return default


def _check_recipients(answer: dict[str, Any], userid: str) -> None:
    """errcode 0 can still mean "delivered to nobody": WeCom lists the userids it refused."""
    invalid = str(answer.get("invaliduser") or "")
    if invalid:
        raise DeliveryError(f"企业微信 userid 无效或不在应用可见范围：{shorten(invalid, 80)}", permanent=True)
    unlicensed = str(answer.get("unlicenseduser") or "")
    if unlicensed:
        raise DeliveryError(f"企业微信账号未开通接口许可：{shorten(unlicensed, 80)}", permanent=True)


def _summary(answer: dict[str, Any]) -> str:
    msgid = answer.get("msgid")
    return (
        f"msgid {msgid}"
        if msgid
        else shorten(f"errcode {_errcode(answer)} {answer.get('errmsg', '')}".strip())
    )


def _log_failure(channel: str, key: str, address: str, error: DeliveryError) -> None:
    logger.warning(
        "%s: message %s to %s failed (%s): %s",
        channel,
        key,
        address,
        "permanent" if error.permanent else "temporary",
        error.reason,
    )
