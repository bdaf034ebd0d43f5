"""Problems found in a data file (a profile, a checklist), reported all at once, in Chinese."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


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
