"""click's own messages in Chinese: usage errors, help headings, the names of its parameter types.

click translates every text it shows through gettext (`from gettext import gettext as _` and `ngettext` in
each of its modules). A gettext catalogue would only be used under a Chinese locale (LANGUAGE, LC_ALL,
LANG…), and a server's or a script's locale is often C: what a person reads is Chinese whatever the locale,
so `install()` gives those modules a translation from the table below instead. The table is the one place
for click's texts; tests/obligations/test_click_messages.py fails when the installed click has a message the
table lacks (a click upgrade), and shows the usage errors of real processes.
"""

from __future__ import annotations

import gettext
import importlib
from typing import Any

import click
import click._textwrap
import click.formatting
import click.types

from calendars.text import display_width, line_pieces

# Every msgid of the installed click (`_("…")` and both forms of `ngettext("…", "…", n)`), in its words.
# Placeholders ({name}, %(prog)s…) are kept as they are: click fills them in after translating.
MESSAGES: dict[str, str] = {
    # core.py
    "Aborted!": "已中止。",
    "deprecated": "已弃用",
    "Missing command.": "缺少命令。",
    "Options": "选项",
    "Positional arguments": "参数",
    "Commands": "命令",
    "DeprecationWarning: The command {name!r} is deprecated.{extra_message}": "注意：命令 {name!r} 已弃用。{extra_message}",
    "DeprecationWarning: The {param_type} {name!r} is deprecated.{extra_message}": "注意：{param_type} {name!r} 已弃用。{extra_message}",
    "Got unexpected extra argument ({args})": "多出了参数（{args}）",
    "Got unexpected extra arguments ({args})": "多出了参数（{args}）",
    "Value must be an iterable.": "值应为一组值。",
    "Could not determine name for option with declarations {decls!r}": "无法从声明 {decls!r} 确定选项的名称",
    "No options defined but a name was passed ({name}). Did you mean to declare an argument instead? Did you mean to pass '--{name}'?": "没有定义选项却给出了名称（{name}）：是要声明参数，还是要写成 '--{name}'？",
    "env var: {var}": "环境变量：{var}",
    "default: {default}": "默认：{default}",
    "required": "必填",
    "Arguments take exactly one parameter declaration, got {length}: {decls}.": "参数只能有一个声明，却有 {length} 个：{decls}。",
    "(dynamic)": "（动态）",
    "Name '{name}' defined twice": "名称 '{name}' 定义了两次",
    "Takes {nargs} values but 1 was given.": "需要 {nargs} 个值，只给了 1 个。",
    "Takes {nargs} values but {len} were given.": "需要 {nargs} 个值，却给了 {len} 个。",
    "Boolean option {decl!r} cannot use the same flag for true/false.": "开关选项 {decl!r} 不能用同一个写法表示“是”和“否”。",
    # decorators.py
    "Do you want to continue?": "是否继续？",
    "Confirm the action without prompting.": "直接确认，不再询问。",
    "%(prog)s, version %(version)s": "%(prog)s，版本 %(version)s",
    "Show the version and exit.": "显示版本并退出。",
    "Show this message and exit.": "显示本帮助并退出。",
    # exceptions.py
    "Did you mean {possibility}?": "您是不是要找 {possibility}？",
    "(Did you mean one of: {possibilities}?)": "（您是不是要找：{possibilities}？）",
    "Error: {message}": "错误：{message}",
    "Try '{command} {option}' for help.": "运行 '{command} {option}' 查看帮助。",
    "Invalid value: {message}": "值无效：{message}",
    "Invalid value for {param_hint}: {message}": "{param_hint} 的值无效：{message}",
    "Missing argument": "缺少参数",
    "Missing option": "缺少选项",
    "Missing parameter": "缺少参数",
    "Missing {param_type}": "缺少{param_type}",
    "Missing parameter: {param_name}": "缺少参数：{param_name}",
    "No such option {name!r}.": "没有选项 {name!r}。",
    "No such command {name!r}.": "没有命令 {name!r}。",
    "unknown error": "未知错误",
    "Could not open file {filename!r}: {message}": "无法打开文件 {filename!r}：{message}",
    # formatting.py
    "Usage:": "用法:",  # click adds a space; its headings end in ":" too (选项:)
    # parser.py
    "Invalid start character for option ({option})": "选项的开头字符无效（{option}）",
    "Option {name!r} does not take a value.": "选项 {name!r} 不带值。",
    "Option {name!r} requires an argument.": "选项 {name!r} 需要一个值。",
    "Option {name!r} requires {nargs} arguments.": "选项 {name!r} 需要 {nargs} 个值。",
    "Argument {name!r} takes {nargs} values.": "参数 {name!r} 需要 {nargs} 个值。",
    # shell_completion.py
    "Couldn't detect Bash version, shell completion is not supported.": "无法识别 Bash 的版本，不支持命令补全。",
    "Shell completion is not supported for Bash versions older than 4.4.": "Bash 4.4 以前的版本不支持命令补全。",
    # termui.py, _termui_impl.py, _winconsole.py, utils.py
    "Press any key to continue...": "按任意键继续……",
    "Repeat for confirmation": "再输入一次以确认",
    "Error: The two entered values do not match.": "错误：两次输入的不一致。",
    "Error: invalid input": "错误：输入无效",
    "Unknown color {colour!r}": "未知的颜色 {colour!r}",
    "d": "天",
    "{editor}: Editing failed": "{editor}：编辑失败",
    "{editor}: Editing failed: {e}": "{editor}：编辑失败：{e}",
    "Windows error: {error}": "Windows 错误：{error}",
    "Unknown standard stream '{name}'": "未知的标准流 '{name}'",
    # types.py
    "file": "文件",
    "directory": "文件夹",
    "path": "路径",
    "Choose from:\n\t{choices}": "可选：\n\t{choices}",
    "{value!r} is not {choice}.": "{value!r} 不是 {choice}。",
    "{value!r} is not one of {choices}.": "{value!r} 不在可选值 {choices} 之中。",
    "Choice({choices})": "可选值（{choices}）",
    "{value!r} does not match the format {format}.": "{value!r} 不符合格式 {format}。",
    "{value!r} does not match the formats {formats}.": "{value!r} 不符合任何一种格式：{formats}。",
    "{value} is not in the range {range}.": "{value} 不在范围 {range} 之内。",
    "{value!r} is not a valid boolean. Recognized values: {states}": "{value!r} 不是有效的开关值，可用：{states}",
    "{len_type} values are required, but {len_value} was given.": "需要 {len_type} 个值，却给了 {len_value} 个。",
    "{len_type} values are required, but {len_value} were given.": "需要 {len_type} 个值，却给了 {len_value} 个。",
    "{value!r} is not a valid {number_type}.": "{value!r} 不是有效的{number_type}。",
    "{value!r} is not a valid UUID.": "{value!r} 不是有效的 UUID。",
    "{name} {filename!r} does not exist.": "{name} {filename!r} 不存在。",
    "{name} {filename!r} is a file.": "{name} {filename!r} 是文件。",
    "{name} {filename!r} is a directory.": "{name} {filename!r} 是文件夹。",
    "{name} {filename!r} is not readable.": "{name} {filename!r} 不可读。",
    "{name} {filename!r} is not writable.": "{name} {filename!r} 不可写。",
    "{name} {filename!r} is not executable.": "{name} {filename!r} 不可执行。",
}

# click's parameter types name themselves in English, in help (`--within INTEGER RANGE`) and in errors
# ("'x' is not a valid integer range."): the names of those the commands use.
TYPE_NAMES: dict[type[click.ParamType[Any]], str] = {
    click.types.StringParamType: "文本",
    click.types.UnprocessedParamType: "文本",
    click.types.IntParamType: "整数",
    click.types.IntRange: "整数",
    click.types.FloatParamType: "数",
    click.types.FloatRange: "数",
    click.types.BoolParamType: "开关值",
    click.types.DateTime: "日期时间",
    click.types.Choice: "选项值",
    click.types.File: "文件",
    click.types.UUIDParameterType: "UUID",
}

# An argument is shown in usage lines and errors by its name, upper-cased by click (`obligations done TASK_ID`,
# "缺少参数 'TASK_ID'"): the Chinese name of each argument the commands declare, by its parameter name.
ARGUMENT_NAMES: dict[str, str] = {
    "code": "组织编码",
    "completion_id": "记录编号",
    "file": "文件",
    "member_id": "党员编号",
    "path": "文件",
    "request_id": "申请编号",
    "rule_id": "规则编号",
    "task_id": "任务编号",
}

OPTIONS_METAVAR = "[选项]"
SUBCOMMAND_METAVAR = "命令 [参数]..."

# The modules of click that translate (`from gettext import gettext as _`); _winconsole is Windows' alone.
CLICK_MODULES = (
    "click.core",
    "click.decorators",
    "click.exceptions",
    "click.formatting",
    "click.parser",
    "click.shell_completion",
    "click.termui",
    "click._termui_impl",
    "click.types",
    "click.utils",
)


def translate(message: str) -> str:
    """gettext for click: the Chinese text, or click's own for a message the table lacks."""
    return MESSAGES.get(message, message)


def translate_plural(singular: str, plural: str, count: int) -> str:
    """ngettext for click: Chinese has one form, but click's two are kept apart in the table."""
    return translate(singular if count == 1 else plural)


def install() -> None:
    """Make click speak Chinese in this process; call before any command is declared (click translates the
    help of --help and --version when they are declared)."""
    for name in CLICK_MODULES:
        module = importlib.import_module(name)
        if getattr(module, "_", None) is gettext.gettext:
            module._ = translate  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is gettext.ngettext:
            module.ngettext = translate_plural  # type: ignore[attr-defined]
    for kind, label in TYPE_NAMES.items():
        kind.name = label
    # Help is laid out by the width click measures, and a sentence without spaces is cut where click counts
    # the line full: a Chinese character takes two columns on a terminal, not one.
    click.formatting.term_len = _term_width  # type: ignore[attr-defined]
    click._textwrap.term_len = _term_width  # type: ignore[attr-defined]
    click._textwrap._truncate_visible = _cut
    # ... and a line of help breaks where Chinese text may (calendars.text.line_pieces): between characters, at
    # a space, never inside an ASCII word such as xlsx or YYYY-MM-DD, which click would cut at the width.
    click._textwrap.TextWrapper = _HelpWrapper  # type: ignore[misc]


def _term_width(x: str) -> int:
    return display_width(click.unstyle(x))


def _cut(text: str, n: int) -> str:
    """The longest start of `text` at most `n` columns wide (at least one character, or the line would never
    end)."""
    used = 0
    for index, char in enumerate(text):
        used += display_width(char)
        if used > n:
            return text[: max(index, 1)]
    return text


class _HelpWrapper(click._textwrap.TextWrapper):
    """click's wrapper of help text, breaking lines where calendars.text.line_pieces allows and never inside a
    piece (a word wider than the line overflows, as a URL must)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.break_long_words = False

    def _split(self, text: str) -> list[str]:
        return [chunk for gap, piece in line_pieces(text) for chunk in (gap, piece) if chunk]


class Command(click.Command):
    """A command whose usage line reads `用法：obligations done [选项] 任务编号`: its arguments are shown by their
    Chinese names (ARGUMENT_NAMES) in usage lines and errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, click.Argument) and param.metavar is None:
                param.metavar = _argument_metavar(param)


def _argument_metavar(argument: click.Argument) -> str | None:
    """The argument's Chinese name as click would show its English one: [optional], repeated...; None (click's
    own) for an argument the table lacks."""
    name = ARGUMENT_NAMES.get(argument.name or "")
    if name is None:
        return None
    if not argument.required:
        name = f"[{name}]"
    return name if argument.nargs == 1 else f"{name}..."


class Group(click.Group):
    """A group whose usage line reads `用法：obligations [选项] 命令 [参数]...`; its commands and subgroups
    are declared as Command and Group."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("options_metavar", OPTIONS_METAVAR)
        kwargs.setdefault("subcommand_metavar", SUBCOMMAND_METAVAR)
        super().__init__(*args, **kwargs)


Group.group_class = Group
