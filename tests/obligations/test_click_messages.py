"""click's own messages in Chinese: every message of the installed click has a translation (a click upgrade
that adds one fails here), and real processes show usage errors and help in Chinese, with exit status 2."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import click
import click.types
import pytest

import obligations.cli  # noqa: F401  (installs the translations, as the command line does)
from obligations.cli import messages
from tests.obligations.terminal import piped

CLICK = Path(click.__file__).parent
# `_()` calls whose text is not written at the call: click.core passes the help extra "required" through
# `_(extra["required"])`. A new one needs a look (and its texts added to the table).
COMPUTED = {"extra['required']": "required"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: a command line that cannot be parsed never reaches the database."""
    return f"sqlite:///{tmp_path / 'obligations.db'}"


def _calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(CLICK.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "ngettext")
            ):
                found.append((path.name, node))
    return found


def _msgids() -> set[str]:
    found = set()
    for _, call in _calls():
        texts = call.args[:1] if call.func.id == "_" else call.args[:2]  # type: ignore[attr-defined]
        found.update(
            arg.value for arg in texts if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
        )
    return found


def test_every_message_of_the_installed_click_has_a_chinese_translation() -> None:
    msgids = _msgids()

    assert len(msgids) > 60  # the scan found click's messages
    missing = sorted(msgids - messages.MESSAGES.keys())
    assert not missing, (
        f"click {CLICK} has messages without a translation in obligations/cli/messages.py: {missing}"
    )


def test_click_translates_no_computed_text_the_table_does_not_know() -> None:
    computed = {
        ast.unparse(call.args[0])
        for _, call in _calls()
        if call.func.id == "_" and not isinstance(call.args[0], ast.Constant)  # type: ignore[attr-defined]
    }
    assert computed == set(COMPUTED)
    assert all(text in messages.MESSAGES for text in COMPUTED.values())


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"\{[^{}]*\}|%\([a-z]+\)s", text))


def test_translations_keep_every_placeholder_and_are_chinese() -> None:
    for msgid, translation in messages.MESSAGES.items():
        assert _placeholders(translation) == _placeholders(msgid), msgid
        assert re.search(r"[\u4e00-\u9fff]", translation), msgid


def test_every_click_module_that_translates_is_given_the_table() -> None:
    translating = {
        f"click.{path.stem}"
        for path in CLICK.glob("*.py")
        if "from gettext import" in path.read_text("utf-8") and path.stem != "_winconsole"  # Windows only
    }
    assert translating == set(messages.CLICK_MODULES)
    for name in messages.CLICK_MODULES:
        module = __import__(name, fromlist=["_"])
        assert getattr(module, "_", messages.translate) is messages.translate, name
        assert getattr(module, "ngettext", messages.translate_plural) is messages.translate_plural, name


def test_every_named_click_type_has_a_chinese_name() -> None:
    named = {
        kind
        for kind in vars(click.types).values()
        if isinstance(kind, type)
        and issubclass(kind, click.ParamType)
        and isinstance(kind.__dict__.get("name"), str)
    }
    assert named <= messages.TYPE_NAMES.keys(), named - messages.TYPE_NAMES.keys()
    assert all(not re.search("[a-z]", kind.name) for kind in named)


USAGE_ERRORS = [
    (("due", "--nope"), "obligations due", "错误：没有选项 '--nope'。"),
    (("dueue",), "obligations", "错误：没有命令 'dueue'。"),
    (("import",), "obligations import", "错误：缺少参数 '文件'."),
    (("request", "approve", "3"), "obligations request approve", "错误：缺少选项 '--approved-by'."),
    (("due", "--format", "xml"), "obligations due", "错误：'--format' 的值无效：'xml' 不在可选值 'table', 'json', 'csv' 之中。"),
    (("due", "--within", "x"), "obligations due", "错误：'--within' 的值无效：'x' 不是有效的整数。"),
    (("due", "--within", "-1"), "obligations due", "错误：'--within' 的值无效：-1 不在范围 x>=0 之内。"),
    (("org", "list", "extra"), "obligations org list", "错误：多出了参数（extra）"),
    (("due", "--org"), None, "错误：选项 '--org' 需要一个值。"),  # click shows no usage for this one
]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "program", "message"), USAGE_ERRORS, ids=[" ".join(args) for args, _, _ in USAGE_ERRORS]
)
def test_a_usage_error_is_chinese_with_the_usage_and_exit_status_2(
    workspace: tuple[Path, str], args: tuple[str, ...], program: str | None, message: str
) -> None:
    result = piped(workspace, *args)

    assert result.returncode == 2
    assert result.stdout == b""
    shown = result.stderr.decode()
    if program is not None:
        assert shown.startswith(f"用法: {program} [选项]")
        assert shown.splitlines()[1] == f"运行 '{program} --help' 查看帮助。"
    assert message in shown
    # No English left besides what the person typed and the names of the options ('--org'): arguments are named
    # in Chinese (文件, not FILE).
    words = re.sub(r"'[^']*'|--?[a-z-]+|\bobligations\b|\bx\b", "", shown)
    for typed in args:
        words = words.replace(typed, "")
    assert not re.search("[A-Za-z]", words), shown


def test_an_unknown_command_suggests_the_close_ones_in_chinese(workspace: tuple[Path, str]) -> None:
    result = piped(workspace, "dueX")
    assert result.returncode == 2
    assert result.stderr.decode().endswith("错误：没有命令 'dueX'。 （您是不是要找：'due', 'dues'？）\n")


def test_help_is_chinese(workspace: tuple[Path, str]) -> None:
    top = piped(workspace, "--help")
    due = piped(workspace, "due", "--help")

    assert top.returncode == 0 and due.returncode == 0
    text = top.stdout.decode()
    assert text.startswith("用法: obligations [选项] 命令 [参数]...")
    assert (
        "\n选项:\n" in text
        and "\n命令:\n" in text
        and "显示本帮助并退出。" in text
        and "显示版本并退出。" in text
    )
    due_text = due.stdout.decode()
    assert "--within 整数" in due_text and "[默认：30; x>=0]" in due_text and "[默认：table]" in due_text
    for english in ("Usage", "Options", "Commands", "Show this message", "default:", "INTEGER", "TEXT"):
        assert english not in text + due_text
    assert piped(workspace, "--version").stdout.decode().startswith("obligations，版本 ")
