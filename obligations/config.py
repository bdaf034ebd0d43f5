"""config.toml: one spec drives validation, error messages and the documented example.

Every problem is reported at once with the file and its `[section] key`; unknown keys are warnings, not
errors, so that a newer config still loads in an older version. Relative paths are relative to the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from calendars import tomlfile
from calendars.workdays import CalendarConfigError, YearArrangement, arrangements_from_config


class ConfigError(ValueError):
    """A config file that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Key:
    section: str  # dotted for nested tables: "notifiers.email"
    name: str
    type: type
    default: Any
    help: str
    path: bool = False  # relative to the config file
    choices: tuple[str, ...] = ()  # allowed values (of each element, for a list)
    minimum: int | None = None  # for an int


SPEC: tuple[Key, ...] = (
    Key(
        "database",
        "url",
        str,
        "sqlite:///obligations.db",
        "数据库地址：SQLite 文件（相对路径相对于本文件）或 postgresql://用户:密码@主机/库名；"
        "命令行 --db 和环境变量 OBLIGATIONS_DATABASE_URL 优先",
    ),
    Key("planner", "horizon_years", int, 1, "任务计划到第几年年底：1 表示计划到明年年底", minimum=0),
    Key(
        "ledger",
        "attachments",
        str,
        "attachments",
        "会议记录、照片等附件的存放目录（按组织和任务分子目录）",
        path=True,
    ),
    Key(
        "reminders",
        "office_hours",
        str,
        "08:30-18:00",
        "发送提醒的办公时间（北京时间，仅工作日，含调休上班日）",
    ),
    Key(
        "reminders",
        "channels",
        list,
        ["console"],
        "提醒渠道，按党员登记的邮箱、企业微信送达：email、wecom；console 打印到屏幕或文件（无需服务器）",
        choices=("email", "wecom", "console"),
    ),
    Key("reminders", "sweep_minutes", int, 5, "后台服务每隔几分钟检查一次到期提醒", minimum=1),
    Key("reminders", "replan_at", str, "06:00", "后台服务每天几点重新计划任务（北京时间）"),
    Key("reminders", "max_attempts", int, 8, "临时失败（连接失败、超时、4xx、限流）最多重试几次", minimum=1),
    Key("reminders", "retry_base_seconds", int, 60, "重试间隔的基数（秒），按指数退避并随机抖动", minimum=1),
    Key("reminders", "retry_cap_seconds", int, 3600, "重试间隔的上限（秒）", minimum=1),
    Key("reminders", "templates", str, "", "自定义消息模板目录（为空则用内置模板）", path=True),
    Key(
        "reminders",
        "digest_items",
        int,
        50,
        "每条汇总消息最多逐项列出几项，其余只计数并提示查询命令",
        minimum=1,
    ),
    Key("notifiers.email", "host", str, "127.0.0.1", "SMTP 服务器"),
    Key("notifiers.email", "port", int, 8025, "SMTP 端口"),
    Key(
        "notifiers.email",
        "security",
        str,
        "none",
        "none（本地中继）、starttls 或 tls",
        choices=("none", "starttls", "tls"),
    ),
    Key("notifiers.email", "username", str, "", "SMTP 用户名（为空则不认证）"),
    Key(
        "notifiers.email",
        "password_env",
        str,
        "OBLIGATIONS_SMTP_PASSWORD",
        "存放 SMTP 密码的环境变量名（密码不写在本文件中）",
    ),
    Key("notifiers.email", "sender", str, "党建提醒 <dangjian@example.org>", "发件人"),
    Key("notifiers.email", "timeout_seconds", int, 30, "连接和发送超时（秒）"),
    Key("notifiers.wecom", "webhook_key_env", str, "OBLIGATIONS_WECOM_KEY", "存放群机器人 key 的环境变量名"),
    Key("notifiers.wecom", "corp_id", str, "", "企业 ID（应用消息；为空则用群机器人并 @ 手机号）"),
    Key(
        "notifiers.wecom", "corp_secret_env", str, "OBLIGATIONS_WECOM_SECRET", "存放应用 Secret 的环境变量名"
    ),
    Key("notifiers.wecom", "agent_id", int, 0, "应用 AgentId"),
    Key("notifiers.wecom", "api_base", str, "https://qyapi.weixin.qq.com", "企业微信接口地址"),
    Key("notifiers.console", "path", str, "", "console 渠道写入的文件（为空则打印到屏幕）", path=True),
    Key("profiles", "default", str, "national", "组织未指定职责日历时使用的职责日历编号"),
    Key(
        "profiles",
        "directory",
        str,
        "",
        "自定义职责日历（*.toml）所在目录；为空则只用内置职责日历",
        path=True,
    ),
)
KNOWN_SECTIONS = {key.section for key in SPEC}
# Tables that only hold other tables ([notifiers] holds [notifiers.email] …).
PARENT_SECTIONS = {section.rsplit(".", 1)[0] for section in KNOWN_SECTIONS if "." in section}


@dataclass(frozen=True)
class Config:
    path: Path | None
    values: Mapping[tuple[str, str], Any]
    calendar: Mapping[int, YearArrangement] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def get(self, section: str, name: str) -> Any:
        return self.values[(section, name)]

    @property
    def profile_dirs(self) -> list[Path]:
        directory = self.get("profiles", "directory")
        return [Path(directory)] if directory else []


def defaults() -> Config:
    return Config(path=None, values={(key.section, key.name): key.default for key in SPEC})


def load_config(path: Path, *, required: bool = False) -> Config:
    """Read and validate `path`; a missing file gives the defaults unless `required`."""
    if not path.exists():
        if required:
            raise ConfigError(f"找不到配置文件 {path}（可用 obligations init 创建，或用 --config 指定）")
        return defaults()
    try:
        data = tomlfile.read(path)
    except tomlfile.TomlFileError as error:
        raise ConfigError(str(error)) from None
    return parse_config(data, path)


def parse_config(data: Mapping[str, Any], path: Path) -> Config:
    problems: list[str] = []
    warnings: list[str] = []
    values: dict[tuple[str, str], Any] = {}
    for key in SPEC:
        section = _section(data, key.section)
        if not isinstance(section, Mapping):
            problems.append(f"{path}：[{key.section}] 应为表")
            section = {}
        value = section.get(key.name, key.default)
        if not isinstance(value, key.type) or (key.type is int and isinstance(value, bool)):
            problems.append(
                f"{path}：[{key.section}] {key.name} 应为{_type_name(key.type)}，而不是 {value!r}"
            )
            value = key.default
        if key.minimum is not None and isinstance(value, int) and value < key.minimum:
            problems.append(f"{path}：[{key.section}] {key.name} 不能小于 {key.minimum}，而不是 {value}")
            value = key.default
        if key.choices:
            chosen = value if isinstance(value, list) else [value]
            wrong = [item for item in chosen if item not in key.choices]
            if wrong:
                problems.append(
                    f"{path}：[{key.section}] {key.name} 中的 {', '.join(map(repr, wrong))} 无效，可选：{'、'.join(key.choices)}"
                )
                value = key.default
        if key.path and value:
            value = str((path.parent / value).resolve())
        values[(key.section, key.name)] = value
    for section_name in _sections(data):
        if section_name == "calendar" or section_name.startswith("calendar."):
            continue
        if section_name not in KNOWN_SECTIONS and section_name not in PARENT_SECTIONS:
            warnings.append(f"{path}：未知的配置节 [{section_name}]，已忽略")
            continue
        known = {key.name for key in SPEC if key.section == section_name}
        for name, value in _section(data, section_name).items():
            if name not in known and not isinstance(value, Mapping):
                warnings.append(f"{path}：[{section_name}] 中未知的配置项 {name}，已忽略")
    calendar: dict[int, YearArrangement] = {}
    section = data.get("calendar", {})
    try:
        calendar = arrangements_from_config(section if isinstance(section, Mapping) else {}, where=str(path))
    except CalendarConfigError as error:
        problems.extend(str(error).splitlines())
    if problems:
        raise ConfigError("配置文件有错误：\n" + "\n".join(f"  - {problem}" for problem in problems))
    return Config(path=path, values=values, calendar=calendar, warnings=tuple(warnings))


def _section(data: Mapping[str, Any], dotted: str) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, Mapping):
            return {}
        node = node.get(part, {})
    return node


def _sections(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every table's dotted name ("notifiers", "notifiers.email", …)."""
    found = []
    for name, value in data.items():
        if isinstance(value, Mapping):
            dotted = f"{prefix}{name}"
            found.append(dotted)
            found.extend(_sections(value, dotted + "."))
    return found


def _type_name(kind: type) -> str:
    return {str: "字符串", int: "整数", bool: "true 或 false", list: "列表"}.get(kind, kind.__name__)


def example() -> str:
    """The documented config.toml, generated from SPEC (the shipped config.toml is checked against it)."""
    lines = ["# obligations 配置文件。相对路径相对于本文件所在目录。", ""]
    for section in dict.fromkeys(key.section for key in SPEC):
        lines.append(f"[{section}]")
        for key in SPEC:
            if key.section == section:
                lines.append(f"# {key.help}")
                lines.append(f"{key.name} = {_toml_value(key.default)}")
        lines.append("")
    lines += [
        '# 国务院办公厅公布的节假日安排：holidays 库尚未收录的年份在此声明（默认 mode = "replace"：',
        '# 以此为该年全部安排；"extend"：在库的基础上增补）。',
        "# [calendar.2027]",
        '# holidays = ["2027-01-01", "2027-02-05..2027-02-11"]',
        '# workdays = ["2027-02-14"]',
        '# source = "国办发明电〔2026〕号"',
        "",
    ]
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)
