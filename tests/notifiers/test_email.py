"""EmailChannel against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from notifiers.base import Channel, Delivery, DeliveryError, Message, Recipient
from notifiers.email import EmailChannel
from notifiers.render import render_digest
from tests.notifiers.servers import PASSWORD, USERNAME, Certificate, SmtpServer, authenticator, free_port

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
SENDER = "党建提醒 <dangjian@example.org>"
ZHANG = Recipient(name="张三", email="zhangsan@example.org", wecom="zhangsan", mobile="13800000001")
SUBJECT = "【党建提醒】第一党支部·支部委员会会议：逾期 3 天，另有 2 项党建工作待督促（其中 1 项已逾期）"


def channel(port: int, **options: Any) -> EmailChannel:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "username": "",
        "password": "",
        "sender": SENDER,
        "timeout": 5.0,
        "now": lambda: NOW,
    }
    settings.update(options)
    return EmailChannel(**settings)


def message(key: str = "r-1", recipient: Recipient = ZHANG, **fields: Any) -> Message:
    defaults: dict[str, Any] = {
        "subject": SUBJECT,
        "text": "张三同志：\n请于 2026年11月30日 前召开支部委员会会议。\n",
        "html": "<p>张三同志：</p><p>请于 <b>2026年11月30日</b> 前召开支部委员会会议。</p>",
    }
    defaults.update(fields)
    return Message(key=key, recipient=recipient, **defaults)


def send(mailer: EmailChannel, *messages: Message) -> list[Delivery]:
    async def run() -> list[Delivery]:
        try:
            return [await mailer.send(each) for each in messages]
        finally:
            await mailer.aclose()

    return asyncio.run(run())


def failure(mailer: EmailChannel, outgoing: Message) -> DeliveryError:
    async def run() -> DeliveryError:
        try:
            await mailer.send(outgoing)
        except DeliveryError as error:
            return error
        finally:
            await mailer.aclose()
        raise AssertionError("the send should have failed")

    return asyncio.run(run())


def test_email_channel_keeps_the_channel_contract() -> None:
    mailer = channel(25)
    assert isinstance(mailer, Channel)
    assert mailer.name == "email"
    assert mailer.address_of(ZHANG) == "zhangsan@example.org"
    assert mailer.address_of(Recipient(name="无邮箱")) is None


def test_plain_delivery_reaches_the_recipient_and_reports_when(smtp_server: SmtpServer) -> None:
    [delivery] = send(channel(smtp_server.port), message())

    [received] = smtp_server.mailbox.received
    assert received.mail_from == "dangjian@example.org"
    assert received.rcpt_tos == ["zhangsan@example.org"]
    assert delivery.channel == "email"
    assert delivery.address == "zhangsan@example.org"
    assert delivery.started_at == NOW and delivery.started_at.tzinfo == UTC
    assert delivery.duration_ms >= 0
    assert re.fullmatch(
        r"<obligations\.[0-9a-f]{32}@example\.org> Message accepted for delivery", delivery.detail
    )
    assert delivery.detail.split()[0] == received.message["Message-ID"]


def test_text_and_html_are_alternatives_of_one_message(smtp_server: SmtpServer) -> None:
    send(channel(smtp_server.port), message())

    email = smtp_server.mailbox.received[0].message
    assert email.get_content_type() == "multipart/alternative"
    text = email.get_body(("plain",))
    html = email.get_body(("html",))
    assert text is not None and html is not None
    assert text.get_content() == "张三同志：\n请于 2026年11月30日 前召开支部委员会会议。\n"
    assert "<b>2026年11月30日</b>" in html.get_content()
    assert text.get_content_charset() == "utf-8"


def test_a_message_without_html_is_plain_text(smtp_server: SmtpServer) -> None:
    send(channel(smtp_server.port), message(html=None))

    email = smtp_server.mailbox.received[0].message
    assert email.get_content_type() == "text/plain"
    assert "支部委员会会议" in email.get_content()


def test_chinese_subject_and_names_are_encoded_and_decode_back_exactly(smtp_server: SmtpServer) -> None:
    send(channel(smtp_server.port), message())

    received = smtp_server.mailbox.received[0]
    headers = received.content.split(b"\r\n\r\n", 1)[0]
    assert headers.isascii()  # RFC 2047 encoded words, not raw UTF-8
    assert b"=?utf-8?" in headers.lower()
    email = received.message
    assert email["Subject"] == SUBJECT
    assert email["From"].addresses[0].display_name == "党建提醒"
    assert email["From"].addresses[0].addr_spec == "dangjian@example.org"
    assert email["To"].addresses[0].display_name == "张三"
    assert (
        b"\r\nTo: =?utf-8?b?5byg5LiJ?= <zhangsan@example.org>\r\n" in headers
    )  # one encoded word, then the address


@pytest.mark.parametrize(
    "name",
    ["m04", "b1m1", "13800000001", "", "   ", "zhangsan", "—"],
    ids=["member-id", "member-id-2", "mobile", "empty", "blank", "address-local-part", "no-letter"],
)
def test_a_name_that_is_an_id_a_number_or_empty_leaves_a_bare_address(
    smtp_server: SmtpServer, name: str
) -> None:
    send(channel(smtp_server.port), message(recipient=Recipient(name=name, email="zhangsan@example.org")))

    received = smtp_server.mailbox.received[0]
    assert b"\r\nTo: zhangsan@example.org\r\n" in received.content
    assert received.message["To"].addresses[0].display_name == ""


@pytest.mark.parametrize(
    "name",
    [
        "Evil\r\nBcc: victim@evil.example",
        "张三\nBcc: victim@evil.example",
        "张三\r\n\r\n<html>body</html>",
        "Mallory <victim@evil.example>, other@evil.example",
        '张三" <victim@evil.example>, "x',
        "张三\u2028Cc: victim@evil.example",
        "Eve\x00\x1b[31m; victim@evil.example",
    ],
    ids=[
        "crlf-bcc",
        "lf-bcc",
        "blank-line-body",
        "extra-recipients",
        "quote-break-out",
        "line-separator",
        "controls",
    ],
)
def test_a_name_cannot_add_a_header_or_a_recipient(smtp_server: SmtpServer, name: str) -> None:
    send(channel(smtp_server.port), message(recipient=Recipient(name=name, email="zhangsan@example.org")))

    [received] = smtp_server.mailbox.received
    email = received.message
    assert received.rcpt_tos == ["zhangsan@example.org"]
    [to] = email["To"].addresses
    assert to.addr_spec == "zhangsan@example.org"
    assert "\n" not in to.display_name and "\r" not in to.display_name and "\x1b" not in to.display_name
    assert "victim" not in "".join(key for key in email)
    assert not [key for key in email if key.lower() in ("bcc", "cc")]
    html = email.get_body(("html",))
    assert html is not None and html.get_content() == message().html  # the body is the body, not the name's


def test_names_with_punctuation_and_an_ascii_subject_survive_the_trip(smtp_server: SmtpServer) -> None:
    odd = Recipient(name='李"四", 老同志 <副书记>', email="lisi@example.org")
    send(
        channel(smtp_server.port, sender='"党建, 提醒" <dangjian@example.org>'),
        message(recipient=odd, subject="Reminder  ok"),
    )

    email = smtp_server.mailbox.received[0].message
    assert email["Subject"] == "Reminder ok"
    assert email["To"].addresses[0].display_name == '李"四", 老同志 <副书记>'
    assert email["To"].addresses[0].addr_spec == "lisi@example.org"
    assert email["From"].addresses[0].display_name == "党建, 提醒"
    assert smtp_server.mailbox.received[0].rcpt_tos == ["lisi@example.org"]


def test_message_ids_are_random_per_send_in_the_senders_domain_and_the_key_is_a_header(
    smtp_server: SmtpServer,
) -> None:
    # Two databases both number their outbox from 1: the same key, sent by two channels, and sent again.
    send(channel(smtp_server.port), message("obligations-4"), message("obligations-4"))
    send(channel(smtp_server.port, sender="dangjian@dw.example.gov.cn"), message("obligations-4"))
    send(channel(smtp_server.port), message("提醒/43 with spaces"))

    emails = [received.message for received in smtp_server.mailbox.received]
    ids = [email["Message-ID"] for email in emails]
    assert len(set(ids)) == 4
    assert [re.fullmatch(r"<obligations\.[0-9a-f]{32}@([\w.]+)>", id_)[1] for id_ in ids] == [  # type: ignore[index]
        "example.org",
        "example.org",
        "dw.example.gov.cn",
        "example.org",
    ]
    assert [email["X-Obligations-Key"] for email in emails] == ["obligations-4"] * 3 + ["提醒/43 with spaces"]
    assert emails[0]["Date"].datetime == NOW


@pytest.mark.parametrize(
    ("sender", "list_id"),
    [
        (SENDER, "党建提醒 <reminders.example.org>"),
        ("dangjian@dw.example.gov.cn", "党建工作提醒 <reminders.dw.example.gov.cn>"),
    ],
    ids=["sender-with-name", "sender-without-name"],
)
def test_reminders_say_they_are_automatic_and_name_their_list(
    smtp_server: SmtpServer, sender: str, list_id: str
) -> None:
    send(channel(smtp_server.port, sender=sender), message())

    received = smtp_server.mailbox.received[0]
    email = received.message
    assert email["Auto-Submitted"] == "auto-generated"  # RFC 3834: no vacation replies
    assert email["X-Auto-Response-Suppress"] == "All"  # Outlook/Exchange: no out-of-office replies
    assert email["Precedence"] == "bulk"
    assert email["List-Id"] == list_id  # RFC 2919, its phrase an encoded word
    assert received.content.split(b"\r\n\r\n", 1)[0].isascii()


def test_a_digest_arrives_for_its_reader_with_every_desk_link_in_both_parts(smtp_server: SmtpServer) -> None:
    desk = "https://dangjian.example.gov.cn"
    items = [
        {"org_name": "第一党支部", "title": "支部委员会会议", "due": NOW.date() + timedelta(days=7)},
        {
            "org_name": "第二党支部",
            "title": "主题党日",
            "due": NOW.date() - timedelta(days=3),
            "role": "supervisor",
        },
    ]
    links = [f"{desk}/l/{'x' * 200}{n}" for n in range(len(items))]
    digest = render_digest(
        {
            "recipient": {"name": "张三"},
            "as_of": NOW.date(),
            "items": [{**item, "link": link} for item, link in zip(items, links, strict=True)],
            "desk_url": f"{desk}/",
        }
    )
    outgoing = [
        message(key, subject=digest.subject, text=digest.text, html=digest.html)
        for key in ("obligations-1", "obligations-2")
    ]
    send(channel(smtp_server.port), *outgoing)

    first, second = (received.message for received in smtp_server.mailbox.received)
    assert first["Message-ID"] != second["Message-ID"]
    for email in (first, second):
        assert email["To"].addresses[0].display_name == "张三"
        assert email["Auto-Submitted"] == "auto-generated"
        assert email["List-Id"] == "党建提醒 <reminders.example.org>"
        text, html = (
            str(part.get_content()) for part in map(email.get_body, [("plain",), ("html",)]) if part
        )
        for link in links:
            assert f"去登记：{link}\n" in text
            assert html.count(f'<a href="{link}"') == 1
        assert f"{desk}/\n" in text  # 我的待办, the desk's home
        assert f'<a href="{desk}/"' in html


def test_one_connection_carries_several_messages(smtp_server: SmtpServer) -> None:
    send(channel(smtp_server.port), message("a"), message("b"), message("c"))

    sessions = {received.session_id for received in smtp_server.mailbox.received}
    assert len(smtp_server.mailbox.received) == 3 and len(sessions) == 1


def test_concurrent_sends_all_arrive(smtp_server: SmtpServer) -> None:
    mailer = channel(smtp_server.port, max_connections=3)

    async def run() -> None:
        await asyncio.gather(*(mailer.send(message(f"k{n}")) for n in range(12)))
        await mailer.aclose()

    asyncio.run(run())
    keys = sorted(received.message["X-Obligations-Key"] for received in smtp_server.mailbox.received)
    assert keys == sorted(f"k{n}" for n in range(12))
    assert len({received.session_id for received in smtp_server.mailbox.received}) <= 3


def test_starttls_with_authentication(
    smtp_factory: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_factory(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    mailer = channel(
        server.port,
        security="starttls",
        username=USERNAME,
        password=PASSWORD,
        tls_context=certificate.client_context(),
    )
    send(mailer, message())

    [received] = server.mailbox.received
    assert received.authenticated
    assert received.message["Subject"] == SUBJECT


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_authentication(
    smtp_factory: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_factory(
        ssl_context=certificate.server_context(),
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=False,  # aiosmtpd only counts STARTTLS as TLS; this connection is TLS from the start
    )
    mailer = channel(
        server.port,
        security="tls",
        username=USERNAME,
        password=PASSWORD,
        tls_context=certificate.client_context(),
    )
    send(mailer, message())

    [received] = server.mailbox.received
    assert received.authenticated


def test_wrong_password_is_permanent_and_the_password_is_never_shown(
    smtp_factory: Callable[..., SmtpServer], certificate: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_factory(
        tls_context=certificate.server_context(), authenticator=authenticator, auth_required=True
    )
    wrong = "wrong-" + PASSWORD
    mailer = channel(
        server.port,
        security="starttls",
        username=USERNAME,
        password=wrong,
        tls_context=certificate.client_context(),
    )
    caplog.set_level(logging.DEBUG)

    error = failure(mailer, message())

    assert error.permanent
    assert "535" in error.reason and "认证失败" in error.reason
    shown = [str(error), repr(error), *traceback.format_exception(error)]
    shown += [record.getMessage() for record in caplog.records if not record.name.startswith("mail.log")]
    assert not [text for text in shown if wrong in text or PASSWORD in text]
    assert repr(mailer).find(PASSWORD) == -1
    assert server.mailbox.received == []


def test_an_untrusted_certificate_is_a_permanent_failure(
    smtp_factory: Callable[..., SmtpServer], certificate: Certificate
) -> None:
    server = smtp_factory(tls_context=certificate.server_context(), require_starttls=True)
    error = failure(channel(server.port, security="starttls"), message())  # the system's CAs do not know it

    assert error.permanent
    assert "证书" in error.reason


def test_server_down_is_temporary() -> None:
    error = failure(channel(free_port()), message())

    assert not error.permanent
    assert "无法连接" in error.reason


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        ("451 4.3.0 Try again later", False),
        ("452 4.2.2 Mailbox full", False),
        ("550 5.1.1 Mailbox unavailable", True),
        ("553 5.1.3 Bad recipient address syntax", True),
    ],
)
def test_smtp_replies_decide_temporary_or_permanent(
    smtp_server: SmtpServer, reply: str, permanent: bool
) -> None:
    smtp_server.mailbox.rcpt_replies["zhangsan@example.org"] = reply

    error = failure(channel(smtp_server.port), message())

    assert error.permanent is permanent
    assert reply.split()[0] in error.reason
    assert smtp_server.mailbox.received == []


def test_a_refused_recipient_does_not_spoil_the_next_send(smtp_server: SmtpServer) -> None:
    smtp_server.mailbox.rcpt_replies["zhangsan@example.org"] = "550 5.1.1 Mailbox unavailable"
    mailer = channel(smtp_server.port)
    li = Recipient(name="李四", email="lisi@example.org")

    async def run() -> Delivery:
        with pytest.raises(DeliveryError):
            await mailer.send(message("a"))
        delivery = await mailer.send(message("b", recipient=li))
        await mailer.aclose()
        return delivery

    assert asyncio.run(run()).address == "lisi@example.org"
    assert [received.rcpt_tos for received in smtp_server.mailbox.received] == [["lisi@example.org"]]


def test_a_server_that_never_answers_times_out_as_temporary() -> None:
    with socket.socket() as silent:  # accepts connections (the kernel does) and never says hello
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        error = failure(channel(silent.getsockname()[1], timeout=0.3), message())

    assert not error.permanent
    assert "超时" in error.reason


@pytest.mark.parametrize("address", [None, "", "not-an-address", "张三@example.org", "a b@example.org"])
def test_a_missing_or_invalid_address_is_permanent_and_sends_nothing(
    smtp_server: SmtpServer, address: str | None
) -> None:
    error = failure(channel(smtp_server.port), message(recipient=Recipient(name="张三", email=address)))

    assert error.permanent
    assert "张三" in error.reason
    assert smtp_server.mailbox.received == []


def test_a_bad_configuration_is_refused_when_the_channel_is_built() -> None:
    with pytest.raises(ValueError, match="security"):
        channel(25, security="ssl")
    with pytest.raises(ValueError, match="sender"):
        channel(25, sender="党建提醒")
