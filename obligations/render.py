"""Tables, JSON and CSV for the terminal; column widths that respect double-width Chinese characters."""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO


def display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _fit(text: str, width: int) -> str:
    """Cut `text` to `width` display columns, marking the cut with …."""
    if display_width(text) <= width:
        return text
    out = ""
    for char in text:
        if display_width(out + char) > width - 1:
            break
        out += char
    return out + "…"


def table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], *, max_width: Mapping[int, int] | None = None
) -> str:
    """A plain-text table; `max_width` caps chosen columns (by index), cutting long cells with …."""
    limits = dict(max_width or {})
    cells = [
        [_fit(str(cell), limits[i]) if i in limits else str(cell) for i, cell in enumerate(row)]
        for row in rows
    ]
    widths = [display_width(header) for header in headers]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], display_width(cell))

    def line(values: Sequence[str]) -> str:
        padded = [value + " " * (widths[i] - display_width(value)) for i, value in enumerate(values)]
        return "  ".join(padded).rstrip()

    out = [line(headers), "  ".join("─" * width for width in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def as_json(records: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2, default=str)


def as_csv(headers: Sequence[str], records: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(headers), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: record.get(key, "") for key in headers})
    return buffer.getvalue()


def stream_json(records: Iterable[Mapping[str, Any]]) -> None:
    """A JSON list written record by record, so that a city-wide list need not be held in memory."""
    out: TextIO = sys.stdout
    out.write("[")
    written = False
    for record in records:
        out.write(",\n  " if written else "\n  ")
        out.write(json.dumps(record, ensure_ascii=False, default=str))
        written = True
    out.write("\n]\n" if written else "]\n")
    out.flush()


def stream_csv(headers: Sequence[str], records: Iterable[Mapping[str, Any]]) -> None:
    out: TextIO = sys.stdout
    writer = csv.DictWriter(out, fieldnames=list(headers), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: record.get(key, "") for key in headers})
    out.flush()
