"""A message longer than its channel carries becomes numbered parts (1/3, 2/3, …), never a cut message.

Pure: no channel, no database. A template marks where each block of its message starts, with the marks in
`MARKS` (templates see them as `mark.section`, `mark.item`, `mark.note`, `mark.number`); `blocks()` cuts a
rendered message on them, and no mark ever reaches a message that is sent:

- the head, before the first mark: the title line and the greeting. Part 1 carries it whole; every other part
  opens with its title line — the line holding `mark.number`, else the first — and the part's number;
- `mark.section` starts a section's heading, repeated at the top of a part that starts inside the section, so
  that each part reads on its own;
- `mark.item` starts one item of the current section, and `mark.note` a block outside any section (a note,
  the footer). A part holds whole blocks, cut only between them;
- `mark.number` is where the part's number goes in the title line: "（2/3）", or nothing when the message is
  one part (without it the number ends the title line).

Each block must close its own tags. A block larger than a whole part (a very long item) is cut between its
lines, every open `<font>` closed at the cut and opened again after it; as a last resort a line is cut between
two characters — never inside a tag, a link or a UTF-8 character — and the cut is marked with "…" on both
sides. A template without marks is one head block, cut so.

`split()` packs one message's formats together (a digest's text and its markdown, aligned block by block):
part k of every format holds the same blocks, each format within its own limit, so that whichever body a
channel sends, part k says the same. Formats whose blocks do not align (user templates that mark them
differently) are each taken as one block. `whole()` is the message in one piece, for a channel without a limit.

    text = Format(blocks(rendered_text), limit=2048)
    markdown = Format(blocks(rendered_markdown), limit=2048, markup=True)
    for text_part, markdown_part in split([text, markdown]):
        send(markdown_part.text)  # "## 党建工作提醒（1/3）…", each ≤ 2048 bytes, tags closed
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

HEAD, SECTION, ITEM, NOTE = "head", "section", "item", "note"
NUMBER = "number"
# Control characters that no stored text holds (calendars/text.py) and str.strip() keeps (unlike \x1c-\x1f).
MARKS = {kind: f"\x02{kind}\x03" for kind in (SECTION, ITEM, NOTE, NUMBER)}
_NUMBER = MARKS[NUMBER]
_BLOCK_MARK = re.compile("\x02(section|item|note)\x03")
_ANY_MARK = re.compile("\x02(?:section|item|note|number)\x03")
SEPARATOR = "\n\n"  # between the blocks of a part
CUT = "…"  # where a line was cut between two characters
MIN_LIMIT = 256  # below this, a part could not hold a title, a heading, open tags and some text

# WeCom markdown: what is never cut inside (tags, <@userid> mentions, links, `code`), and what is balanced.
_ATOM = re.compile(r"<[^<>\n]*>|\[[^\]\n]*\]\([^)\n]*\)|`[^`\n]*`|\*\*|.", re.DOTALL)
_FONT_OPEN = re.compile(r"<font\b[^<>]*>", re.IGNORECASE)
_FONT_CLOSE = "</font>"
_FONT_TAG = re.compile(r"<font\b[^<>]*>|</font>", re.IGNORECASE)


@dataclass(frozen=True)
class Block:
    kind: str  # HEAD | SECTION | ITEM | NOTE
    text: str  # no leading or trailing blank line; may hold the number mark (the head's title line)


@dataclass(frozen=True)
class Format:
    blocks: tuple[Block, ...]
    limit: int | None  # the largest part in UTF-8 bytes; None: no limit
    markup: bool = False  # WeCom markdown: <font> tags are closed at every cut, and never cut inside


@dataclass(frozen=True)
class Piece:
    block: int  # index into the format's blocks (into the one block, for formats taken whole)
    raw: str  # the exact text of that block this part carries: a block's pieces, in order, join to its text


@dataclass(frozen=True)
class Part:
    number: int
    count: int
    text: str  # the part as sent, with its number and no mark
    pieces: tuple[
        Piece, ...
    ]  # what of the blocks it carries (the repeated title and section heading are not)


def blocks(rendered: str) -> tuple[Block, ...]:
    """A rendered message cut on its block marks: the head first (perhaps empty), then one block per mark,
    each stripped of surrounding blank lines. A block left empty (a mark before an `if` that was false) is
    kept, taking no room: so the text and the markdown of a digest align mark for mark, whatever each says."""
    found: list[Block] = []
    kind, start = HEAD, 0
    for match in _BLOCK_MARK.finditer(rendered):
        _add(found, kind, rendered[start : match.start()])
        kind, start = match.group(1), match.end()
    _add(found, kind, rendered[start:])
    return tuple(found)


def _add(found: list[Block], kind: str, text: str) -> None:
    text = text.strip("\n")
    found.append(Block(kind, text if text.strip() else ""))


def whole(blocks: Sequence[Block]) -> str:
    """The message in one piece, without marks: what a channel without a limit sends."""
    return unmarked(SEPARATOR.join(block.text for block in blocks if block.text))


def unmarked(text: str) -> str:
    """`text` without any mark (for the parts of a message that are never split: a subject, an HTML body)."""
    return _ANY_MARK.sub("", text)


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def split(formats: Sequence[Format]) -> list[tuple[Part, ...]]:
    """The parts of a message, each a tuple of one Part per format (in the order given). One part, the message
    whole and unnumbered, when every format fits its limit. Raises ValueError for a limit below MIN_LIMIT."""
    if not formats:
        return []
    for found in formats:
        if found.limit is not None and found.limit < MIN_LIMIT:
            raise ValueError(f"a part must be allowed at least {MIN_LIMIT} bytes")
    if len({tuple(block.kind for block in found.blocks) for found in formats}) > 1:
        formats = [
            Format((Block(HEAD, whole(found.blocks)),), found.limit, found.markup) for found in formats
        ]
    if all(found.limit is None or size(whole(found.blocks)) <= found.limit for found in formats):
        return [tuple(Part(1, 1, whole(found.blocks), _pieces(found.blocks)) for found in formats)]
    digits = 1
    while True:  # the number's width counts in each part's size: pack again when the count needs more digits
        widest = "（{0}/{0}）".format("9" * digits)
        layouts = [_Layout(found, widest, column) for column, found in enumerate(formats)]
        packed = _pack(layouts)
        if len(packed) < 10**digits:
            break
        digits += 1
    count = len(packed)
    return [
        tuple(layout.part(number, count, units) for layout in layouts)
        for number, units in enumerate(packed, start=1)
    ]


def _pieces(found: Sequence[Block]) -> tuple[Piece, ...]:
    return tuple(Piece(index, block.text) for index, block in enumerate(found) if block.text)


@dataclass(frozen=True)
class _Unit:
    """A block, or a fragment of one too large for a part: per format, its raw text and its text as sent."""

    block: int
    raw: tuple[str, ...]
    text: tuple[str, ...]
    fragment: bool = False


class _Layout:
    """One format's blocks (a head first), title line and repeatable section headings, measured with part
    numbers as wide as `widest`; `column` is the format's place in the units."""

    def __init__(self, found: Format, widest: str, column: int) -> None:
        self.limit = found.limit
        self.markup = found.markup
        self.widest = widest
        self.column = column
        given = found.blocks
        # Blocks that do not start with a head get an empty one, which is not one of the caller's blocks.
        self.shift = 0 if given and given[0].kind == HEAD else 1
        head = given[0].text if not self.shift else ""
        self.numbered = _NUMBER not in head  # the number mark is added here: not in the pieces carried
        if self.numbered:
            first, newline, rest = head.partition("\n")
            head = f"{first}{_NUMBER}{newline}{rest}"
        self.blocks = (Block(HEAD, head), *given[1 - self.shift :])
        quarter = (self.limit or 0) // 4
        title = next(line for line in head.split("\n") if _NUMBER in line)
        self.title = title if self.limit is None or self.measure(title) <= quarter else _NUMBER
        self.section_of: list[int | None] = []
        current: int | None = None
        for index, block in enumerate(self.blocks):
            current = index if block.kind == SECTION else current if block.kind == ITEM else None
            self.section_of.append(current)
        self.heading = {
            index: block.text
            for index, block in enumerate(self.blocks)
            if block.kind == SECTION and (self.limit is None or self.measure(block.text) <= quarter)
        }

    def measure(self, text: str) -> int:
        """Bytes of `text` once its number marks are numbers of the widest kind."""
        return size(text) + text.count(_NUMBER) * (size(self.widest) - size(_NUMBER))

    def opening(self, unit: _Unit) -> list[str]:
        """What a part after the first repeats before its first unit: the title, and the heading of the
        section that unit is in (unless it is that heading)."""
        found = [self.title]
        section = self.section_of[unit.block]
        if section is not None and (section != unit.block or unit.fragment) and section in self.heading:
            found.append(self.heading[section])
        return found

    def texts(self, units: Sequence[_Unit], *, first: bool) -> list[str]:
        shown = [] if first else self.opening(units[0])
        shown += [unit.text[self.column] for unit in units]
        return [text for text in shown if text]

    def fits(self, units: Sequence[_Unit], *, first: bool) -> bool:
        if self.limit is None:
            return True
        shown = self.texts(units, first=first)
        return sum(map(self.measure, shown)) + size(SEPARATOR) * max(0, len(shown) - 1) <= self.limit

    def room(self, index: int) -> int | None:
        """The room for a fragment of block `index` in a part after the first."""
        if self.limit is None:
            return None
        opening = self.opening(_Unit(index, ("",), ("",), fragment=True))
        return self.limit - sum(self.measure(text) + size(SEPARATOR) for text in opening)

    def part(self, number: int, count: int, units: Sequence[_Unit]) -> Part:
        text = SEPARATOR.join(self.texts(units, first=number == 1))
        pieces = tuple(
            Piece(unit.block - self.shift, self._raw(unit))
            for unit in units
            if unit.raw[self.column] and unit.block >= self.shift
        )
        return Part(number, count, unmarked(text.replace(_NUMBER, f"（{number}/{count}）")), pieces)

    def _raw(self, unit: _Unit) -> str:
        raw = unit.raw[self.column]
        return raw.replace(_NUMBER, "") if unit.block == 0 and self.numbered else raw


def _pack(layouts: Sequence[_Layout]) -> list[list[_Unit]]:
    """Units into parts, greedily, each part fitting every format; a section's heading is not left at the
    end of a part when its first item could go with it into the next."""
    units = list(_units(layouts))
    parts: list[list[_Unit]] = []
    current: list[_Unit] = []

    def fits(candidate: Sequence[_Unit], first: bool) -> bool:
        return all(layout.fits(candidate, first=first) for layout in layouts)

    for index, unit in enumerate(units):
        first = not parts
        if current:
            following = units[index + 1] if index + 1 < len(units) else None
            heading = layouts[0].blocks[unit.block].kind == SECTION and not unit.fragment
            orphan = (
                heading
                and following is not None
                and layouts[0].section_of[following.block] == unit.block
                and not fits([*current, unit, following], first)
                and fits([unit, following], False)
            )
            if orphan or not fits([*current, unit], first):
                parts.append(current)
                current = []
        current.append(unit)
    if current:
        parts.append(current)
    return parts


def _units(layouts: Sequence[_Layout]) -> Iterator[_Unit]:
    """Each block as one unit, or as fragments when it is larger than a part of its own in some format."""
    for index in range(len(layouts[0].blocks)):
        texts = [layout.blocks[index].text for layout in layouts]
        rooms = [layout.room(index) for layout in layouts]
        if all(
            room is None or layout.measure(text) <= room
            for layout, text, room in zip(layouts, texts, rooms, strict=True)
        ):
            yield _Unit(index, tuple(texts), tuple(texts))
            continue
        cut = [
            [(text, text)] if room is None else _fragments(text, room, layout.markup)
            for layout, text, room in zip(layouts, texts, rooms, strict=True)
        ]
        for at in range(max(map(len, cut))):
            pairs = [found[at] if at < len(found) else ("", "") for found in cut]
            yield _Unit(
                index, tuple(raw for raw, _ in pairs), tuple(text for _, text in pairs), fragment=True
            )


def _fragments(text: str, room: int, markup: bool) -> list[tuple[str, str]]:
    """`text` cut into (raw, as sent) fragments of at most `room` bytes as sent: between lines, else (a line
    too long) between atoms; every <font> open at a cut is closed before it and opened again after it."""
    found: list[tuple[str, str]] = []
    lines = text.split("\n")
    state: list[str] = []  # the fonts open after the lines taken so far
    opened: list[str] = []  # the fonts open where the current fragment starts
    taken: list[str] = []
    taken_size = 0

    def flush(trailing: str) -> None:
        nonlocal taken, taken_size, opened
        if taken:
            sent = "".join(opened) + "\n".join(taken) + _FONT_CLOSE * len(state)
            found.append(("\n".join(taken) + trailing, sent))
        taken, taken_size, opened = [], 0, list(state)

    for number, line in enumerate(lines):
        after = _fonts_after(line, state) if markup else []
        closing = size(_FONT_CLOSE) * len(after)
        if taken and size("".join(opened)) + taken_size + 1 + size(line) + closing <= room:
            taken.append(line)
            taken_size += 1 + size(line)
            state = after
            continue
        flush("\n")
        if size("".join(opened)) + size(line) + closing <= room:
            taken, taken_size, state = [line], size(line), after
            continue
        pieces = _cut_line(line, room, markup, state)
        for at, (raw, sent, fonts) in enumerate(pieces):
            ends_line = at == len(pieces) - 1 and number < len(lines) - 1
            found.append((raw + ("\n" if ends_line else ""), sent))
            state = fonts
        opened = list(state)
    flush("")
    return found


def _cut_line(line: str, room: int, markup: bool, fonts: list[str]) -> list[tuple[str, str, list[str]]]:
    """A line too long for a part, in (raw, as sent, fonts open after) pieces of at most `room` bytes as
    sent, cut between atoms (a tag, a link, a code span, `**`, or a character) and marked with CUT."""
    atoms = [match.group() for match in _ATOM.finditer(line)] if markup else list(line)
    pieces: list[tuple[str, str, list[str]]] = []
    start, bold = 0, False
    while start < len(atoms):
        opening = "".join(fonts) + (CUT if start else "") + ("**" if bold else "")
        state, is_bold, end, used = list(fonts), bold, start, size(opening)
        while end < len(atoms):
            next_state, next_bold = _advance(atoms[end], state, is_bold) if markup else (state, is_bold)
            last = end + 1 == len(atoms)
            closing = ("**" if next_bold and not last else "") + _FONT_CLOSE * len(next_state)
            if used + size(atoms[end]) + size(closing) + (0 if last else size(CUT)) > room:
                if end == start and len(atoms[end]) > 1 and not atoms[end].startswith("<"):
                    atoms[end : end + 1] = list(atoms[end])  # a link or code span too long: its characters
                    continue
                if end > start:
                    break
            used += size(atoms[end])
            state, is_bold, end = next_state, next_bold, end + 1
        while end - start > 1 and _FONT_OPEN.fullmatch(
            atoms[end - 1]
        ):  # a tag opens the next piece, not this
            end -= 1
            state = state[:-1]
        last = end == len(atoms)
        body = "".join(atoms[start:end])
        closing = ("**" if is_bold and not last else "") + _FONT_CLOSE * len(state)
        pieces.append((body, opening + body + closing + ("" if last else CUT), state))
        fonts, bold, start = state, is_bold, end
    return pieces


def _advance(atom: str, fonts: list[str], bold: bool) -> tuple[list[str], bool]:
    if atom == "**":
        return fonts, not bold
    if _FONT_OPEN.fullmatch(atom):
        return [*fonts, atom], bold
    if atom.lower() == _FONT_CLOSE and fonts:
        return fonts[:-1], bold
    return fonts, bold


def _fonts_after(line: str, fonts: list[str]) -> list[str]:
    """The <font> tags still open after `line`, given those open before it."""
    state = list(fonts)
    for match in _FONT_TAG.finditer(line):
        if match.group().lower() == _FONT_CLOSE:
            if state:
                state.pop()
        else:
            state.append(match.group())
    return state
