"""Email through any SMTP server with aiosmtplib: plain (a local relay), STARTTLS or implicit TLS, with AUTH.

Every message is addressed to a person by name (`张三 <zhangsan@example.org>`, the name as an RFC 2047 encoded
word), carries a Message-ID of its own (random, in the sender's domain: two databases that both number their
outbox from 1 never send the same id) and says that a program sent it (Auto-Submitted, RFC 3834; Outlook's
X-Auto-Response-Suppress; Precedence: bulk) so that vacation and out-of-office replies stay away, and which
list it belongs to (List-Id, RFC 2919), by which a mail client can file or filter reminders.

Message-IDs are random per send, not per outbox message: a retry after a temporary failure (which SMTP says
was not accepted) is a new message. The outbox message's key stays the same on every attempt, in the header
X-Obligations-Key: it recognizes the one duplicate a retry can cause, a send accepted by the server but whose
answer was lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
import time
import uuid
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, Literal

from calendars.text import shown
from notifiers.base import (
    ChannelKind,
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
from notifiers.retry import classify

if TYPE_CHECKING:  # imported when the first connection is made: the channel table loads this module
    import aiosmtplib

logger = logging.getLogger(__name__)

KIND = ChannelKind("email", "邮件", "email")  # a person's digest, to their address

Security = Literal["none", "starttls", "tls"]
SECURITIES: tuple[Security, ...] = ("none", "starttls", "tls")

LIST_NAME = "党建工作提醒"  # the List-Id's phrase when the sender has no display name
_FORBIDDEN_IN_ADDRESS = set(' \t\r\n<>()[]\\,;:"')


class EmailChannel:
    """One message per recipient; connections are kept open and reused between sends (up to
    `max_connections` at once), and a connection that met any error is dropped rather than trusted."""

    name = "email"

    def __init__(
        self,
        host: str,
        port: int,
        security: str,  # Security; a plain str because it comes straight from config.toml
        username: str | None,
        password: str | None,
        sender: str,
        timeout: float,
        tls_context: ssl.SSLContext | None = None,
        *,
        max_connections: int = 4,
        local_hostname: str | None = None,
        now: WallClock = system_wall_clock,
        clock: MonotonicClock = time.monotonic,
    ) -> None:
        if security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}, not {security!r}")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        display_name, sender_address = parseaddr(sender)
        checked = _checked_address(sender_address)
        if checked is None:
            raise ValueError(f"sender is not an email address: {sender!r}")
        self._sender_name = " ".join(display_name.split())
        self._sender_address = checked
        self._host = host
        self._port = port
        self._security = security
        self._username = username or None
        self._password = password
        self._timeout = timeout
        self._tls_context = tls_context
        self._local_hostname = local_hostname
        self._now = now
        self._clock = clock
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[aiosmtplib.SMTP] = []
        self._domain = checked.rpartition("@")[2] or "obligations.invalid"
        self._list_id = formataddr(
            (self._sender_name or LIST_NAME, f"reminders.{self._domain}"), charset="utf-8"
        )

    def __repr__(self) -> str:
        return f"EmailChannel({self._host}:{self._port}, security={self._security}, sender={self._sender_address})"

    def address_of(self, recipient: Recipient) -> str | None:
        # An address that is present but malformed is still returned: sending to it fails permanently and the
        # failure is reported, whereas None would make the recipient silently unreachable.
        return KIND.address_of(recipient)

    async def send(self, message: Message) -> Delivery:
        moment = self._now()
        started_at = to_utc(moment)
        started = self._clock()
        address = _checked_address(self.address_of(message.recipient) or "")
        if address is None:
            reason = "收件人没有邮箱地址" if not message.recipient.email else "收件人邮箱地址无效"
            error = DeliveryError(f"{reason}：{message.recipient.name}", permanent=True)
            logger.warning("email %s to %s not sent: %s", message.key, message.recipient.name, error.reason)
            raise error
        try:
            email = self.compose(message, address, moment)
        except (ValueError, TypeError) as exc:  # e.g. a line break in a header: the same next time
            error = DeliveryError(f"邮件无法生成：{type(exc).__name__}: {shorten(str(exc))}", permanent=True)
            logger.warning("email %s to %s not sent: %s", message.key, address, error.reason)
            raise error from exc
        async with self._slots:
            client: aiosmtplib.SMTP | None = None
            try:
                client = await self._checkout()
                _, response = await client.send_message(
                    email, sender=self._sender_address, recipients=[address]
                )
            except asyncio.CancelledError:
                if client is not None:
                    client.close()
                raise
            except Exception as exc:
                if client is not None:
                    client.close()
                classified = classify(exc)
                error = classified.with_reason(scrub(classified.reason, [self._password]))
                logger.warning(
                    "email %s to %s failed (%s): %s",
                    message.key,
                    address,
                    "permanent" if error.permanent else "temporary",
                    error.reason,
                )
                raise error from exc
            self._idle.append(client)
        duration_ms = (self._clock() - started) * 1000.0
        logger.info("email %s sent to %s in %.0f ms", message.key, address, duration_ms)
        return Delivery(
            channel=self.name,
            address=address,
            started_at=started_at,
            duration_ms=duration_ms,
            detail=shorten(f"{email['Message-ID']} {response}"),
        )

    def compose(self, message: Message, address: str, moment: datetime) -> MIMEBase:
        """The MIME message: text, and HTML as its alternative when there is one. Headers with Chinese text
        are RFC 2047 encoded words; bodies are base64 so that any relay passes them.

        Built with the compat32 MIME classes rather than EmailMessage: the modern header registry parses and
        refolds every header, which cost more than the SMTP exchange itself when a sweep sends thousands of
        digests (the benchmark's delivery rate rose by a third)."""
        if message.html is not None:
            email: MIMEBase = MIMEMultipart("alternative")
            email.attach(MIMEText(message.text, "plain", "utf-8"))
            email.attach(MIMEText(message.html, "html", "utf-8"))
        else:
            email = MIMEText(message.text, "plain", "utf-8")
        subject = " ".join(message.subject.split())
        email["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")  # type: ignore[assignment]
        email["From"] = formataddr((self._sender_name, self._sender_address), charset="utf-8")
        email["To"] = formataddr((display_name(message.recipient.name, address), address), charset="utf-8")
        email["Date"] = format_datetime(moment)
        email["Message-ID"] = message_id(self._domain)
        email["X-Obligations-Key"] = " ".join(message.key.split())
        email["List-Id"] = self._list_id
        # No vacation or out-of-office replies to a robot: RFC 3834, Outlook/Exchange, and the older convention.
        email["Auto-Submitted"] = "auto-generated"
        email["X-Auto-Response-Suppress"] = "All"
        email["Precedence"] = "bulk"
        return email

    async def aclose(self) -> None:
        import aiosmtplib

        idle, self._idle = self._idle, []
        for client in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def _checkout(self) -> aiosmtplib.SMTP:
        import aiosmtplib

        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            client.close()
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            use_tls=self._security == "tls",
            start_tls=self._security == "starttls",
            validate_certs=True,
            tls_context=self._tls_context,
            username=self._username,
            password=self._password if self._username else None,
            timeout=self._timeout,
            local_hostname=self._local_hostname,
        )
        await client.connect()
        return client


def message_id(domain: str) -> str:
    """A new Message-ID: 122 random bits, so unique across sends, databases and hosts (RFC 5322 3.6.4)."""
    return f"<obligations.{uuid.uuid4().hex}@{domain}>"


def display_name(name: str, address: str) -> str:
    """The name shown beside the address in To:, or "" for a bare address. One line, control characters shown
    as � (a line break in a name must not start a header of its own); quotes, commas and angle brackets stay
    inside the name, where formataddr quotes or encodes them. What is not a person's name is left out: a name
    with a digit (a member id such as `m04`, a mobile number), one without a letter, or the address itself."""
    name = shown(" ".join(name.split()))
    if not any(char.isalpha() for char in name) or re.search(r"[0-9]", name):
        return ""
    if name.casefold() in (address.casefold(), address.rpartition("@")[0].casefold()):
        return ""
    return name


def _checked_address(value: str) -> str | None:
    """A plain ASCII addr-spec (no SMTPUTF8 assumed of the relay), or None."""
    value = value.strip()
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or not value.isascii():
        return None
    if any(char in _FORBIDDEN_IN_ADDRESS for char in value) or "@" in local:
        return None
    try:
        parsed = Address(addr_spec=value)
    except (ValueError, IndexError):
        return None
    return value if parsed.domain == domain else None
