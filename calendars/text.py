"""What text typed by a person outside the server may contain: identifiers and free text.

Organization codes and rule ids become parts of paths (a subtree is a path prefix, attachments live in a folder
per organization), of URLs and of calendar UIDs, so they are identifiers: ASCII letters, digits, `.`, `-` and
`_`, starting with a letter or a digit (so never `.` or `..`). Free text (names, places, topics, minutes) may
hold any printable character, but never a control character: ESC and BEL reach terminals, NUL breaks
PostgreSQL, and a line break inside a name splits an .ics line or a mail header. Multi-line fields (minutes,
notes) allow line breaks and tabs and nothing else below U+0020.

Both checks return a Chinese explanation, or None when the value is acceptable; callers attach the file, line
and field.

A member's addresses are checked here once, for every way they come in (a registry file, config.toml) and for
every channel that uses them: `email_address` and `mobile_number` return the value as it is stored (or raise
ValueError with a Chinese explanation), `wecom_userid_problem` says why a value is no WeCom userid.

How such text takes room on a terminal is here too: `display_width` (a Chinese character takes two columns)
and `wrap`, which breaks a line of prose where Chinese text may break (obligations/render.py decides the width;
the command line's help breaks at the same places, obligations/cli/messages.py).
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
# A group robot's key is named by the registry, which comes from branch secretaries' files: the variable must be
# one set aside for robot keys, else a registry could have any secret of the server (the SMTP password, the
# WeCom secret, the database URL) sent to the WeCom endpoint as a robot key.
ROBOT_ENV_PREFIX = "OBLIGATIONS_ROBOT_"
ROBOT_ENV_RULE = f"应为以 {ROBOT_ENV_PREFIX} 开头的环境变量名，群机器人 key 只能取自这类专用变量"

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


def robot_env_problem(value: str, *, max_length: int = ENV_NAME_MAX) -> str | None:
    """Why `value` cannot name the variable of a group robot's key, or None; never quotes `value`."""
    problem = env_name_problem(value, max_length=max_length)
    if problem is None and (not value.startswith(ROBOT_ENV_PREFIX) or value == ROBOT_ENV_PREFIX):
        return ROBOT_ENV_RULE
    return problem


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


# WeCom's rule for a member's userid (成员UserID, developer.work.weixin.qq.com/document/path/90195): 1–64 bytes of
# digits, letters and `_ - @ .`, the first a digit or a letter (WeCom compares userids ignoring case). Only such
# a value is sent as an application message's `touser` (where `|` would add recipients) or mentioned as
# `<@userid>` in a robot's summary (where `>` would close the mention and open markup).
WECOM_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
WECOM_USERID_RULE = "userid 只能由字母、数字和 _ - @ . 组成，以字母或数字开头，不超过 64 个字符"

# A mainland mobile number (手机号码): 11 digits, 13x–19x. Written forms people use are accepted and stored as
# the 11 digits: a +86, 0086 or 86 prefix, spaces or hyphens between groups, full-width digits.
MOBILE = re.compile(r"1[3-9][0-9]{9}")
MOBILE_RULE = "应为 11 位手机号码，以 13–19 开头（可带 +86 前缀，可用空格或连字符分隔）"
_MOBILE_SEPARATORS = re.compile(r"[\s\-()]")
_MOBILE_PREFIX = re.compile(r"(?:\+|00)?86(?=[0-9]{11}$)")
# Digits, possibly grouped by spaces or hyphens, possibly after +86: a mobile number hidden in a longer text.
_DIGIT_RUN = re.compile(r"\+?[0-9](?:[0-9]|[\s-](?=[0-9]))*")

EMAIL_RULE = "应为邮件地址，如 zhangsan@example.org"


def wecom_userid_problem(value: str) -> str | None:
    """Why `value` cannot be a WeCom userid, or None."""
    if WECOM_USERID.fullmatch(value):
        return None
    shown_value = repr(value) if control_problem(value) is None and not contains_mobile(value) else "该值"
    return f"{shown_value} 不是有效的企业微信账号：{WECOM_USERID_RULE}"


def mobile_number(value: str) -> str:
    """The mobile number written in `value`, as its 11 digits; ValueError (in Chinese) when it is none.

    The value is never repeated back: a wrong number is still somebody's personal data."""
    written = _MOBILE_SEPARATORS.sub("", unicodedata.normalize("NFKC", value))
    digits = _MOBILE_PREFIX.sub("", written, count=1)
    if MOBILE.fullmatch(digits):
        return digits
    found = sum(char.isdigit() for char in digits)
    shape = f"现为 {found} 位数字" if digits.isdigit() else "含有数字以外的字符"
    raise ValueError(f"{MOBILE_RULE}；{shape}")


def contains_mobile(value: str) -> bool:
    """Whether `value` holds a mobile number, written in any form `mobile_number` accepts, as a whole run of
    digits (an id such as `m13800000001`, `+86 138 0000 0001`; not a longer number that merely contains 11
    digits)."""
    normalized = unicodedata.normalize("NFKC", value)
    for found in _DIGIT_RUN.finditer(normalized):
        try:
            mobile_number(found.group())
        except ValueError:
            continue
        return True
    return False


def email_address(value: str) -> str:
    """The email address `value`, as stored: its domain in lower case and in ASCII (an internationalized domain
    as punycode, which every relay accepts); ValueError (in Chinese) when it is none.

    The part before the @ must be ASCII: an internationalized one needs SMTPUTF8 of every relay on the way,
    which the mail channel does not assume (notifiers/email.py), and a Chinese character there is far more
    often a typing slip than an address. The domain is not looked up: no DNS (the server may have no
    network, and a check at import must not depend on one)."""
    import email_validator  # a few milliseconds of regular expressions, paid only when addresses are checked

    text = value.strip()
    try:
        checked = email_validator.validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as error:
        raise ValueError(_email_reason(text, str(error))) from None
    assert checked.ascii_email is not None  # allow_smtputf8=False: the address is ASCII
    return checked.ascii_email


def _email_reason(text: str, english: str) -> str:
    """Why `text` is no email address, in Chinese (email-validator explains in English)."""
    shown_text = repr(text) if control_problem(text) is None and not contains_mobile(text) else "该值"
    if "＠" in text:
        why = "用了全角的“＠”，应为半角的“@”"
    elif "@" not in text:
        why = "缺少“@”"
    elif text.count("@") > 1:
        why = "含有多个“@”"
    elif "before the @-sign are not supported" in english:
        why = "“@”前面只能用英文字母、数字和 . _ - + 等符号（发信服务器多不支持中文邮箱名）"
    elif "after the @-sign" in english or "domain" in english.lower():
        why = "“@”后面的域名无效"
    else:
        why = "格式不对"
    return f"{shown_text} 不是有效的邮件地址：{why}；{EMAIL_RULE}"


def display_width(text: str) -> int:
    """Columns `text` takes on a terminal: wide and fullwidth characters (Chinese) take two (Unicode's East
    Asian Width, from the standard library's unicodedata: no dependency for one table lookup)."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


# Line breaking for prose on a terminal (a small part of Unicode's line breaking, UAX #14, as Chinese text is
# set): a line may break at a space or beside a wide character, never inside a run of narrow characters (an
# ASCII word, an identifier, a number, a URL), never before closing punctuation and never after opening
# punctuation (禁则).
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉〗”’…‥·％,.;:?!)]}%")
_NO_LINE_END = frozenset("（《「『【〔〈〖“‘([{")
# Where a line's continuation lines start: under the text after a list marker ("■ ", "- ", "3. ") or a short
# label ("依据：", "提醒       " in a column of labels), else under the line's first character.
_MARKER = re.compile(r"(?:[■□●○•·*-]|[0-9]{1,3}[.、]|[一二三四五六七八九十]{1,3}、) ")
_LABEL = re.compile(r"[^\s：]{1,7}：|\S{1,10} {2,}")
_LABEL_MAX = 16  # display columns: a longer label is a sentence, and its continuation starts under the line


def hanging_indent(line: str) -> int:
    """The display column where the continuation lines of `line` start when it is wrapped."""
    indent = len(line) - len(line.lstrip(" "))
    rest = line[indent:]
    marker = _MARKER.match(rest)
    if marker is not None:
        return indent + display_width(marker.group())
    label = _LABEL.match(rest)
    if label is not None and display_width(label.group()) <= _LABEL_MAX:
        return indent + display_width(label.group())
    return indent


def wrap(line: str, width: int) -> list[str]:
    """`line` (one line of prose) as lines of at most `width` display columns, its continuation lines indented
    by hanging_indent; a word wider than a whole line is never cut, it overflows on a line of its own."""
    if display_width(line) <= width:
        return [line]
    indent = len(line) - len(line.lstrip(" "))
    hang = hanging_indent(line)
    if width - hang < width // 2:  # a hang that would leave a narrow column: continue under the line instead
        hang = indent if width - indent >= width // 2 else 0
    lines: list[str] = []
    current, used = line[:indent], indent
    fresh = True  # nothing but the indent on the current line yet
    for gap, piece in line_pieces(line[indent:]):
        size, spacing = display_width(piece), display_width(gap)
        if not fresh and used + spacing + size > width:
            lines.append(current)
            current, used, fresh = " " * hang, hang, True
        if not fresh:
            current, used = current + gap, used + spacing
        current, used, fresh = current + piece, used + size, False
    lines.append(current)
    return lines


def line_pieces(text: str) -> list[tuple[str, str]]:
    """`text` cut where a line may break: (the spaces before, the piece) in order. A piece is a wide character
    or a run of narrow ones, with the punctuation that may not be parted from it."""
    units: list[tuple[str, str]] = []
    gap, word = "", ""
    for char in text:
        if char.isspace() or display_width(char) == 2:
            if word:
                units.append((gap, word))
                gap, word = "", ""
            if char.isspace():
                gap += char
            else:
                units.append((gap, char))
                gap = ""
        else:
            word += char
    if word:
        units.append((gap, word))
    pieces: list[tuple[str, str]] = []
    for gap, unit in units:
        if pieces and not gap and (unit[0] in _NO_LINE_START or pieces[-1][1][-1] in _NO_LINE_END):
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + unit)
        else:
            pieces.append((gap, unit))
    return pieces
