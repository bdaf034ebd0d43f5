"""Real servers on 127.0.0.1 for the channel tests: an SMTP server (aiosmtpd) and a WeCom API speaker."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

USERNAME = "dangjian"
PASSWORD = "s3cret-Pa55word"  # must never appear in logs or errors


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SilentServer:
    """A TCP server on 127.0.0.1 that accepts every connection and then never reads or answers anything: a mail
    or HTTP server that hangs. `greeting`: said once on each connection first (an SMTP server turning clients
    away). `reset`: each connection is closed at once with a TCP reset instead."""

    def __init__(self, *, greeting: bytes = b"", reset: bool = False) -> None:
        self._greeting = greeting
        self._reset = reset
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self.accepted = 0
        self._held: list[socket.socket] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> SilentServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        self._thread.join(10)
        for connection in self._held:
            connection.close()
        self._listener.close()

    def _serve(self) -> None:
        while not self._done.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            if self._reset:  # SO_LINGER 0: close() sends RST
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()
            else:
                if self._greeting:
                    connection.sendall(self._greeting)
                self._held.append(connection)


# --- TLS: a self-signed certificate for 127.0.0.1, made with the openssl CLI (no extra dependency) ---


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the TLS tests need the openssl command (Debian package openssl)")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "2"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


# --- SMTP ---


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    session_id: int
    authenticated: bool

    @property
    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """An aiosmtpd handler that keeps what it receives and refuses recipients on request."""

    received: list[Received] = field(default_factory=list)
    rcpt_replies: dict[str, str] = field(default_factory=dict)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        self.received.append(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.content,
                session_id=id(session),
                authenticated=bool(session.authenticated),
            )
        )
        return "250 Message accepted for delivery"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: object
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox


def start_smtp(**options: Any) -> tuple[Controller, SmtpServer]:
    """An aiosmtpd Controller on a free port of 127.0.0.1, with `options` for aiosmtpd's SMTP class."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, server_hostname="mail.test", **options)
    controller.start()
    return controller, SmtpServer(port, mailbox)


# --- WeCom: gettoken, message/send and webhook/send over real HTTP/1.1 with keep-alive ---


@dataclass
class FakeTime:
    """A monotonic clock and a sleep that moves it, for the rate limit; the sleeps are recorded."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float  # on the server's clock
    connection: int = 0  # which TCP connection it came on (1 for the first the server accepted)


Answer = dict[str, Any] | tuple[int, bytes]  # a JSON answer (HTTP 200) or a raw status and body


def textcard_problem(body: Any) -> str | None:
    """What WeCom refuses in a textcard message: its documented limits (bytes; the button in characters)."""
    if not isinstance(body, dict) or body.get("msgtype") != "textcard":
        return None
    card = body.get("textcard") or {}
    for field_name, limit in (("title", 128), ("description", 512), ("url", 2048)):
        value = card.get(field_name)
        if not isinstance(value, str) or not value or len(value.encode("utf-8")) > limit:
            return field_name
    if len(str(card.get("btntxt", ""))) > 4:
        return "btntxt"
    return None


# Documented maxima of message bodies in UTF-8 bytes, by (endpoint, msgtype). WeCom answers a longer one with
# errcode 40058, e.g. "markdown.content exceed max length 4096. invalid Request Parameter" (its application
# text is documented as cut at 2048 instead: refused here too, so that a test sees what a person would miss).
BODY_LIMITS = {
    ("/cgi-bin/message/send", "markdown"): 2048,
    ("/cgi-bin/message/send", "text"): 2048,
    ("/cgi-bin/webhook/send", "markdown"): 4096,
    ("/cgi-bin/webhook/send", "text"): 2048,
}


def body_problem(path: str, body: Any) -> str | None:
    """WeCom's errmsg for a message body longer than its documented limit, or None."""
    if not isinstance(body, dict):
        return None
    msgtype = str(body.get("msgtype", ""))
    limit = BODY_LIMITS.get((path, msgtype))
    content = (body.get(msgtype) or {}).get("content") if isinstance(body.get(msgtype), dict) else None
    if limit is None or not isinstance(content, str) or len(content.encode("utf-8")) <= limit:
        return None
    return f"{msgtype}.content exceed max length {limit}. invalid Request Parameter"


_FONT_TAG = re.compile(r"<font\b[^<>]*>|</font>")


def fonts_balanced(content: str) -> bool:
    """Every <font> of a WeCom markdown message closed, in order, and its ** bold marks paired."""
    depth = 0
    for tag in _FONT_TAG.findall(content):
        depth += -1 if tag == "</font>" else 1
        if depth < 0:
            return False
    return depth == 0 and content.count("**") % 2 == 0


@dataclass(frozen=True)
class Delivered:
    """A message WeCom accepted: to whom (a userid, or the robot's group), its type and its content."""

    path: str
    to: str
    msgtype: str
    content: str


class FakeWeCom:
    """Speaks the parts of the WeCom API that the channels use, checks keys and tokens like WeCom does, and
    answers from per-endpoint queues when a test wants a particular answer."""

    def __init__(self, *, robot_key: str, corp_id: str, corp_secret: str, clock: Callable[[], float]) -> None:
        self.robot_keys = {robot_key}  # every group robot this server knows; a test may add more
        self.corp_id = corp_id
        self.corp_secret = corp_secret
        self.clock = clock
        self.requests: list[Request] = []
        self.answers: dict[str, deque[Answer]] = {
            "/cgi-bin/gettoken": deque(),
            "/cgi-bin/message/send": deque(),
            "/cgi-bin/webhook/send": deque(),
            "/cgi-bin/auth/getuserinfo": deque(),
        }
        self.codes: dict[str, str] = {}  # OAuth code -> userid; a code is single-use, as WeCom's are
        self.robot_answers: dict[str, deque[Answer]] = {}  # by robot key, ahead of `answers`
        self.connections = 0  # TCP connections accepted
        self.tokens: dict[str, str] = {}  # token -> "valid" | "expired"
        self.delay = 0.0  # real seconds before answering
        self.on_request: Callable[[], None] | None = None  # e.g. to move a fake clock as requests arrive
        # Which application messages WeCom refuses as to no valid userid (errcode 81013), by their body.
        self.refuses: Callable[[dict[str, Any]], bool] = lambda body: False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0
        self.delivered: list[Delivered] = []  # accepted markdown and text messages, in order

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def calls(self, path: str) -> list[Request]:
        return [request for request in self.requests if request.path == path]

    def expire_tokens(self) -> None:
        self.tokens = dict.fromkeys(self.tokens, "expired")

    def revoke_tokens(self) -> None:
        self.tokens.clear()

    async def __aenter__(self) -> FakeWeCom:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:  # the handlers then see EOF and end by themselves
            writer.close()
        await asyncio.sleep(0)

    def _answer(self, request: Request) -> Answer:
        own = self.robot_answers.get(request.query.get("key", ""))
        if request.path == "/cgi-bin/webhook/send" and own:
            return own.popleft()
        queue = self.answers.get(request.path)
        if queue is None:
            return 404, b"not found"
        if queue:
            return queue.popleft()
        if request.path == "/cgi-bin/gettoken":
            if (
                request.query.get("corpid") != self.corp_id
                or request.query.get("corpsecret") != self.corp_secret
            ):
                return {"errcode": 40001, "errmsg": "invalid credential"}
            token = f"token-{len(self.tokens) + 1}-{len(self.requests)}"
            self.tokens[token] = "valid"
            return {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        if request.path in ("/cgi-bin/message/send", "/cgi-bin/auth/getuserinfo"):
            state = self.tokens.get(request.query.get("access_token", ""))
            if state is None:
                return {"errcode": 40014, "errmsg": "invalid access_token"}
            if state == "expired":
                return {"errcode": 42001, "errmsg": "access_token expired"}
            if request.path == "/cgi-bin/auth/getuserinfo":
                userid = self.codes.pop(request.query.get("code", ""), None)
                if userid is None:  # unknown, or already used
                    return {"errcode": 40029, "errmsg": "invalid code"}
                return {"errcode": 0, "errmsg": "ok", "userid": userid, "user_ticket": "", "expires_in": 1800}
            if self.refuses(request.body):
                touser = str(request.body.get("touser", ""))
                return {"errcode": 81013, "errmsg": "user & party & tag all invalid", "invaliduser": touser}
            problem = textcard_problem(request.body)
            if problem:
                return {"errcode": 40058, "errmsg": f"invalid parameter: {problem}"}
            too_long = body_problem(request.path, request.body)
            if too_long:
                return {"errcode": 40058, "errmsg": too_long}
            self._keep(request, str(request.body.get("touser", "")))
            return {"errcode": 0, "errmsg": "ok", "invaliduser": "", "msgid": f"msg-{len(self.requests)}"}
        if request.query.get("key") not in self.robot_keys:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        too_long = body_problem(request.path, request.body)
        if too_long:
            return {"errcode": 40058, "errmsg": too_long}
        self._keep(request, "group")
        return {"errcode": 0, "errmsg": "ok"}

    def _keep(self, request: Request, to: str) -> None:
        body = request.body if isinstance(request.body, dict) else {}
        msgtype = str(body.get("msgtype", ""))
        content = body.get(msgtype, {}).get("content") if isinstance(body.get(msgtype), dict) else None
        if isinstance(content, str):
            self.delivered.append(Delivered(request.path, to, msgtype, content))

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        self.connections += 1
        connection = self.connections
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers: dict[str, str] = {}
                while (header := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = header.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                raw = await reader.readexactly(int(headers.get("content-length", "0")))
                url = urlsplit(target)
                if self.on_request is not None:
                    self.on_request()
                request = Request(
                    method=method,
                    path=url.path,
                    query={name: values[0] for name, values in parse_qs(url.query).items()},
                    body=json.loads(raw) if raw else None,
                    at=self.clock(),
                    connection=connection,
                )
                self.requests.append(request)
                answer = self._answer(request)
                if self.delay:
                    await asyncio.sleep(self.delay)
                status, body = (
                    answer if isinstance(answer, tuple) else (200, json.dumps(answer).encode("utf-8"))
                )
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n".encode("latin-1")
                    + body
                )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            writer.close()
