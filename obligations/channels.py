"""Building the configured channels: addresses from config.toml, secrets from the environment only."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from notifiers.base import Channel
from obligations.config import Config
from obligations.errors import UserError

if TYPE_CHECKING:
    from notifiers.wecom import AppChannel


def _secret(variable: str, key: str, what: str) -> str:
    value = os.environ.get(variable, "")
    if not value:
        raise UserError(f"{what}未设置：请在环境变量 {variable} 中提供（配置 {key}）。", exit_code=3)
    return value


def wecom_app(config: Config) -> AppChannel:
    """The WeCom application (`[notifiers.wecom] corp_id` set): application messages, and the desk's sign-in."""
    from notifiers.wecom import AppChannel

    wecom = config.notifiers.wecom
    secret = _secret(wecom.corp_secret_env, "[notifiers.wecom] corp_secret_env", "企业微信应用 Secret")
    return AppChannel(wecom.api_base, wecom.corp_id, secret, wecom.agent_id)


def build_channels(config: Config) -> dict[str, Channel]:
    """The channels named in [reminders] channels, ready to send."""
    from notifiers.console import ConsoleChannel
    from notifiers.email import EmailChannel
    from notifiers.wecom import WebhookChannel

    wanted = config.reminders.channels
    channels: dict[str, Channel] = {}
    if "email" in wanted:
        email = config.notifiers.email
        password = (
            _secret(email.password_env, "[notifiers.email] password_env", "SMTP 密码")
            if email.username
            else ""
        )
        channels["email"] = EmailChannel(
            host=email.host,
            port=email.port,
            security=email.security,
            username=email.username,
            password=password,
            sender=email.sender,
            timeout=float(email.timeout_seconds),
        )
    if "wecom" in wanted:
        wecom = config.notifiers.wecom
        if wecom.corp_id:
            channels["wecom"] = wecom_app(config)
        else:
            key = _secret(wecom.webhook_key_env, "[notifiers.wecom] webhook_key_env", "企业微信群机器人 key")
            channels["wecom"] = WebhookChannel(wecom.api_base, key)
    if "console" in wanted:
        channels["console"] = ConsoleChannel(config.notifiers.console.path)
    return channels
