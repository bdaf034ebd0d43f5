"""Wrapping prose by display width (calendars.text.wrap): where a line of Chinese text with ASCII words in it
may break, and where its continuation lines start."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from calendars.text import display_width, hanging_indent, line_pieces, wrap

ASCII_RUN = re.compile(r"[!-~]+")
CLOSING = "，。、；：）》”"


def test_a_chinese_line_breaks_between_characters_at_the_width() -> None:
    line = "按考核细则评分：能由台账证明的项目按本年度已开展的周期计分，列出作为证据的台账记录。"

    lines = wrap(line, 20)

    assert [display_width(part) for part in lines[:-1]] == [20] * (len(lines) - 1)
    assert "".join(lines) == line


def test_an_identifier_or_a_url_moves_whole_to_the_next_line() -> None:
    line = (
        "依据：职责规则 organizational-life-meeting 见 https://example.org/rules/organizational-life 第三条"
    )

    lines = wrap(line, 40)

    assert any("organizational-life-meeting" in part for part in lines)
    assert any("https://example.org/rules/organizational-life" in part for part in lines)
    assert all(
        display_width(part) <= 40 for part in lines if "https" not in part
    )  # only a wider word overflows


def test_closing_punctuation_never_starts_a_line_nor_opening_punctuation_ends_one() -> None:
    line = "一二三四五六七八九（十一二三四五六七八九十）。一二三四五六七八九十"

    for limit in range(6, 40):
        for part in wrap(line, limit)[1:]:
            assert part.strip()[0] not in CLOSING, (limit, part)
        for part in wrap(line, limit)[:-1]:
            assert part[-1] not in "（《“", (limit, part)


def test_continuation_lines_start_under_a_marker_or_a_short_label() -> None:
    assert hanging_indent("    依据：《中国共产党支部工作条例（试行）》") == 10
    assert hanging_indent("  ■ 支部党员大会（2分）：每三个月召开一次") == 4
    assert hanging_indent("3. 【第一党支部】主题党日") == 3
    assert hanging_indent("提醒       即将到期（到期前7天，责任人）") == 11
    # a long label is a sentence: its lines continue under its first character
    assert hanging_indent("    补登记已开展的活动：obligations record") == 4


WORDS = st.lists(
    st.one_of(
        st.text(alphabet="党支部委员会议，。（）：、", min_size=1, max_size=12),
        st.from_regex(r"[a-z0-9][a-z0-9.:/-]{0,14}", fullmatch=True),
    ),
    min_size=1,
    max_size=30,
)


@given(words=WORDS, spaces=st.lists(st.booleans(), min_size=30, max_size=30), limit=st.integers(20, 100))
def test_wrapping_keeps_every_word_and_fits_unless_a_word_is_wider(
    words: list[str], spaces: list[bool], limit: int
) -> None:
    line = (
        "  "
        + "".join(word + (" " if space else "") for word, space in zip(words, spaces, strict=False)).strip()
    )

    lines = wrap(line, limit)

    assert "".join("".join(lines).split()) == "".join(line.split())
    assert ASCII_RUN.findall("\n".join(lines)) == ASCII_RUN.findall(line)
    for part in lines:  # a line is only wider than the limit when nothing in it may break
        assert display_width(part) <= limit or len(line_pieces(part.strip())) == 1, lines
