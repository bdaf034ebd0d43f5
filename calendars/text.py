"""What text typed by a person outside the server may contain: identifiers and free text.

Organization codes and rule ids become parts of paths (a subtree is a path prefix, attachments live in a folder
per organization), of URLs and of calendar UIDs, so they are identifiers: ASCII letters, digits, `.`, `-` and
`_`, starting with a letter or a digit (so never `.` or `..`). Free text (names, places, topics, minutes) may
hold any printable character, but never a control character: ESC and BEL reach terminals, NUL breaks
PostgreSQL, and a line break inside a name splits an .ics line or a mail header. Multi-line fields (minutes,
notes) allow line breaks and tabs and nothing else below U+0020.

Both checks return a Chinese explanation, or None when the value is acceptable; callers attach the file, line
and field.
"""

from __future__ import annotations

import re
import unicodedata

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
IDENTIFIER_MAX = 100  # the width of every code column
IDENTIFIER_RULE = "只能由字母、数字和 . - _ 组成，且以字母或数字开头"
# The name of an environment variable that holds a secret (config.toml's *_env keys, the registry's
# wecom_robot_env): the name is stored and shown, the secret never. What is typed in its place is often the
# secret itself, so a wrong value is never repeated back.
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
ENV_NAME_MAX = 100
ENV_NAME_RULE = "应为环境变量名：只能由大写字母、数字和 _ 组成，且不以数字开头"

# Line and paragraph separators end a line in JavaScript, in some terminals and in .ics readers; the
# bidirectional overrides reorder what a reader sees (a name that displays as something else).
_INVISIBLE = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_MULTILINE_ALLOWED = frozenset("\n\t")
# Every character refused in typed text, as one class (category Cc is exactly U+0000–U+001F, U+007F–U+009F).
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f" + "".join(sorted(_INVISIBLE)) + "]")


def identifier_problem(value: str, *, max_length: int = IDENTIFIER_MAX) -> str | None:
    """Why `value` cannot be a code or an id, or None."""
    if not IDENTIFIER.fullmatch(value):
        return f"{value!r} {IDENTIFIER_RULE}"
    return length_problem(value, max_length)


def env_name_problem(value: str, *, max_length: int = ENV_NAME_MAX) -> str | None:
    """Why `value` cannot name an environment variable, or None; never quotes `value` (it may be a secret)."""
    if not ENV_NAME.fullmatch(value):
        return ENV_NAME_RULE
    if len(value) > max_length:
        return f"不能超过 {max_length} 个字符"
    return None


def control_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be stored as text a person reads, or None."""
    for found in _UNSHOWABLE.finditer(value):
        char = found.group()
        if not (multiline and char in _MULTILINE_ALLOWED):
            return f"含有不可见的控制字符 U+{ord(char):04X}（第 {found.start() + 1} 个字符），请删除后重试"
    return None


def length_problem(value: str, max_length: int) -> str | None:
    if len(value) > max_length:
        return f"不能超过 {max_length} 个字符（现为 {len(value)} 个）"
    return None


def shown(value: str) -> str:
    """`value` with each character `control_problem` refuses replaced by U+FFFD (�): for showing text stored
    before the checks (or by hand) on a terminal or in a single-line format, where it must not act."""
    return _UNSHOWABLE.sub("\ufffd", value)


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: wide and fullwidth characters (Chinese) take two (Unicode's East
    Asian Width, from the standard library's unicodedata: no dependency for one table lookup)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
