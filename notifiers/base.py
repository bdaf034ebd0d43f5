"""The contract every channel keeps: a message goes in, a Delivery or a DeliveryError comes out."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

# Channels take their clocks as parameters so that tests (and the daemon) decide what time it is; these are
# only the defaults, passed by reference and never called at import time.
WallClock = Callable[[], datetime]
MonotonicClock = Callable[[], float]
system_wall_clock: WallClock = functools.partial(datetime.now, UTC)


@dataclass(frozen=True)
class Recipient:
    name: str
    email: str | None = None
    wecom: str | None = None  # WeCom userid
    mobile: str | None = None
    robot: str | None = None  # a group robot's address (robot:<org code>): an organization, never a person


@dataclass(frozen=True)
class ChannelKind:
    """What is known of a channel before it is built (no secret, no connection): its name in config.toml and
    the outbox, its Chinese label, the Recipient field that reaches a person on it (None: the person's name),
    and the largest body it carries in UTF-8 bytes per format (None: no limit). A group's channel (`personal`
    false, the WeCom robots) carries an organization's summary, never a person's digest."""

    name: str
    label: str
    field: str | None
    personal: bool = True
    text_limit: int | None = None
    markdown_limit: int | None = None

    def address_of(self, recipient: Recipient) -> str | None:
        """Where `recipient` is reached on this channel; None when they cannot be."""
        value = recipient.name if self.field is None else getattr(recipient, self.field)
        return str(value or "").strip() or None

    def recipient(self, name: str, address: str) -> Recipient:
        """The recipient of a stored message: its display name, and its address in this channel's field."""
        return Recipient(name=name, **({self.field: address} if self.field else {}))


# A WeCom textcard's documented limits: title and description in UTF-8 bytes, url in bytes, button in characters.
CARD_TITLE_LIMIT = 128
CARD_DESCRIPTION_LIMIT = 512
CARD_URL_LIMIT = 2048
CARD_BUTTON_CHARS = 4


@dataclass(frozen=True)
class TextCard:
    """A WeCom application message's card (textcard): a title, a short description, one button to `url`.
    `more`: the card sums up a digest whose markdown (every item with its own link) is sent after it."""

    title: str
    description: str
    url: str
    button: str
    more: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "description": self.description,
            "url": self.url,
            "button": self.button,
            "more": self.more,
        }

    @classmethod
    def from_json(cls, value: object) -> TextCard | None:
        if not isinstance(value, dict):
            return None
        try:
            return cls(
                str(value["title"]),
                str(value["description"]),
                str(value["url"]),
                str(value["button"]),
                bool(value.get("more")),
            )
        except KeyError:
            return None


@dataclass(frozen=True)
class Message:
    key: str  # idempotency / outbox id: goes into logs and headers, never changes between attempts
    recipient: Recipient
    subject: str
    text: str
    html: str | None = None
    markdown: str | None = None  # WeCom markdown body
    mention_mobiles: tuple[str, ...] = ()  # @ people in a WeCom group robot text message
    card: TextCard | None = None  # a WeCom application message sends this card (then `markdown` if card.more)


@dataclass(frozen=True)
class Delivery:
    channel: str
    address: str  # where it went: email address, userid, "robot:…abcd" — never a secret
    started_at: datetime  # aware, UTC
    duration_ms: float
    detail: str = ""  # provider id / response summary, no secrets


class DeliveryError(Exception):
    """A send that did not go through. `permanent` means that retrying the same message cannot help.

    `stalled` means that the channel itself is down or stalled (a timeout, a refused or reset connection, a TLS
    handshake that never ends, an overloaded service), whatever the message: the outbox's circuit breaker counts
    these, and never a verdict on one message or recipient (a refused address). A stall is always temporary."""

    def __init__(
        self, reason: str, *, permanent: bool, retry_after: float | None = None, stalled: bool = False
    ) -> None:
        if permanent and stalled:
            raise ValueError("a stalled channel is a temporary failure")
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after
        self.stalled = stalled

    def with_reason(self, reason: str) -> DeliveryError:
        """The same verdict with another reason (e.g. with the secrets scrubbed out)."""
        return DeliveryError(
            reason, permanent=self.permanent, retry_after=self.retry_after, stalled=self.stalled
        )

    def __str__(self) -> str:
        return self.reason

    def __repr__(self) -> str:
        extra = f", retry_after={self.retry_after!r}" if self.retry_after is not None else ""
        extra += ", stalled=True" if self.stalled else ""
        return f"DeliveryError({self.reason!r}, permanent={self.permanent!r}{extra})"


class Deferred(Exception):
    """Neither sent nor failed: the channel will not send this message now, because sending it would mean waiting
    (the rate limit of its address is reached: a group robot's 20 a minute). Nothing went out; the caller keeps
    the message for `seconds` from now, without counting an attempt, and goes on with other messages."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"deferred for {seconds:.1f} s")
        self.seconds = max(0.0, seconds)


@runtime_checkable
class Channel(Protocol):
    name: str

    def address_of(self, recipient: Recipient) -> str | None:
        """Where this recipient is reached on this channel; None when they cannot be."""
        ...

    async def send(self, message: Message) -> Delivery:
        """Send once; raise DeliveryError on failure, or Deferred when it will not send now without waiting.
        Never retries by itself."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class Refreshable(Protocol):
    """A channel whose addressing is read from outside it (the group robots' keys, named in the registry):
    `refresh` reads it again, once per delivery round, so that a round sees one consistent picture at the cost
    of one read, and the next round sees what changed in between."""

    def refresh(self) -> None: ...


def to_utc(moment: datetime) -> datetime:
    """An injected clock may answer in any zone (the daemon's is Asia/Shanghai); deliveries are stored in UTC."""
    if moment.tzinfo is None:
        raise ValueError("the wall clock must return aware datetimes")
    return moment.astimezone(UTC)


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove every secret from a text that may have come from a server or an exception."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def shorten(text: str, limit: int = 200) -> str:
    """Server answers go into reasons and details: one line, bounded."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
