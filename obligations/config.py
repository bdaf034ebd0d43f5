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
    section: str
    name: str
    type: type
    default: Any
    help: str
    path: bool = False  # relative to the config file


SPEC: tuple[Key, ...] = (
    Key(
        "database",
        "url",
        str,
        "sqlite:///obligations.db",
        "数据库地址：SQLite 文件（相对路径相对于本文件）或 postgresql://用户:密码@主机/库名；"
        "命令行 --db 和环境变量 OBLIGATIONS_DATABASE_URL 优先",
    ),
    Key("planner", "horizon_years", int, 1, "任务计划到第几年年底：1 表示计划到明年年底"),
    Key(
        "ledger",
        "attachments",
        str,
        "attachments",
        "会议记录、照片等附件的存放目录（按组织和任务分子目录）",
        path=True,
    ),
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
KNOWN_SECTIONS = {key.section for key in SPEC} | {"calendar"}


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
        section = data.get(key.section, {})
        if not isinstance(section, Mapping):
            problems.append(f"{path}：[{key.section}] 应为表")
            section = {}
        value = section.get(key.name, key.default)
        if not isinstance(value, key.type) or (key.type is int and isinstance(value, bool)):
            problems.append(
                f"{path}：[{key.section}] {key.name} 应为{_type_name(key.type)}，而不是 {value!r}"
            )
            value = key.default
        if key.path and value:
            value = str((path.parent / value).resolve())
        values[(key.section, key.name)] = value
    for section_name, section in data.items():
        if section_name not in KNOWN_SECTIONS:
            warnings.append(f"{path}：未知的配置节 [{section_name}]，已忽略")
            continue
        if section_name == "calendar" or not isinstance(section, Mapping):
            continue
        known = {key.name for key in SPEC if key.section == section_name}
        for name in section:
            if name not in known:
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
    return repr(value)
