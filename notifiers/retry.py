"""The one place that decides what is temporary, what is permanent, and how long to wait before trying again.

Channels turn whatever went wrong into a DeliveryError with `classify_*` and never loop; the application's outbox
asks `should_retry` and schedules the next attempt after `retry_delay` (exponential backoff with full jitter,
lengthened to the provider's own `retry_after` when it gave one).

The verdicts also say whether the channel itself is down or stalled (`DeliveryError.stalled`: a timeout, a refused
or reset connection, a TLS handshake that never ends, a server that says it cannot serve now: SMTP 421 or a 4xx
greeting, HTTP 5xx, 408 or 429, WeCom's 系统繁忙 and its application's rate limits) rather than the message or its recipient (a refused
address, a wrong key): the outbox's circuit breaker pauses a channel after a few stalls in a row.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from typing import TYPE_CHECKING

from notifiers.base import DeliveryError, shorten

# The network libraries are imported where an exception of theirs is classified: a command that sends nothing
# (and the channel table, which config.toml's checks read) does not load them.
if TYPE_CHECKING:
    import aiosmtplib
    import httpx

# WeCom answers (https://developer.work.weixin.qq.com/document/path/90313) that a later attempt can get past.
WECOM_TEMPORARY = {
    -1: "系统繁忙",
    40014: "access_token 无效",
    42001: "access_token 已过期",
    45009: "接口调用超过频率限制",
    45011: "接口调用太频繁",
    45033: "接口并发调用超过限制",
}
# Common permanent ones, named so that a secretary reading the failure report knows what to fix.
WECOM_PERMANENT = {
    93000: "机器人 webhook 地址或 key 无效",
    40001: "corpsecret 无效",
    40003: "userid 无效",
    40013: "corpid 无效",
    40056: "agentid 无效",
    48002: "接口无权限",
    60020: "服务器 IP 不在企业微信可信 IP 列表中",
    81013: "userid 全部无效或无权限",
    82001: "接收人全部无效或无权限",
}
RATE_LIMIT_RETRY_AFTER = 60.0  # WeCom's limits are per minute
WECOM_RATE_LIMITS = (45009, 45011, 45033)
# The service is busy or over its limits for every message alike (not the token: a new one is fetched at once).
WECOM_STALLED = (-1, *WECOM_RATE_LIMITS)
SMTP_SERVICE_UNAVAILABLE = 421  # RFC 5321 §3.8: the server is closing the channel, whatever the command was


def next_delay(attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """Seconds to wait after the `attempt`-th failed attempt (1 for the first): uniform in
    [0, min(cap, base * 2**(attempt-1))] — "full jitter", which spreads many failed senders apart."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if base < 0 or cap < 0:
        raise ValueError("base and cap must not be negative")
    ceiling = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return rng.uniform(0.0, ceiling)


def should_retry(error: DeliveryError, attempt: int, max_attempts: int) -> bool:
    """After `attempt` failed attempts (counting from 1), is another one worth scheduling?"""
    return not error.permanent and attempt < max_attempts


def retry_delay(error: DeliveryError, attempt: int, *, base: float, cap: float, rng: random.Random) -> float:
    """next_delay, but never sooner than the provider asked (a rate limit's retry_after)."""
    delay = next_delay(attempt, base=base, cap=cap, rng=rng)
    if error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return delay


def classify(exc: BaseException) -> DeliveryError:
    """Any exception a channel may meet, as a DeliveryError. Unknown ones count as temporary: the outbox gives up
    after its maximum number of attempts anyway, and a permanent verdict should be a known one."""
    import aiosmtplib
    import httpx

    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, aiosmtplib.SMTPException):
        return classify_smtp(exc)
    if isinstance(exc, httpx.HTTPError):
        return classify_http(exc)
    if _cert_verification_failed(exc):
        return DeliveryError(f"TLS 证书验证失败：{_describe(exc)}", permanent=True)
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return DeliveryError("超时", permanent=False, stalled=True)
    if isinstance(exc, OSError):  # refused, reset, unreachable: the other end, not the message
        return DeliveryError(f"网络或读写错误：{_describe(exc)}", permanent=False, stalled=True)
    return DeliveryError(f"意外错误：{_describe(exc)}", permanent=False)


def classify_smtp_code(code: int, what: str, text: str, *, service: bool = False) -> DeliveryError:
    """SMTP's own rule (RFC 5321 §4.2.1): 4yz is transient, 5yz is permanent. A 4yz is a stall of the server
    when it is 421 (closing the channel) or answers what every message shares (`service`: the greeting, HELO,
    AUTH, MAIL FROM); a 4yz for one recipient or one message (a full mailbox, greylisting) is not."""
    detail = shorten(f"SMTP {code} {text}".strip())
    transient = 400 <= code < 500
    stalled = transient and (service or code == SMTP_SERVICE_UNAVAILABLE)
    return DeliveryError(f"{what}（{detail}）", permanent=not transient, stalled=stalled)


def classify_smtp(exc: aiosmtplib.SMTPException) -> DeliveryError:
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        if first is None:
            return DeliveryError("收件人被拒绝", permanent=True)
        return classify_smtp_code(first.code, "收件人被拒绝", first.message)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused):
        return classify_smtp_code(exc.code, "收件人被拒绝", exc.message)
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return classify_smtp_code(exc.code, "SMTP 认证失败，请检查用户名和密码", exc.message, service=True)
    if isinstance(exc, aiosmtplib.SMTPSenderRefused):  # the same sender for every message
        return classify_smtp_code(exc.code, "发件人被拒绝", exc.message, service=True)
    if isinstance(exc, aiosmtplib.SMTPDataError):
        return classify_smtp_code(exc.code, "邮件被拒绝", exc.message)
    if isinstance(exc, aiosmtplib.SMTPConnectResponseError):
        return classify_smtp_code(exc.code, "SMTP 服务器拒绝连接", exc.message, service=True)
    if isinstance(exc, aiosmtplib.SMTPResponseException):  # HELO/EHLO and the like
        return classify_smtp_code(exc.code, "SMTP 服务器拒绝", exc.message, service=True)
    if isinstance(exc, aiosmtplib.SMTPTimeoutError):  # connecting, the TLS handshake, or any answer
        return DeliveryError(f"SMTP 超时：{_describe(exc)}", permanent=False, stalled=True)
    if _cert_verification_failed(exc):
        return DeliveryError(f"SMTP 服务器 TLS 证书验证失败：{_describe(exc)}", permanent=True)
    if isinstance(exc, aiosmtplib.SMTPConnectError):
        return DeliveryError(f"无法连接 SMTP 服务器：{_describe(exc)}", permanent=False, stalled=True)
    if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
        return DeliveryError(f"SMTP 连接意外断开：{_describe(exc)}", permanent=False, stalled=True)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        # e.g. STARTTLS or AUTH required by the configuration but not offered: a setting to fix, not to retry.
        return DeliveryError(f"SMTP 服务器不支持所需功能：{_describe(exc)}", permanent=True)
    return DeliveryError(f"SMTP 错误：{_describe(exc)}", permanent=False)


def classify_http(exc: httpx.HTTPError, *, service: str = "服务器") -> DeliveryError:
    import httpx

    """`service` names the other end in the reason ("企业微信接口")."""
    if _cert_verification_failed(exc):
        return DeliveryError(f"{service} TLS 证书验证失败：{_describe(exc)}", permanent=True)
    if isinstance(exc, httpx.TimeoutException):  # connect, TLS handshake, write, read or pool
        return DeliveryError(f"{service}请求超时（{type(exc).__name__}）", permanent=False, stalled=True)
    if isinstance(exc, httpx.ConnectError):
        return DeliveryError(f"无法连接{service}：{_describe(exc)}", permanent=False, stalled=True)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return DeliveryError(f"{service}地址无效：{_describe(exc)}", permanent=True)
    if isinstance(exc, httpx.TransportError):  # reset, closed mid-answer, a proxy that failed
        return DeliveryError(f"{service}网络错误：{_describe(exc)}", permanent=False, stalled=True)
    if isinstance(exc, httpx.HTTPStatusError):
        return classify_http_status(
            exc.response.status_code, exc.response.headers.get("retry-after"), service=service
        )
    return DeliveryError(f"{service} HTTP 错误：{type(exc).__name__}", permanent=False)


def classify_http_status(
    status: int, retry_after: str | None = None, *, service: str = "服务器"
) -> DeliveryError:
    """For an answer that is not 2xx: overload and server trouble pass (and stall the channel: the service
    cannot serve now, whatever the message), a wrong address does not."""
    reason = f"{service}返回 HTTP {status}"
    if status == 429 or status == 408 or status >= 500:
        return DeliveryError(reason, permanent=False, retry_after=_seconds(retry_after), stalled=True)
    return DeliveryError(reason, permanent=True)


def classify_wecom(errcode: int, errmsg: str, *, robot: bool = False) -> DeliveryError:
    """A non-zero WeCom errcode. Unknown codes are permanent: WeCom reports passing trouble with the codes above.

    `robot`: the answer of a group robot's webhook, whose rate limits are the robot's own (20 messages a minute
    per key), not the service's: one busy robot is not a stalled channel, and must not pause every other
    organization's robot (a robot's message is retried after `retry_after` like any temporary failure)."""
    detail = shorten(f"errcode {errcode} {errmsg}".strip())
    if errcode in WECOM_TEMPORARY:
        rate_limited = errcode in WECOM_RATE_LIMITS
        return DeliveryError(
            f"企业微信：{WECOM_TEMPORARY[errcode]}（{detail}）",
            permanent=False,
            retry_after=RATE_LIMIT_RETRY_AFTER if rate_limited else None,
            stalled=errcode in WECOM_STALLED and not (robot and rate_limited),
        )
    label = WECOM_PERMANENT.get(errcode)
    return DeliveryError(
        f"{f'企业微信：{label}' if label else '企业微信拒绝了消息'}（{detail}）", permanent=True
    )


def _cert_verification_failed(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return shorten(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None  # an HTTP-date: rare enough that the backoff is good enough
    return seconds if seconds >= 0 else None
