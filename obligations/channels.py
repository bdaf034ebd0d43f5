"""Building the configured channels: addresses from config.toml, secrets from the environment only.

This is the one place channels are made: the outbox sends each message on the channel named by its row, and a
group robot's message on the robot of its organization (`RobotPool`, with the key found here).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from calendars.text import robot_env_problem
from notifiers.base import Channel, DeliveryError
from obligations.config import Config
from obligations.errors import UserError
from obligations.models import Organization

if TYPE_CHECKING:
    from notifiers.wecom import AppChannel, KeyOf


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


def robot_keys(engine: Engine, reserved: Collection[str]) -> Callable[[], KeyOf]:
    """How the group robots' keys are found, read again for each delivery round (`RobotPool.refresh`): one query
    for every organization's variable (`wecom_robot_env` in the registry), so that a registry imported while the
    daemon runs is followed from the next round. The key itself is read from the environment at each send.

    This is the one place a robot's variable is read, and the registry is not trusted (branch secretaries' files):
    a name outside `OBLIGATIONS_ROBOT_…` or one of config.toml's own secret variables (`reserved`) is refused
    here too, whatever was stored, so that no other secret of the server can leave as a robot key. What is
    missing or refused fails that message only, permanently, never quoting a key."""
    from notifiers.wecom import ROBOT_PREFIX

    def load() -> KeyOf:
        with Session(engine) as session:
            variables: dict[str, str] = {
                code: variable
                for code, variable in session.execute(
                    select(col(Organization.code), col(Organization.wecom_robot_env)).where(
                        col(Organization.wecom_robot_env).is_not(None)
                    )
                )
            }

        def key_of(address: str) -> str:
            org = address.removeprefix(ROBOT_PREFIX)
            variable = variables.get(org)
            if not variable:
                raise DeliveryError(f"组织 {org} 未在名册中设置群机器人（wecom_robot_env）", permanent=True)
            problem = robot_env_problem(variable)
            if problem is None and variable in reserved:
                problem = "与 config.toml 中其他密钥所用的环境变量相同"
            if problem is not None:
                raise DeliveryError(
                    f"组织 {org} 的群机器人变量名（wecom_robot_env）不可用：{problem}；未读取该变量",
                    permanent=True,
                )
            key = os.environ.get(variable, "")
            if not key:
                raise DeliveryError(
                    f"环境变量 {variable} 未设置：组织 {org} 的群机器人 key 无从读取", permanent=True
                )
            return key

        return key_of

    return load


def build_channels(config: Config, engine: Engine | None = None) -> dict[str, Channel]:
    """The channels named in [reminders] channels, ready to send (`engine`: where the group robots of
    `wecom_robot` are looked up)."""
    from notifiers.console import ConsoleChannel
    from notifiers.email import EmailChannel
    from notifiers.wecom import RobotPool

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
    if "wecom" in wanted:  # the config requires corp_id with it: a person's digest never goes to a group
        channels["wecom"] = wecom_app(config)
    if "wecom_robot" in wanted:
        if engine is None:
            raise ValueError("the group robots are looked up in the database: pass the engine")
        channels["wecom_robot"] = RobotPool(
            config.notifiers.wecom.api_base, robot_keys(engine, config.secret_variables)
        )
    if "console" in wanted:
        channels["console"] = ConsoleChannel(config.notifiers.console.path)
    return channels
