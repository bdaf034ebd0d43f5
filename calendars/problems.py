"""Problems found in a data file (a profile, a checklist), reported all at once, in Chinese, and the field
converters both loaders share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from calendars.model import OrgKind

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True)
class Problem:
    file: str
    message: str
    where: str | None = None  # 规则 general-meeting, [[item]] general-meeting, [checklist] …
    field: str | None = None

    def __str__(self) -> str:
        text = self.file
        if self.where:
            text += f"：{self.where}"
        if self.field:
            text += f" 字段 {self.field}"
        return f"{text}：{self.message}"


class ProblemsError(ValueError):
    """Every problem of a set of files; `what` names the kind of file (职责日历, 考核细则)."""

    what = "文件"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(dict.fromkeys(problems))  # the same problem reached twice is told once
        lines = [f"{self.what}有 {len(self.problems)} 处错误："] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------------------------------------------
# Field converters: each returns the typed value or raises ValueError with a Chinese explanation.


def convert_fields(
    raw: Any,
    spec: Mapping[str, Callable[[Any], Any]],
    file: str,
    where: str,
    problems: list[Problem],
) -> dict[str, Any]:
    """Convert each field of a table by `spec`, reporting unknown and malformed ones; returns the fields that
    converted."""
    if not isinstance(raw, Mapping):
        problems.append(Problem(file, "应为表", where))
        return {}
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        converter = spec.get(name)
        if converter is None:
            problems.append(Problem(file, f"未知的字段，可用：{', '.join(spec)}", where, name))
            continue
        try:
            fields[name] = converter(value)
        except ValueError as error:
            problems.append(Problem(file, str(error), where, name))
    return fields


def enum_value(enum: type[E], what: str) -> Callable[[Any], E]:
    def convert(value: Any) -> E:
        try:
            return enum(value)
        except ValueError:
            choices = "、".join(member.value for member in enum)
            raise ValueError(f"未知的{what} {value!r}，可选：{choices}") from None

    return convert


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("应为非空字符串")
    return value.strip()


def optional_text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("应为字符串")
    return value.strip()


def kinds(value: Any) -> frozenset[OrgKind]:
    if not isinstance(value, list) or not value:
        raise ValueError('应为非空列表，如 ["branch"]')
    return frozenset(enum_value(OrgKind, "组织类型")(item) for item in value)
