"""Tables, JSON and CSV for the terminal; column widths that respect double-width Chinese characters.

What is written here comes from the store, where names, topics and places were typed by people outside the
server: nothing written may act on the screen or the program that shows it.

- Tables replace control characters (ESC, BEL, NUL, line breaks…) and invisible direction marks with `�`
  (calendars.text.shown), so that a name stored with an escape sequence cannot drive the terminal or break
  the table's lines.
- Every CSV the program writes goes through `write_csv` (OWASP CSV injection): a text cell that begins with
  `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`, so that a spreadsheet shows it instead of
  evaluating it as a formula. Numbers stay numbers — `days_left` of -3 is written `-3` — since a value typed
  as a number in the program can hold no formula; only text is prefixed. JSON is written unchanged.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

from calendars import instants
from calendars.text import shown
from obligations.db import aware

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet shows and never evaluates: text starting like a formula gets a leading '.

    A carriage return is written as a line feed: Python's csv quotes a cell holding a character of the line
    end it writes, and a bare CR in a cell of a file whose lines end in LF would go out unquoted and split
    the row for every reader."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def write_csv(
    out: TextIO, headers: Sequence[str], rows: Iterable[Sequence[object]], *, line_end: str = "\n"
) -> None:
    """The one way CSV is written: a header row, then each row with its cells made safe by csv_cell."""
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(headers)
    writer.writerows([csv_cell(value) for value in row] for row in rows)


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
        [_fit(shown(str(cell)), limits[i]) if i in limits else shown(str(cell)) for i, cell in enumerate(row)]
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
    write_csv(buffer, headers, _by_headers(headers, records))
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
    write_csv(sys.stdout, headers, _by_headers(headers, records))
    sys.stdout.flush()


def _by_headers(headers: Sequence[str], records: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
    return ([record.get(key, "") for key in headers] for record in records)


def minute_text(value: dt.datetime | None) -> str:
    """A stored instant as a person reads it: Beijing time to the minute (2026-11-23 09:00); "" for none."""
    return "" if value is None else aware(value).astimezone(instants.PARTY_TIME).strftime("%Y-%m-%d %H:%M")
