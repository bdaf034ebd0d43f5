"""Reading TOML files with errors a party worker can act on: the file, the line, the column, in Chinese."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

_POSITION = re.compile(r"^(?P<message>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$")
_MESSAGES = {
    "Invalid value": "无效的值",
    "Invalid statement": "无效的语句",
    "Expected '=' after a key in a key/value pair": "键后面缺少等号 =",
    "Cannot overwrite a value": "重复定义了同一个键",
    "Cannot declare": "重复声明了同一个表",
    "Unclosed array": "数组缺少右方括号 ]",
    "Unterminated string": "字符串缺少结束引号",
    "Expected newline or end of document after a statement": "一行只能写一个键值对",
    "Invalid date or datetime": "无效的日期",
}


# Windows editors (Notepad) save UTF-8 with a byte-order mark; TOML forbids it, people cannot see it.
ENCODING = "utf-8-sig"


class TomlFileError(ValueError):
    def __init__(self, path: Path, detail: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}：{detail}")


def describe(error: tomllib.TOMLDecodeError) -> tuple[str, int | None]:
    """A Chinese description of a TOML syntax error, and its line number when known."""
    text = str(error)
    match = _POSITION.match(text)
    if not match:
        return f"TOML 语法错误：{text}", None
    original = match.group("message")
    translated = next((zh for en, zh in _MESSAGES.items() if original.startswith(en)), original)
    line = int(match.group("line"))
    return f"TOML 语法错误：第 {line} 行第 {match.group('column')} 列：{translated}", line


def read(path: Path) -> dict[str, Any]:
    """The parsed file; TomlFileError names the file, line and column of any problem."""
    try:
        text = path.read_text(encoding=ENCODING)
    except UnicodeDecodeError as error:
        raise TomlFileError(path, f"不是 UTF-8 编码的文本（第 {error.start} 字节）") from None
    except OSError as error:
        raise TomlFileError(path, f"无法读取：{error.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        detail, line = describe(error)
        raise TomlFileError(path, detail, line) from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise TomlFileError(path, "TOML 语法错误：数组或表嵌套的层数太多") from None
