"""config.toml: one spec drives validation, the typed config object, error messages and the documented example.

Every problem is reported at once with the file and its `[section] key`; unknown keys are warnings, not
errors, so that a newer config still loads in an older version. Relative paths are relative to the file
(to the working directory when there is no file), except those of the data the service writes — the SQLite
file and the attachments — which are relative to the state directory (`state_directory`). Values are checked and converted once, here, into frozen
dataclasses (`config.reminders.replan_at` is a `dt.time`); nothing downstream casts a config value.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from calendars import tomlfile
from calendars.ladder import parse_hours
from calendars.model import Profile
from calendars.profiles import load_profiles
from calendars.text import env_name_problem
from calendars.workdays import CalendarConfigError, YearArrangement, arrangements_from_config
from notifiers.table import KINDS
from obligations import db


class ConfigError(ValueError):
    """A config file that cannot be used; the message lists every problem."""


# A converter turns a raw value (already of the key's TOML type and within its bounds and choices) into the
# typed one, or raises ValueError with the reason in Chinese. It gets the folder relative paths start from.
Converter = Callable[[Any, Path], Any]


@dataclass(frozen=True)
class Key:
    section: str  # dotted for nested tables: "notifiers.email"
    name: str
    type: type  # the TOML type of the raw value
    default: Any  # as written in the example config.toml
    help: str
    choices: tuple[str, ...] = ()  # allowed values (of each element, for a list)
    minimum: int | None = None  # for an int, both bounds inclusive
    maximum: int | None = None
    convert: Converter | None = None
    secret: bool = False  # never echo the value in a message: it may be the secret itself
    data: bool = False  # a path of data the service writes: relative to the state directory, not to the file


# ---------------------------------------------------------------------------------------------------
# Converters


def _optional_path(value: str, base: Path) -> Path | None:
    return (base / value).resolve() if value else None


def _folder(value: str, base: Path) -> Path:
    if not value:
        raise ValueError("不能为空")
    return (base / value).resolve()


def _existing_folder(value: str, base: Path) -> Path | None:
    """An optional folder that must exist when given: a typo must not silently fall back to the built-ins."""
    folder = _optional_path(value, base)
    if folder is not None and not folder.is_dir():
        raise ValueError(f"指定的目录 {folder} 不存在")
    return folder


def _clock_time(value: str, _base: Path) -> dt.time:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    try:
        if match is None:
            raise ValueError
        return dt.time(int(match[1]), int(match[2]))
    except ValueError:
        raise ValueError(f"应写作 24 小时制的“时:分”（如 06:00），而不是 {value!r}") from None


def _office_hours(value: str, _base: Path) -> OfficeHoursSpan:
    return OfficeHoursSpan(*parse_hours(value))


def _channels(value: list[str], _base: Path) -> tuple[str, ...]:
    if not value:
        raise ValueError("至少要选择一个提醒渠道（email、wecom 或 console）")
    if not any(KINDS[name].personal for name in value if name in KINDS):
        raise ValueError(
            "中除 wecom_robot（只发组织汇总）外，还须选择一个发给个人的渠道（email、wecom 或 console）"
        )
    if len(set(value)) != len(value):
        raise ValueError("中有重复的渠道")
    return tuple(value)


def _env_name(example: str, what: str) -> Converter:
    def convert(value: str, _base: Path) -> str:
        if env_name_problem(value) is not None:
            raise ValueError(f"应为环境变量名（如 {example}），不要填写{what}本身")
        return value

    return convert


def _sender(value: str, _base: Path) -> str:
    _name, address = email.utils.parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not (at and local and domain) or any(char.isspace() for char in address):
        raise ValueError(f"应为邮件地址（如 党建提醒 <dangjian@example.org>），而不是 {value!r}")
    return value


def _http_url(value: str, _base: Path) -> str:
    try:
        parts = urlsplit(value)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        valid = False
    if not valid:
        raise ValueError(f"应为 http 或 https 地址（如 https://qyapi.weixin.qq.com），而不是 {value!r}")
    return value.rstrip("/")


# The file types a record may carry (minutes, photos, documents), recognised by content, not by name.
UPLOAD_TYPES = ("pdf", "jpg", "png", "docx", "xlsx", "doc", "xls")


def _upload_types(value: list[str], _base: Path) -> tuple[str, ...]:
    if not value:
        raise ValueError("不能为空")
    return tuple(dict.fromkeys(value))


def _public_url(value: str, _base: Path) -> str:
    if not value:
        return ""
    url = _http_url(value, _base)
    parsed = urlsplit(url)
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ValueError("只能是地址和路径（不含 ?、# 或用户名密码）")
    return url.rstrip("/")


def _database_url(value: str, _base: Path) -> str:
    # The URL itself is never echoed: it may carry a password.
    try:
        parsed = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError(f"无法识别（示例：{db.EXAMPLE_URLS}）") from None
    if db.backend_name(parsed) not in db.SCHEMES:
        raise ValueError(f"的数据库类型 {parsed.drivername} 不受支持，可用：{'、'.join(db.SCHEMES)}")
    return value


# ---------------------------------------------------------------------------------------------------
# The spec


SPEC: tuple[Key, ...] = (
    Key(
        "database",
        "url",
        str,
        "sqlite:///obligations.db",
        "数据库地址：SQLite 文件（相对路径相对于状态目录：$STATE_DIRECTORY，配置文件在 /etc 下时为 "
        "/var/lib/obligations，否则为本文件所在目录）或 postgresql://用户:密码@主机/库名；"
        "命令行 --db 和环境变量 OBLIGATIONS_DATABASE_URL 优先",
        convert=_database_url,
        secret=True,
        data=True,
    ),
    Key(
        "database",
        "busy_timeout_seconds",
        int,
        30,
        "数据库正被其他进程写入时，命令最多等待几秒",
        minimum=1,
        maximum=3600,
    ),
    Key(
        "planner",
        "horizon_years",
        int,
        1,
        "任务计划到第几年年底：1 表示计划到明年年底",
        minimum=0,
        maximum=10,
    ),
    Key(
        "ledger",
        "attachments",
        str,
        "attachments",
        "会议记录、照片等附件的存放目录（按组织和任务分子目录；相对路径相对于状态目录，同数据库）",
        convert=_folder,
        data=True,
    ),
    Key(
        "reminders",
        "office_hours",
        str,
        "08:30-18:00",
        "发送提醒的办公时间（北京时间，仅工作日，含调休上班日）",
        convert=_office_hours,
    ),
    Key(
        "reminders",
        "channels",
        list,
        ["console"],
        "提醒渠道，按党员登记的邮箱、企业微信送达：email、wecom（企业微信应用，须设置 corp_id）；"
        "wecom_robot 向名册中设置了群机器人（wecom_robot_env）的组织发送本组织待办汇总；"
        "console 打印到屏幕或文件（无需服务器）",
        choices=("email", "wecom", "wecom_robot", "console"),
        convert=_channels,
    ),
    Key(
        "reminders",
        "sweep_minutes",
        int,
        5,
        "后台服务每隔几分钟检查一次到期提醒",
        minimum=1,
        maximum=1440,
    ),
    Key(
        "reminders",
        "replan_at",
        str,
        "06:00",
        "后台服务每天几点重新计划任务（北京时间）",
        convert=_clock_time,
    ),
    Key(
        "reminders",
        "max_attempts",
        int,
        8,
        "临时失败（连接失败、超时、4xx、限流）最多重试几次",
        minimum=1,
        maximum=100,
    ),
    Key(
        "reminders",
        "retry_base_seconds",
        int,
        60,
        "重试间隔的基数（秒），按指数退避并随机抖动",
        minimum=1,
        maximum=86400,
    ),
    Key(
        "reminders",
        "retry_cap_seconds",
        int,
        3600,
        "重试间隔的上限（秒）",
        minimum=1,
        maximum=7 * 86400,
    ),
    Key(
        "reminders",
        "breaker_failures",
        int,
        3,
        "某一渠道连续几次超时或无法连接（服务器无响应、拒绝连接、服务繁忙）后暂停该渠道，其他渠道照常发送",
        minimum=1,
        maximum=100,
    ),
    Key(
        "reminders",
        "breaker_cooldown_minutes",
        int,
        10,
        "渠道暂停几分钟；期间其消息留在发件箱（不计重试次数），之后先试发一条，成功则恢复",
        minimum=1,
        maximum=1440,
    ),
    Key(
        "reminders",
        "templates",
        str,
        "",
        "自定义消息模板目录（为空则用内置模板）",
        convert=_existing_folder,
    ),
    Key(
        "reminders",
        "digest_items",
        int,
        50,
        "每条汇总消息最多逐项列出几项，其余只计数并提示查询命令",
        minimum=1,
        maximum=10000,
    ),
    Key("notifiers.email", "host", str, "127.0.0.1", "SMTP 服务器"),
    Key("notifiers.email", "port", int, 8025, "SMTP 端口", minimum=1, maximum=65535),
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
        convert=_env_name("OBLIGATIONS_SMTP_PASSWORD", "密码"),
        secret=True,
    ),
    Key("notifiers.email", "sender", str, "党建提醒 <dangjian@example.org>", "发件人", convert=_sender),
    Key(
        "notifiers.email",
        "timeout_seconds",
        int,
        30,
        "连接和发送超时（秒）",
        minimum=1,
        maximum=600,
    ),
    Key("notifiers.wecom", "corp_id", str, "", "企业 ID（渠道 wecom 的应用消息必填）"),
    Key(
        "notifiers.wecom",
        "corp_secret_env",
        str,
        "OBLIGATIONS_WECOM_SECRET",
        "存放应用 Secret 的环境变量名",
        convert=_env_name("OBLIGATIONS_WECOM_SECRET", " Secret "),
        secret=True,
    ),
    Key("notifiers.wecom", "agent_id", int, 0, "应用 AgentId", minimum=0, maximum=2**31 - 1),
    Key(
        "notifiers.wecom",
        "api_base",
        str,
        "https://qyapi.weixin.qq.com",
        "企业微信接口地址",
        convert=_http_url,
    ),
    Key(
        "notifiers.console",
        "path",
        str,
        "",
        "console 渠道写入的文件（为空则打印到屏幕）",
        convert=_optional_path,
    ),
    Key(
        "web",
        "public_url",
        str,
        "",
        "党务工作台（obligations serve）对外的地址，如 https://dangjian.example.org；提醒的每一项附上以此开头的"
        "登记链接（为空则不附链接）",
        convert=_public_url,
    ),
    Key(
        "web",
        "session_hours",
        int,
        8,
        "登录后多久不操作即需重新登录（小时）",
        minimum=1,
        maximum=720,
    ),
    Key(
        "web",
        "login_attempts",
        int,
        5,
        "连续输错密码几次后锁定账号",
        minimum=1,
        maximum=100,
    ),
    Key(
        "web",
        "lockout_minutes",
        int,
        15,
        "账号锁定多少分钟",
        minimum=1,
        maximum=1440,
    ),
    Key(
        "web",
        "upload_max_mb",
        int,
        20,
        "单个上传文件的大小上限（MB）",
        minimum=1,
        maximum=100,
    ),
    Key(
        "web",
        "allowed_types",
        list,
        list(UPLOAD_TYPES),
        "允许上传的文件类型（按文件内容识别）",
        choices=UPLOAD_TYPES,
        convert=_upload_types,
    ),
    Key("profiles", "default", str, "national", "组织未指定职责日历时使用的职责日历编号"),
    Key(
        "profiles",
        "directory",
        str,
        "",
        "自定义职责日历（*.toml）所在目录；为空则只用内置职责日历",
        convert=_existing_folder,
    ),
)
KNOWN_SECTIONS = {key.section for key in SPEC}
# Tables that only hold other tables ([notifiers] holds [notifiers.email] …).
PARENT_SECTIONS = {section.rsplit(".", 1)[0] for section in KNOWN_SECTIONS if "." in section}


# ---------------------------------------------------------------------------------------------------
# The typed config: one frozen dataclass per section, its fields named as the spec's keys


@dataclass(frozen=True)
class OfficeHoursSpan:
    opens: dt.time
    closes: dt.time


@dataclass(frozen=True)
class DatabaseConfig:
    url: str
    busy_timeout_seconds: int


@dataclass(frozen=True)
class PlannerConfig:
    horizon_years: int


@dataclass(frozen=True)
class LedgerConfig:
    attachments: Path


@dataclass(frozen=True)
class RemindersConfig:
    office_hours: OfficeHoursSpan
    channels: tuple[str, ...]
    sweep_minutes: int
    replan_at: dt.time
    max_attempts: int
    retry_base_seconds: int
    retry_cap_seconds: int
    breaker_failures: int
    breaker_cooldown_minutes: int
    templates: Path | None
    digest_items: int


@dataclass(frozen=True)
class EmailConfig:
    host: str
    port: int
    security: str
    username: str
    password_env: str
    sender: str
    timeout_seconds: int


@dataclass(frozen=True)
class WecomConfig:
    corp_id: str
    corp_secret_env: str
    agent_id: int
    api_base: str


@dataclass(frozen=True)
class ConsoleConfig:
    path: Path | None


@dataclass(frozen=True)
class NotifiersConfig:
    email: EmailConfig
    wecom: WecomConfig
    console: ConsoleConfig


@dataclass(frozen=True)
class WebConfig:
    public_url: str
    session_hours: int
    login_attempts: int
    lockout_minutes: int
    upload_max_mb: int
    allowed_types: tuple[str, ...]

    @property
    def secure_cookies(self) -> bool:
        """Cookies go only over HTTPS when people open the desk through HTTPS."""
        return self.public_url.startswith("https://")


@dataclass(frozen=True)
class ProfilesConfig:
    default: str
    directory: Path | None

    @property
    def dirs(self) -> list[Path]:
        """The local profile folders, after the shipped ones."""
        return [self.directory] if self.directory is not None else []


@dataclass(frozen=True)
class Config:
    path: Path | None  # None: no file, the defaults
    state_dir: Path  # where relative data paths start (state_directory)
    database: DatabaseConfig
    planner: PlannerConfig
    ledger: LedgerConfig
    reminders: RemindersConfig
    notifiers: NotifiersConfig
    profiles: ProfilesConfig
    web: WebConfig
    calendar: Mapping[int, YearArrangement] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return _where(self.path)

    @property
    def secret_variables(self) -> frozenset[str]:
        """The environment variables this configuration names for its secrets (every `*_env` key)."""
        found = set()
        for key in SPEC:
            if key.name.endswith("_env"):
                section: Any = self
                for part in key.section.split("."):
                    section = getattr(section, part)
                found.add(str(getattr(section, key.name)))
        return frozenset(found)


def _where(path: Path | None) -> str:
    """How messages name a configuration."""
    return str(path) if path is not None else "默认配置（无配置文件）"


def _assemble(
    sections: Mapping[str, Mapping[str, Any]],
    path: Path | None,
    state_dir: Path,
    calendar: Mapping[int, YearArrangement],
    warnings: tuple[str, ...],
) -> Config:
    return Config(
        path=path,
        state_dir=state_dir,
        database=DatabaseConfig(**sections["database"]),
        planner=PlannerConfig(**sections["planner"]),
        ledger=LedgerConfig(**sections["ledger"]),
        reminders=RemindersConfig(**sections["reminders"]),
        notifiers=NotifiersConfig(
            email=EmailConfig(**sections["notifiers.email"]),
            wecom=WecomConfig(**sections["notifiers.wecom"]),
            console=ConsoleConfig(**sections["notifiers.console"]),
        ),
        profiles=ProfilesConfig(**sections["profiles"]),
        web=WebConfig(**sections["web"]),
        calendar=calendar,
        warnings=warnings,
    )


# ---------------------------------------------------------------------------------------------------
# Loading


SYSTEM_CONFIG = Path("/etc")
SYSTEM_STATE = Path("/var/lib/obligations")


def state_directory(config_path: Path | None, environ: Mapping[str, str], cwd: Path) -> Path:
    """Where the data lives (relative SQLite paths, the attachments): systemd's `$STATE_DIRECTORY` (set by
    `StateDirectory=`; the first when it lists several); else /var/lib/obligations for a config under /etc (a
    system install: /etc is no place for data, and read-only under ProtectSystem=strict); else the config
    file's folder; without a file, the working folder."""
    given = environ.get("STATE_DIRECTORY", "").split(":")[0]
    if given:
        return Path(given)
    if config_path is None:
        return cwd
    folder = (cwd / config_path).resolve().parent
    return SYSTEM_STATE if folder.is_relative_to(SYSTEM_CONFIG) else folder


def database_url(config: Config, override: str | None = None) -> str:
    """The database URL (`override`: --db or OBLIGATIONS_DATABASE_URL) with a relative SQLite path made absolute
    under the state directory. A SQLite file that is not there but lies beside the config file, where versions
    before the state directory put it, is an error that says where to move it: `init` must not start an empty
    database while the records are elsewhere."""
    url = override or config.database.url
    resolved = db.resolve_url(url, config.state_dir)
    if config.path is not None:
        new, old = db.sqlite_file(resolved), db.sqlite_file(db.resolve_url(url, config.path.resolve().parent))
        if new is not None and old is not None and new != old and old.is_file() and not new.exists():
            raise ConfigError(
                f"数据库文件 {old} 在配置文件旁（旧版本的默认位置），现在的默认位置是状态目录 "
                f"{config.state_dir}：请把它移到 {new}，或在 [database] url 中写明绝对路径。"
            )
    return resolved


def defaults(base: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration without a file: the spec's defaults, relative paths from `base` (the working folder)."""
    return parse_config({}, None, base=base, environ=environ)


def load_config(path: Path, *, required: bool = False, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate `path`. A missing file gives the defaults, unless `required` (a file the operator
    named with --config or OBLIGATIONS_CONFIG: a typo there must not silently run on the defaults)."""
    if not path.exists():
        if required:
            raise ConfigError(f"找不到配置文件 {path}（可用 obligations init 创建，或用 --config 指定）")
        return defaults(environ=environ)
    if not path.is_file():
        raise ConfigError(f"配置文件 {path} 不是普通文件")
    try:
        data = tomlfile.read(path)
    except tomlfile.TomlFileError as error:
        raise ConfigError(str(error)) from None
    return parse_config(data, path, environ=environ)


def parse_config(
    data: Mapping[str, Any],
    path: Path | None,
    *,
    base: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Check every key against the spec and build the typed config; ConfigError lists every problem.
    `environ` (default: the process's) may name the state directory."""
    where = _where(path)
    folder = path.resolve().parent if path is not None else (base or Path.cwd())
    state_dir = state_directory(path, os.environ if environ is None else environ, base or Path.cwd())
    problems: list[str] = []
    warnings: list[str] = []
    sections: dict[str, dict[str, Any]] = {}
    for key in SPEC:
        section = _section(data, key.section)
        if not isinstance(section, Mapping):
            problems.append(f"{where}：[{key.section}] 应为表")
            section = {}
        raw = section.get(key.name, key.default)
        problem = _check(key, raw)
        if problem is None and key.convert is not None:
            try:
                value = key.convert(raw, state_dir if key.data else folder)
            except ValueError as error:
                problem = str(error)
        elif problem is None:
            value = tuple(raw) if isinstance(raw, list) else raw
        if problem is not None:
            problems.append(f"{where}：[{key.section}] {key.name} {problem}")
            value = None  # never used: a config with problems is not built
        sections.setdefault(key.section, {})[key.name] = value
    problems.extend(_cross_checks(sections, where))
    for section_name in _sections(data):
        if section_name == "calendar" or section_name.startswith("calendar."):
            continue
        if section_name not in KNOWN_SECTIONS and section_name not in PARENT_SECTIONS:
            warnings.append(f"{where}：未知的配置节 [{section_name}]，已忽略")
            continue
        known = {key.name for key in SPEC if key.section == section_name}
        for name, value in _section(data, section_name).items():
            if name not in known and not isinstance(value, Mapping):
                warnings.append(f"{where}：[{section_name}] 中未知的配置项 {name}，已忽略")
    calendar: dict[int, YearArrangement] = {}
    section = data.get("calendar", {})
    try:
        calendar = arrangements_from_config(section if isinstance(section, Mapping) else {}, where=where)
    except CalendarConfigError as error:
        problems.extend(str(error).splitlines())
    if problems:
        raise ConfigError("配置文件有错误：\n" + "\n".join(f"  - {problem}" for problem in problems))
    return _assemble(sections, path, state_dir, calendar, tuple(warnings))


def configured_profiles(config: Config) -> dict[str, Profile]:
    """The shipped profiles and those of [profiles] directory, checked against the config: the folder must
    (still) exist and [profiles] default must be among them. Read again by the daemon on every tick."""
    directory = config.profiles.directory
    if directory is not None and not directory.is_dir():
        raise ConfigError(f"{config.where}：[profiles] directory 指定的目录 {directory} 不存在")
    profiles = load_profiles(config.profiles.dirs)
    if config.profiles.default not in profiles:
        raise ConfigError(
            f"{config.where}：[profiles] default 指定的职责日历 {config.profiles.default!r} 不存在，"
            f"可选：{'、'.join(sorted(profiles))}"
        )
    return profiles


def check_profiles_in_use(config: Config, profiles: Mapping[str, Profile], in_use: set[str]) -> None:
    """Organizations whose profile is not loaded cannot be planned or reminded: a configuration error,
    raised before anything is written (their tasks would otherwise silently lose their reminders)."""
    missing = sorted(in_use - set(profiles))
    if missing:
        raise ConfigError(
            f"组织使用的职责日历 {'、'.join(missing)} 未能加载（{config.where}：[profiles] directory），"
            "请恢复职责日历目录或文件后重试；任务和提醒均未改动。"
        )


def _check(key: Key, raw: Any) -> str | None:
    """What is wrong with the raw value's type, bounds or choices (None: nothing)."""
    shown = "" if key.secret else f"，而不是 {raw!r}"
    if not isinstance(raw, key.type) or (key.type is int and isinstance(raw, bool)):
        return f"应为{_type_name(key.type)}{shown}"
    if isinstance(raw, list) and not all(isinstance(item, str) for item in raw):
        return f"应为字符串列表{shown}"
    if isinstance(raw, int) and key.minimum is not None and raw < key.minimum:
        return f"不能小于 {key.minimum}{shown}"
    if isinstance(raw, int) and key.maximum is not None and raw > key.maximum:
        return f"不能大于 {key.maximum}{shown}"
    if key.choices:
        chosen = raw if isinstance(raw, list) else [raw]
        wrong = [item for item in chosen if item not in key.choices]
        if wrong:
            return f"中的 {', '.join(map(repr, wrong))} 无效，可选：{'、'.join(key.choices)}"
    return None


def _cross_checks(sections: Mapping[str, Mapping[str, Any]], where: str) -> list[str]:
    problems = []
    reminders = sections["reminders"]
    base, cap = reminders["retry_base_seconds"], reminders["retry_cap_seconds"]
    if isinstance(base, int) and isinstance(cap, int) and cap < base:
        problems.append(
            f"{where}：[reminders] retry_cap_seconds 不能小于 retry_base_seconds（{base}），而不是 {cap}"
        )
    # wecom is a person's own channel: without an application it would be a group robot, and every member's
    # digest would land in one group.
    if "wecom" in (reminders["channels"] or ()) and sections["notifiers.wecom"]["corp_id"] == "":
        problems.append(
            f"{where}：[reminders] channels 中的 wecom 是发给个人的企业微信应用消息，须设置 [notifiers.wecom]"
            " corp_id、agent_id 和 corp_secret_env；若要发到群里，请改用 wecom_robot，"
            "并在名册中为组织填写 wecom_robot_env（存放群机器人 key 的环境变量名）"
        )
    return problems


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


# ---------------------------------------------------------------------------------------------------
# The documented example


def example() -> str:
    """The documented config.toml, generated from SPEC (the shipped config.toml is checked against it)."""
    lines = [
        "# obligations 配置文件。相对路径相对于本文件所在目录（数据库和附件相对于状态目录，见各项说明）。",
        "",
    ]
    for section in dict.fromkeys(key.section for key in SPEC):
        lines.append(f"[{section}]")
        for key in SPEC:
            if key.section == section:
                lines.append(f"# {key.help}{_bounds(key)}")
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


def _bounds(key: Key) -> str:
    if key.minimum is None or key.maximum is None:
        return ""
    return f"；取值 {key.minimum}–{key.maximum}"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return repr(value)
