"""Tables, JSON and CSV for the terminal; column widths that respect double-width Chinese characters.

What is written here comes from the store, where names, topics and places were typed by people outside the
server: nothing written may act on the screen or the program that shows it.

- Tables fit the terminal when standard output is one (`terminal_width`): the columns marked `FreeText` where
  a table's columns are defined are cut with … as needed, never an id, a status or a date; a pipe or a file
  gets whole rows.
- Prose (`prose`, and the lines of a `Page`) is wrapped to the same width, by display width, where Chinese
  text may break (calendars.text.wrap): never inside an ASCII word, an identifier, a number or a URL, with its
  continuation lines under the text after a list marker or a label; a pipe or a file gets whole lines.
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
import itertools
import json
import shutil
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TextIO

from calendars import instants
from calendars.text import display_width, shown, wrap

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


def _fit(text: str, width: int) -> str:
    """Cut `text` to `width` display columns, marking the cut with …."""
    if display_width(text) <= width:
        return text
    out, used = "", 0
    for char in text:
        used += display_width(char)
        if used > width - 1:
            break
        out += char
    return out + "…"


@dataclass(frozen=True)
class FreeText:
    """A table column of free text (a name, a title, a topic, an address, an error): on a terminal too narrow
    for the whole table its cells, and if need be its header, are cut with …. Columns given as plain headers
    (ids, statuses, dates, counts) are never cut."""

    header: str


NARROWEST = (
    4  # display columns a free-text column keeps however narrow the terminal: one Chinese character and …
)

TERMINAL: Final = "terminal"


def terminal_width(stream: TextIO | None = None) -> int | None:
    """The columns text for `stream` (standard output by default) may take: the terminal's when the stream is
    one (COLUMNS first, as shutil reads it); None, no limit, when it is a pipe or a file, so that scripts,
    logs and spreadsheets get whole rows."""
    return shutil.get_terminal_size().columns if (stream or sys.stdout).isatty() else None


def width_of(width: int | Literal["terminal"] | None, stream: TextIO | None = None) -> int | None:
    """The limit a `width` argument stands for: TERMINAL is terminal_width(stream), a number or None itself."""
    return terminal_width(stream) if width == TERMINAL else width


def prose(
    text: str, *, width: int | Literal["terminal"] | None = TERMINAL, stream: TextIO | None = None
) -> str:
    """`text` with each of its lines wrapped to `width` display columns (by default the terminal's of `stream`,
    standard output unless named: see terminal_width; None leaves it whole), by calendars.text.wrap."""
    limit = width_of(width, stream)
    if limit is None:
        return text
    return "\n".join(part for line in text.split("\n") for part in wrap(line, limit))


class Page:
    """Text for a person made of prose and tables, laid out for one width (by default the terminal's): its
    prose lines are wrapped (prose), its tables fit (table)."""

    def __init__(self, *, width: int | Literal["terminal"] | None = TERMINAL) -> None:
        self.width = width_of(width)
        self.lines: list[str] = []

    def add(self, *lines: str) -> None:
        """Lines of prose, each wrapped to the page's width."""
        self.lines.extend(prose(line, width=self.width) for line in lines)

    def table(self, headers: Sequence[str | FreeText], rows: Sequence[Sequence[str]]) -> None:
        self.lines.append(table(headers, rows, width=self.width))

    def text(self) -> str:
        return "\n".join(self.lines)


def table(
    headers: Sequence[str | FreeText],
    rows: Sequence[Sequence[str]],
    *,
    width: int | Literal["terminal"] | None = TERMINAL,
) -> str:
    """A plain-text table at most `width` display columns wide (by default the terminal's, see terminal_width):
    when the whole rows are wider, the widest free-text column is narrowed first, one column at a time, down
    to NARROWEST; the other columns are shown whole."""
    limit = width_of(width)
    titles = [header.header if isinstance(header, FreeText) else header for header in headers]
    free = [isinstance(header, FreeText) for header in headers]
    cells = [[shown(str(cell)) for cell in row] for row in rows]
    widths = [display_width(title) for title in titles]
    for row in cells:
        for index, cell in enumerate(row):
            widths[index] = max(widths[index], display_width(cell))
    if limit is not None:
        widths = _narrowed(widths, free, limit - 2 * (len(widths) - 1))

    def line(values: Sequence[str]) -> str:
        fitted = [_fit(value, widths[i]) for i, value in enumerate(values)]
        return "  ".join(
            value + " " * (widths[i] - display_width(value)) for i, value in enumerate(fitted)
        ).rstrip()

    out = [line(titles), "  ".join("─" * width for width in widths)]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _narrowed(widths: list[int], free: list[bool], room: int) -> list[int]:
    """`widths` with the widest free-text column narrowed, one column at a time, until they fit in `room`."""
    widths = list(widths)
    while sum(widths) > room:
        narrowable = [i for i, width in enumerate(widths) if free[i] and width > NARROWEST]
        if not narrowable:
            break  # nothing left to narrow: the row is wider than the terminal
        widest = max(narrowable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def as_json(records: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(records), ensure_ascii=False, indent=2, default=str)


def as_csv(headers: Sequence[str], records: Sequence[Mapping[str, Any]]) -> str:
    buffer = io.StringIO()
    write_csv(buffer, headers, _by_headers(headers, records))
    return buffer.getvalue()


def stream_json(records: Iterable[Mapping[str, Any]]) -> None:
    """A JSON list written record by record, so that a city-wide list need not be held in memory.

    The first record is produced before the opening bracket: a query that fails before its first row (an
    unknown organization, a database that cannot be read) leaves nothing on standard output."""
    rows = _started(records)
    out: TextIO = sys.stdout
    out.write("[")
    written = False
    for record in rows:
        out.write(",\n  " if written else "\n  ")
        out.write(json.dumps(record, ensure_ascii=False, default=str))
        written = True
    out.write("\n]\n" if written else "]\n")
    out.flush()


def stream_csv(headers: Sequence[str], records: Iterable[Mapping[str, Any]]) -> None:
    """CSV written row by row; like stream_json, nothing (not even the header) before the first row is produced."""
    write_csv(sys.stdout, headers, _by_headers(headers, _started(records)))
    sys.stdout.flush()


def _started(records: Iterable[Mapping[str, Any]]) -> Iterator[Mapping[str, Any]]:
    """`records` with the first one already produced, so that its failure comes before any output."""
    rows = iter(records)
    first = next(rows, None)
    return iter(()) if first is None else itertools.chain((first,), rows)


def _by_headers(headers: Sequence[str], records: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
    return ([record.get(key, "") for key in headers] for record in records)


def minute_text(value: dt.datetime | None) -> str:
    """A stored instant as a person reads it: Beijing time to the minute (2026-11-23 09:00); "" for none."""
    from obligations.db import aware  # here: the terminal helpers above load nothing of the database

    return "" if value is None else aware(value).astimezone(instants.PARTY_TIME).strftime("%Y-%m-%d %H:%M")
