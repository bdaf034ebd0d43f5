"""The table of `obligations` commands, and the group that loads a command only when it runs.

`obligations --help` lists every command with its one-line help from this table, and shell completion offers
them, without importing a command's module: those modules bring in SQLAlchemy, Alembic, Jinja2, httpx,
openpyxl… A command's module is imported when the command runs or shows its own help; importing it registers
its commands on the group (`@cli.command()`), and the group gives each the one-line help listed here, so the
listing and the command cannot disagree (tests/obligations/test_cli_startup.py checks the table against the
modules).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import click

from obligations.cli import messages

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


class Listed(NamedTuple):
    """A top-level command: the module that defines it, and its one line in `obligations --help`."""

    module: str
    short_help: str


_DUE = "obligations.cli.due"
_LEDGER = "obligations.cli.ledger"
_MEMBERS = "obligations.cli.members"
_REGISTRY = "obligations.cli.registry"
_REMIND = "obligations.cli.remind"
_REPORT = "obligations.cli.report"
_REQUESTS = "obligations.cli.requests"
_RULES = "obligations.cli.rules"
_VIEWS = "obligations.cli.views"
_WEB = "obligations.cli.web"

COMMANDS: Mapping[str, Listed] = {
    "appraisal": Listed(_MEMBERS, "民主评议党员：登记和查看年度等次。"),
    "audit": Listed(_WEB, "审计日志：登录、拒绝访问和每一次写入。"),
    "calendar": Listed(_VIEWS, "导出 iCalendar 日历，供手机日历、Outlook 等订阅。"),
    "daemon": Listed(_REMIND, "后台服务：定时发送提醒，每天重新计划任务。"),
    "done": Listed(_LEDGER, "登记一项任务的完成情况（台账）。"),
    "due": Listed(_DUE, "列出已逾期和即将到期的任务。"),
    "dues": Listed(_MEMBERS, "党费：登记交纳情况，查看连续未交月数。"),
    "file": Listed(_LEDGER, "登记已报上级党组织备案。"),
    "import": Listed(_REGISTRY, "导入组织、党员和职务（TOML、CSV 或 Excel）。"),
    "init": Listed(_REGISTRY, "创建配置文件和数据库，或升级数据库。"),
    "ledger": Listed(_VIEWS, "导出党组织生活台账（表格、HTML、Excel 或 Word）。"),
    "org": Listed(_REGISTRY, "查看组织树、党员、职务、空缺和任期。"),
    "outbox": Listed(_REMIND, "查看发件箱，重新发送失败的消息。"),
    "plan": Listed(_REGISTRY, "按职责日历为每个组织生成任务。"),
    "probation": Listed(_MEMBERS, "预备党员转正讨论。"),
    "record": Listed(_LEDGER, "按组织和规则登记活动，可同时计入多项职责。"),
    "remind": Listed(_REMIND, "执行一次提醒：写入发件箱并发送。"),
    "report": Listed(_REPORT, "职责完成情况报表：按时完成、逾期和按时率。"),
    "request": Listed(_REQUESTS, "支部的延期、免办申请：列出、批准、不批准。"),
    "rules": Listed(_RULES, "查看职责日历中的规则。"),
    "score": Listed(_VIEWS, "按考核细则评分，列出证据和缺少的周期。"),
    "serve": Listed(_WEB, "启动党务工作台（网页）。"),
    "status": Listed(_REMIND, "显示提醒服务状态。"),
    "undo": Listed(_LEDGER, "撤销一条台账记录（保留并标注理由）。"),
    "user": Listed(_WEB, "党务工作台的账号：开通、重设密码、停用。"),
    "waive": Listed(_LEDGER, "登记经批准的延期或免办。"),
}


class LazyGroup(messages.Group):
    """A group whose commands are listed in `listed` and imported on first use (with click's texts in Chinese:
    messages.Group)."""

    def __init__(self, *args: Any, listed: Mapping[str, Listed] = COMMANDS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listed = listed

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        entry = self.listed.get(name or cmd.name or "")
        if entry is not None and cmd.short_help is None:
            cmd.short_help = entry.short_help

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.listed})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.listed:
            importlib.import_module(self.listed[cmd_name].module)  # registers its commands on this group
        return self.commands.get(cmd_name)

    def line_of(self, name: str, limit: int = 45) -> str | None:
        """A command's one line, without importing it if it is listed; None for a hidden or unknown command."""
        entry = self.listed.get(name)
        if entry is not None and name not in self.commands:
            return entry.short_help
        command = self.commands.get(name)
        return None if command is None or command.hidden else command.get_short_help_str(limit)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(map(len, names), default=0)  # as click.Group lays it out
        rows = [(name, line) for name in names if (line := self.line_of(name, limit)) is not None]
        if rows:
            with formatter.section(messages.translate("Commands")):  # click's own heading, as click's is
                formatter.write_dl(rows)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:  # suggest among every command, loaded or not
            raise click.exceptions.NoSuchCommand(
                error.command_name,
                message=error.message,
                possibilities=self.list_commands(ctx),
                ctx=error.ctx,
            ) from None

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        items = [
            CompletionItem(name, help=line)
            for name in self.list_commands(ctx)
            if name.startswith(incomplete) and (line := self.line_of(name)) is not None
        ]
        # the group's own options, as click.Command completes them (Group.shell_complete would load every command)
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items
