"""`obligations serve`, `user` and `audit`: the web desk, its accounts and the audit log."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from obligations import accounts, audit, logs
from obligations.audit import ACTION_LABELS, CHANNEL_LABELS, OUTCOME_LABELS
from obligations.cli.app import App, AsOf, cli, cli_actor, now_utc, pass_app
from obligations.render import FreeText, minute_text, table

if TYPE_CHECKING:
    from starlette.applications import Starlette

_PASSWORD_HELP = (
    "从标准输入读取密码（一行），例如 printf '%s\\n' \"$PW\" | obligations user add m01 --password-stdin。"
)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline(accounts.MAX_PASSWORD + 2)
        return line.rstrip("\r\n")
    first = click.prompt("新密码", hide_input=True, err=True)
    second = click.prompt("再输入一次", hide_input=True, err=True)
    if first != second:
        raise accounts.AccountError("两次输入的密码不一致。")
    return str(first)


@cli.group("user")
def user_group() -> None:
    """党务工作台的账号：账号属于名册中的党员，权限按名册中的职务实时确定。

    \b
    示例：
      obligations user add m01 --password-stdin < pw.txt
      obligations user list
    """


@user_group.command("add")
@click.argument("member_id")
@click.option("--password-stdin", is_flag=True, help=_PASSWORD_HELP)
@click.option("--wecom-only", is_flag=True, help="不设密码，只能在企业微信中自动登录。")
@pass_app
def user_add(app: App, member_id: str, password_stdin: bool, wecom_only: bool) -> None:
    """为名册中的党员开通账号（密码至少 8 位，须含字母和数字）。

    \b
    示例：
      obligations user add m01 --password-stdin < pw.txt
    """
    password = None if wecom_only else _password(password_stdin)
    now = now_utc()
    with app.session() as session:
        accounts.add(session, member_id, password, now=now)
        audit.log(session, cli_actor(), "user_add", at=now, target=f"member:{member_id}")
    click.echo(f"已为 {member_id} 开通账号。")


@user_group.command("passwd")
@click.argument("member_id")
@click.option("--password-stdin", is_flag=True, help=_PASSWORD_HELP)
@pass_app
def user_passwd(app: App, member_id: str, password_stdin: bool) -> None:
    """重设密码（同时解除锁定，并使该账号已登录的会话全部失效）。

    \b
    示例：
      obligations user passwd m01 --password-stdin < pw.txt
    """
    password = _password(password_stdin)
    now = now_utc()
    with app.session() as session:
        accounts.set_password(session, member_id, password, now=now)
        audit.log(session, cli_actor(), "user_passwd", at=now, target=f"member:{member_id}")
    click.echo(f"已重设 {member_id} 的密码。")


def _set_disabled(app: App, member_id: str, disabled: bool) -> None:
    now = now_utc()
    with app.session() as session:
        accounts.set_disabled(session, member_id, disabled, now=now)
        action = "user_disable" if disabled else "user_enable"
        audit.log(session, cli_actor(), action, at=now, target=f"member:{member_id}")


@user_group.command("disable")
@click.argument("member_id")
@pass_app
def user_disable(app: App, member_id: str) -> None:
    """停用账号（已登录的会话立即失效）。

    \b
    示例：
      obligations user disable m01
    """
    _set_disabled(app, member_id, True)
    click.echo(f"已停用 {member_id} 的账号。")


@user_group.command("enable")
@click.argument("member_id")
@pass_app
def user_enable(app: App, member_id: str) -> None:
    """重新启用账号（同时解除锁定）。

    \b
    示例：
      obligations user enable m01
    """
    _set_disabled(app, member_id, False)
    click.echo(f"已启用 {member_id} 的账号。")


@user_group.command("list")
@pass_app
def user_list(app: App) -> None:
    """列出账号：党员、所在组织、状态、最近登录。

    \b
    示例：
      obligations user list
    """
    now = now_utc()
    with app.session() as session:
        rows = []
        for account, member in accounts.accounts(session):
            state = "已停用" if account.disabled else "已锁定" if accounts.is_locked(account, now) else "正常"
            login = "密码" if account.password_hash else "仅企业微信"
            rows.append(
                [account.member, member.name, member.org, state, login, minute_text(account.last_login_at)]
            )
    if not rows:
        click.echo("还没有账号。可用 obligations user add 开通。")
        return
    click.echo(
        table(["党员编号", FreeText("姓名"), FreeText("所在组织"), "状态", "登录方式", "最近登录"], rows)
    )


@cli.command("audit")
@click.option(
    "--since",
    type=AsOf(bare_date=dt.time(0)),
    help='只看此时间以后的记录：2026-11-01（当天 0 时起）、"2026-11-01 08:00"（北京时间）或带时区的 ISO 8601 时间。',
)
@click.option("--member", help="只看此党员（或命令行用户）的操作。")
@click.option(
    "--limit", type=click.IntRange(1, 100_000), default=200, show_default=True, help="最多列出几条。"
)
@pass_app
def audit_command(app: App, since: dt.datetime | None, member: str | None, limit: int) -> None:
    """审计日志：登录、拒绝访问和每一次写入（谁、何时、通过命令行还是工作台、从哪个地址）。

    \b
    示例：
      obligations audit --since 2026-11-01 --member m01
    """
    with app.session() as session:
        events = audit.events(session, since=since, member=member, limit=limit)
        rows = [
            [
                minute_text(event.at),
                event.actor or "",
                CHANNEL_LABELS.get(event.channel, event.channel),
                event.address or "",
                ACTION_LABELS.get(event.action, event.action),
                event.target or "",
                OUTCOME_LABELS.get(event.outcome, event.outcome),
                event.detail or "",
            ]
            for event in events
        ]
    if not rows:
        click.echo("没有符合条件的审计记录。")
        return
    click.echo(
        table(
            [
                "时间",
                FreeText("操作人"),
                "渠道",
                FreeText("地址"),
                "操作",
                FreeText("对象"),
                "结果",
                FreeText("说明"),
            ],
            rows,
        )
    )


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址。")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="监听端口。")
@click.option("--proxy", is_flag=True, help="在反向代理之后运行：信任本机代理转发的客户端地址和协议。")
@pass_app
def serve(app: App, host: str, port: int, proxy: bool) -> None:
    """启动党务工作台（网页）：书记在手机（企业微信）或电脑上查看待办、登记台账。

    多进程部署见 README（gunicorn + uvicorn-worker）。

    \b
    示例：
      obligations serve --port 8080
    """
    import uvicorn

    from obligations.web import create_app

    web_app = create_app(app.config, app.engine, app.profiles, clock=now_utc)
    logs.setup()  # once the desk is built: a command refused in-process leaves logging as it was
    uvicorn.run(
        web_app,
        host=host,
        port=port,
        proxy_headers=proxy,
        forwarded_allow_ips="127.0.0.1" if proxy else None,
        server_header=False,
        log_config=None,
    )


def asgi() -> Starlette:
    """The desk for an ASGI server started on its own, configured like the command line (OBLIGATIONS_CONFIG,
    OBLIGATIONS_DATABASE_URL): `gunicorn -k uvicorn_worker.UvicornWorker 'obligations.cli.web:asgi()'`."""
    from obligations.web import create_app

    config_path = os.environ.get("OBLIGATIONS_CONFIG")
    app = App(
        config_path=Path(config_path or "config.toml"),
        db_url=os.environ.get("OBLIGATIONS_DATABASE_URL"),
        config_required=config_path is not None,
    )
    return create_app(app.config, app.engine, app.profiles, clock=now_utc)
