"""Building the configured channels: addresses from config.toml, secrets from the environment only."""

from __future__ import annotations

import os
from pathlib import Path

from notifiers.base import Channel
from obligations.config import Config
from obligations.errors import UserError


def _secret(config: Config, section: str, key: str, what: str) -> str:
    variable = str(config.get(section, key))
    value = os.environ.get(variable, "")
    if not value:
        raise UserError(
            f"{what}未设置：请在环境变量 {variable} 中提供（配置 [{section}] {key}）。", exit_code=3
        )
    return value


def build_channels(config: Config) -> dict[str, Channel]:
    """The channels named in [reminders] channels, ready to send."""
    from notifiers.console import ConsoleChannel
    from notifiers.email import EmailChannel
    from notifiers.wecom import AppChannel, WebhookChannel

    wanted = list(config.get("reminders", "channels"))
    channels: dict[str, Channel] = {}
    if "email" in wanted:
        username = str(config.get("notifiers.email", "username"))
        password = _secret(config, "notifiers.email", "password_env", "SMTP 密码") if username else ""
        channels["email"] = EmailChannel(
            host=str(config.get("notifiers.email", "host")),
            port=int(config.get("notifiers.email", "port")),
            security=str(config.get("notifiers.email", "security")),
            username=username,
            password=password,
            sender=str(config.get("notifiers.email", "sender")),
            timeout=float(config.get("notifiers.email", "timeout_seconds")),
        )
    if "wecom" in wanted:
        base = str(config.get("notifiers.wecom", "api_base"))
        corp_id = str(config.get("notifiers.wecom", "corp_id"))
        if corp_id:
            channels["wecom"] = AppChannel(
                base,
                corp_id,
                _secret(config, "notifiers.wecom", "corp_secret_env", "企业微信应用 Secret"),
                int(config.get("notifiers.wecom", "agent_id")),
            )
        else:
            channels["wecom"] = WebhookChannel(
                base, _secret(config, "notifiers.wecom", "webhook_key_env", "企业微信群机器人 key")
            )
    if "console" in wanted:
        path = str(config.get("notifiers.console", "path"))
        channels["console"] = ConsoleChannel(Path(path) if path else None)
    return channels
