"""企业微信 sign-in (silent OAuth, snsapi_base) where `[notifiers.wecom] corp_id` and `[web] public_url` are set.

`GET /wecom/login?next=` sends the browser to WeCom's authorize page with a random `state`, kept in a
short-lived HttpOnly cookie with `next`; WeCom sends it back to `GET /wecom/callback?code=…&state=…`. The state
must match the cookie; the code is exchanged once for the person's userid (getuserinfo, with the access token
of the WeCom application channel: the same token logic as application messages), which must name exactly one
active member with an enabled account. Then a session opens (method "wecom") and the browser goes at once to
`next`: the code does not stay in the address bar. The code is never logged, in the audit log or elsewhere
(the access log is redacted, obligations/web/redact.py). Every failure is a page in Chinese and an audit
`login_failed`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import secrets
from urllib.parse import quote

from sqlmodel import Session, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from notifiers.base import DeliveryError
from notifiers.wecom import AppChannel
from obligations import accounts, audit
from obligations.channels import wecom_app
from obligations.errors import UserError
from obligations.models import Account, Member
from obligations.web.app import Desk, desk_of, error_page
from obligations.web.auth import _set_cookie, client_address, local_path, start_session

log = logging.getLogger("obligations.web.wecom")

AUTHORIZE = "https://open.weixin.qq.com/connect/oauth2/authorize"
STATE_COOKIE = "obligations_wecom"
STATE_PATH = "/wecom"
STATE_SECONDS = 300  # WeCom's codes live 5 minutes; a sign-in takes seconds
MAX_CODE = 512

FAILED = "企业微信登录未成功：{}请关闭页面后从企业微信重新打开，或使用党员编号和密码登录。"


def _enabled(desk: Desk) -> bool:
    return bool(desk.config.notifiers.wecom.corp_id and desk.config.web.public_url)


def _channel(request: Request) -> AppChannel:
    """The WeCom application of this process, for this event loop (one in a served process; the token it
    caches is reused by every sign-in)."""
    loop = asyncio.get_running_loop()
    held = getattr(request.app.state, "wecom", None)
    if held is not None and held[0] is loop:
        channel: AppChannel = held[1]
        return channel
    channel = wecom_app(desk_of(request).config)
    request.app.state.wecom = (loop, channel)
    return channel


def _cookie_value(state: str, next_path: str) -> str:
    encoded = base64.urlsafe_b64encode(next_path.encode()).decode().rstrip("=")
    return f"{state}.{encoded}"


def _from_cookie(value: str) -> tuple[str, str] | None:
    state, _, encoded = value.partition(".")
    if not state or len(value) > 4096:
        return None
    try:
        next_path = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return state, local_path(next_path)


async def wecom_login(request: Request) -> Response:
    desk = desk_of(request)
    if not _enabled(desk):
        return error_page(request, 404, "本工作台未启用企业微信登录。")
    wecom = desk.config.notifiers.wecom
    state = secrets.token_urlsafe(24)
    next_path = local_path(request.query_params.get("next"))
    redirect_uri = f"{desk.config.web.public_url.rstrip('/')}/wecom/callback"
    # In the order WeCom documents them.
    target = (
        f"{AUTHORIZE}?appid={quote(wecom.corp_id, safe='')}&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope=snsapi_base&state={state}&agentid={wecom.agent_id}#wechat_redirect"
    )
    response = RedirectResponse(target, status_code=302)
    _set_cookie(
        response,
        desk,
        STATE_COOKIE,
        _cookie_value(state, next_path),
        path=STATE_PATH,
        max_age=STATE_SECONDS,
    )
    return response


async def wecom_callback(request: Request) -> Response:
    desk = desk_of(request)
    if not _enabled(desk):
        return error_page(request, 404, "本工作台未启用企业微信登录。")
    address = client_address(request)

    async def failed(status: int, reason: str, detail: str, who: str | None = None) -> Response:
        def write(session: Session) -> None:
            audit.log(
                session,
                audit.Actor(who, "web", address),
                "login_failed",
                at=desk.now(),
                outcome="refused",
                detail=f"wecom: {detail}",
            )

        await desk.run(write)
        response = error_page(request, status, FAILED.format(reason))
        response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
        return response

    code = request.query_params.get("code", "")
    given_state = request.query_params.get("state", "")
    held = _from_cookie(request.cookies.get(STATE_COOKIE, ""))
    if held is None or not given_state or not hmac.compare_digest(held[0], given_state):
        return await failed(400, "登录请求已过期或来源不明。", "state mismatch")
    if not code or len(code) > MAX_CODE:
        return await failed(400, "企业微信未返回授权码。", "no code")
    next_path = held[1]
    try:
        userid = await _channel(request).userid_of_code(code)
    except UserError as error:  # the application's secret is not in the environment
        log.error("wecom sign-in is not configured: %s", error)
        return await failed(503, "企业微信登录尚未配置完成，请告知管理员。", "not configured")
    except DeliveryError as error:
        return await failed(401, "企业微信未能确认您的身份。", error.reason.replace(code, "***"))

    def sign_in(session: Session) -> tuple[accounts.Opened | None, str | None]:
        now = desk.now()
        matches = session.exec(
            select(Member.id).where(Member.wecom == userid, Member.active == True)  # noqa: E712
        ).all()
        member = matches[0] if len(matches) == 1 else None
        account = session.get(Account, member) if member else None
        if member is None or account is None or account.disabled:
            why = (
                "no member"
                if not matches
                else "several members"
                if len(matches) > 1
                else "account disabled"
                if account
                else "no account"
            )
            audit.log(
                session,
                audit.Actor(member, "web", address),
                "login_failed",
                at=now,
                outcome="refused",
                detail=f"wecom: userid {userid}: {why}",
            )
            return None, why
        opened = accounts.open_session(session, member, method="wecom", now=now, address=address)
        audit.log(session, audit.Actor(member, "web", address), "login", at=now, detail="wecom")
        return opened, None

    opened, why = await desk.run(sign_in)
    if opened is None:
        reason = (
            "您的企业微信账号没有对应的党务工作台账号（或账号已停用），请联系组织员开通。"
            if why != "several members"
            else "您的企业微信账号对应了多名党员，请联系组织员核对名册。"
        )
        response = error_page(request, 403, FAILED.format(reason))
        response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
        return response
    response = RedirectResponse(next_path, status_code=303)
    start_session(response, desk, opened)
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


ROUTES = [
    Route("/wecom/login", wecom_login, methods=["GET"]),
    Route("/wecom/callback", wecom_callback, methods=["GET"]),
]
