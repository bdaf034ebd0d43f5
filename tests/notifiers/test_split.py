"""The splitter: every part within its limit, tags closed in every part, every block carried exactly once."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from notifiers.split import (
    CUT,
    HEAD,
    ITEM,
    MARKS,
    NOTE,
    SECTION,
    Block,
    Format,
    Part,
    blocks,
    size,
    split,
    whole,
)
from tests.notifiers.servers import fonts_balanced

FONT = re.compile(r"<font\b[^<>]*>|</font>")  # taken out of a markdown block to make its text
NUMBER = MARKS["number"]


def carried(parts: list[Part], index: int) -> str:
    return "".join(piece.raw for part in parts for piece in part.pieces if piece.block == index)


# Text of the kind digests hold: Chinese, ASCII, full-width punctuation, a four-byte character.
words = st.text(alphabet="党支部委员会议题截止逾期天abcXYZ 0123（）：·《》𠀀", min_size=1, max_size=40)


@st.composite
def markdown_line(draw: st.DrawFn) -> str:
    parts = draw(
        st.lists(
            st.one_of(
                words,
                words.map(lambda text: f'<font color="warning">{text}</font>'),
                words.map(lambda text: f"**{text}**"),
                words.map(lambda text: f"[去登记](https://desk.example.org/t/{len(text)}?sig=abc)"),
                st.just("<@zhangsan>"),
            ),
            min_size=1,
            max_size=6,
        )
    )
    return ("> " if draw(st.booleans()) else "") + "".join(parts)


@st.composite
def markdown_block(draw: st.DrawFn) -> str:
    lines = draw(st.lists(markdown_line(), min_size=1, max_size=5))
    if draw(st.booleans()):  # a font that spans lines, as a user template may write it
        lines[0] = '<font color="comment">' + lines[0]
        lines[-1] = lines[-1] + "</font>"
    return "\n".join(lines)


@st.composite
def message(draw: st.DrawFn, block_text: st.SearchStrategy[str]) -> tuple[Block, ...]:
    found = [Block(HEAD, "## 党建工作提醒" + NUMBER + "\n" + draw(words))]
    for _ in range(draw(st.integers(0, 4))):
        found.append(Block(SECTION, "**" + draw(words) + "**"))
        found += [Block(ITEM, draw(block_text)) for _ in range(draw(st.integers(0, 6)))]
    if draw(st.booleans()):
        found.append(Block(NOTE, draw(block_text)))
    return tuple(found)


def check_parts(formats: list[Format], parts: list[tuple[Part, ...]]) -> None:
    for column, found in enumerate(formats):
        column_parts = [part[column] for part in parts]
        for number, part in enumerate(column_parts, start=1):
            assert found.limit is None or size(part.text) <= found.limit
            assert (part.number, part.count) == (number, len(parts))
            assert "\x02" not in part.text and "\x03" not in part.text
            if found.markup:
                assert fonts_balanced(part.text), part.text
            if len(parts) > 1:
                assert f"（{number}/{len(parts)}）" in part.text.split("\n")[0]
        for index, block in enumerate(found.blocks):
            assert carried(column_parts, index) == (block.text if block.text else "")


@settings(max_examples=80, deadline=None)
@given(message(markdown_block()), st.integers(256, 1200))
def test_every_markdown_part_fits_is_balanced_and_carries_each_block_once(
    found: tuple[Block, ...], limit: int
) -> None:
    formats = [Format(found, limit, markup=True)]
    check_parts(formats, split(formats))


@settings(max_examples=50, deadline=None)
@given(message(markdown_block()), st.integers(256, 1200), st.integers(256, 1200))
def test_text_and_markdown_split_together_part_for_part(
    found: tuple[Block, ...], text_limit: int, markdown_limit: int
) -> None:
    text = tuple(Block(block.kind, FONT.sub("", block.text).replace("**", "")) for block in found)
    formats = [Format(text, text_limit), Format(found, markdown_limit, markup=True)]
    parts = split(formats)
    check_parts(formats, parts)


def test_a_message_that_fits_is_one_part_whole_and_unnumbered() -> None:
    rendered = f"## 党建工作提醒{NUMBER}\n张三同志：\n\n{MARKS['item']}> 一项\n\n{MARKS['note']}结尾"
    found = blocks(rendered)
    assert [block.kind for block in found] == [HEAD, ITEM, NOTE]
    (part,) = (only for (only,) in split([Format(found, 2048, markup=True)]))
    assert part.text == whole(found) == "## 党建工作提醒\n张三同志：\n\n> 一项\n\n结尾"
    assert part.count == 1


def test_items_are_never_cut_and_a_part_inside_a_section_repeats_its_heading() -> None:
    items = [
        f'> **第{n}党支部 · 支部委员会会议**\n> 截止：<font color="warning">逾期 {n} 天</font>'
        for n in range(9)
    ]
    rendered = (
        f"## 党建工作提醒{NUMBER}\n张三同志：\n\n{MARKS['section']}**需要您办理（9 项）**\n\n"
        + "".join(f"{MARKS['item']}{item}\n\n" for item in items)
    )
    parts = [part for (part,) in split([Format(blocks(rendered), 300, markup=True)])]
    assert len(parts) > 2
    for part in parts:
        assert part.text.startswith(f"## 党建工作提醒（{part.number}/{len(parts)}）")
        assert "**需要您办理（9 项）**" in part.text
    for item in items:
        assert sum(item in part.text for part in parts) == 1


def test_a_line_longer_than_a_part_is_cut_between_characters_with_its_tags_closed_and_marked() -> None:
    line = '> 依据：<font color="comment">' + "《中国共产党支部工作条例（试行）》" * 30 + "</font>"
    found = (Block(HEAD, "## 提醒"), Block(ITEM, line))
    parts = [part for (part,) in split([Format(found, 256, markup=True)])]
    assert len(parts) > 3
    for part in parts:
        assert size(part.text) <= 256 and fonts_balanced(part.text)
        assert part.text.encode("utf-8").decode("utf-8") == part.text
    assert parts[1].text.endswith(CUT) and CUT in parts[2].text.split("\n\n")[1][:40]
    assert carried(parts, 1) == line


def test_unaligned_formats_are_each_taken_whole_and_still_fit() -> None:
    text = (Block(HEAD, "张三同志：\n" + "一行文字\n" * 200),)
    markdown = blocks(f"## 提醒{NUMBER}\n" + "".join(f"{MARKS['item']}> 第{n}项\n\n" for n in range(80)))
    formats = [Format(text, 300), Format(markdown, 300, markup=True)]
    parts = split(formats)
    for text_part, markdown_part in parts:
        assert size(text_part.text) <= 300 and size(markdown_part.text) <= 300
    assert "".join(piece.raw for (text_part, _) in parts for piece in text_part.pieces) == text[0].text
    assert "".join(piece.raw for (_, markdown_part) in parts for piece in markdown_part.pieces) == whole(
        markdown
    )
