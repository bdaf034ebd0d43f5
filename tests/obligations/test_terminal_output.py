"""What a person sees on a terminal: tables that fit its width (free text cut with …, ids, statuses and dates
never), prose wrapped to it (never inside a word), whole rows and lines through a pipe, and no colour code
anywhere under NO_COLOR. Real processes on a
pseudo-terminal whose size is set as a terminal emulator sets it."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlmodel import Session

from obligations import db
from obligations.models import OutboxMessage
from tests.obligations.terminal import ASCII_RUN, ESCAPE, Shown, environ, on_terminal, piped, tables, width

AS_OF = "2026-11-23"
# The free-text columns of every table (FreeText where the tables are defined): the only cells that may be cut.
FREE = {
    "组织", "职责", "对象", "周期", "责任人", "名称", "党员（含党小组）", "收件人", "地址", "错误",
    "周期/期限", "适用对象", "依据", "台账要求", "事项", "企业微信", "姓名", "已交月份", "所在组织", "提示",
    "操作人", "标题", "理由", "申请人", "缺少的周期", "说明", "邮箱",
}  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The demo's organizations, members and history (long names, as offices have them), and an outbox with
    failed messages whose addresses and errors are long."""
    folder = tmp_path_factory.mktemp("demo")
    workspace = (folder / "config.toml", f"sqlite:///{folder / 'obligations.db'}")
    result = piped(workspace, "init", "--demo", "--as-of", AS_OF)
    assert result.returncode == 0, result.stderr.decode()
    engine = db.make_engine(workspace[1])
    at = dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC)
    with Session(engine) as session:
        for number in range(3):
            session.add(
                OutboxMessage(
                    recipient_name=f"综合处室党支部组织委员刘洋同志{number}",
                    channel="email",
                    address=f"liuyang{number}.zonghechushi.dangzhibu@fagaiwei-jiguan-dangwei.example.gov.cn",
                    subject="【待办】支部委员会会议",
                    text="…",
                    state="failed",
                    attempts=5,
                    next_attempt_at=at,
                    last_error="邮件服务器拒收：550 5.1.1 收件人地址不存在，请在名册中核对该党员的电子邮箱后重试",
                    created_at=at,
                )
            )
        session.commit()
    engine.dispose()
    return workspace


COMMANDS = [
    ("due", "--as-of", AS_OF),
    ("org", "list"),
    ("outbox",),
    ("rules", "list"),
    ("rules", "preview", "--year", "2026"),
    ("report", "--as-of", AS_OF),
    ("dues", "status", "--org", "jg.b1", "--as-of", AS_OF),
]
# Tables the demo fills less than 80 columns wide: shown exactly as on a wide terminal, nothing cut.
FITTING = [
    ("org", "show", "jg.b1"),
    ("appraisal", "show", "--org", "jg.b1", "--year", "2025"),
    ("user", "list"),
    ("audit",),
]


def _at_80_and_400_columns(demo: tuple[Path, str], command: tuple[str, ...]) -> tuple[Shown, Shown]:
    """`command` on a terminal 80 columns wide, where no line may be wider, and on one 400 wide."""
    narrow = on_terminal(demo, *command, columns=80)
    wide = on_terminal(demo, *command, columns=400)
    assert narrow.status == 0 and wide.status == 0, narrow.text
    assert max(width(line) for line in narrow.lines) <= 80, narrow.text
    return narrow, wide


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_tables_fit_an_80_column_terminal_cutting_only_free_text(
    demo: tuple[Path, str], command: tuple[str, ...]
) -> None:
    narrow, wide = _at_80_and_400_columns(demo, command)

    assert max(width(line) for line in wide.lines) > 80  # the table had to be narrowed
    narrow_tables, wide_tables = tables(narrow.text), tables(wide.text)
    assert narrow_tables and len(narrow_tables) == len(wide_tables)
    cut = 0
    for short, whole in zip(narrow_tables, wide_tables, strict=True):
        assert len(short) == len(whole)
        kept = [index for index, header in enumerate(whole[0]) if header not in FREE]
        for short_row, whole_row in zip(short[1:], whole[1:], strict=True):
            # ids, statuses, dates and counts are shown whole, in their own column
            assert [short_row[i] for i in kept] == [whole_row[i] for i in kept], (short_row, whole_row)
            cut += sum(
                cell.endswith("…") and not whole_row[i].endswith("…") for i, cell in enumerate(short_row)
            )
    assert cut > 0


@pytest.mark.parametrize("command", FITTING, ids=" ".join)
def test_tables_narrower_than_the_terminal_are_shown_whole(
    demo: tuple[Path, str], command: tuple[str, ...]
) -> None:
    narrow = on_terminal(demo, *command, columns=80)
    wide = on_terminal(demo, *command, columns=400)

    assert narrow.status == 0 and tables(narrow.text), narrow.text
    assert narrow.text == wide.text and max(width(line) for line in narrow.lines) <= 80


def test_due_on_80_columns_keeps_every_task_id_and_status(demo: tuple[Path, str]) -> None:
    shown = on_terminal(demo, "due", "--as-of", AS_OF, columns=80)
    listed = piped(demo, "due", "--as-of", AS_OF, "--format", "json")

    (table,) = tables(shown.text)
    assert table[0][0] == "状态" and table[0][-1] == "编号"
    ids = [row[-1] for row in table[1:]]
    assert ids == [str(record["task_id"]) for record in json.loads(listed.stdout)]
    assert all(row[0].startswith(("逾期", "还剩", "今天")) or "、" in row[0] for row in table[1:])


def test_a_pipe_gets_whole_rows(demo: tuple[Path, str]) -> None:
    through_pipe = piped(demo, "due", "--as-of", AS_OF)
    wide = on_terminal(demo, "due", "--as-of", AS_OF, columns=400)

    text = through_pipe.stdout.decode()
    assert through_pipe.returncode == 0 and max(width(line) for line in text.splitlines()) > 80
    assert tables(text) == tables(wide.text)  # nothing cut, whatever the terminal the pipe ends in


def test_a_terminal_narrower_than_the_fixed_columns_still_shows_them_whole(demo: tuple[Path, str]) -> None:
    shown = on_terminal(demo, "due", "--as-of", AS_OF, columns=40)
    wide = on_terminal(demo, "due", "--as-of", AS_OF, columns=400)

    (narrow_table,) = tables(shown.text)
    (whole_table,) = tables(wide.text)
    assert [row[-1] for row in narrow_table] == [row[-1] for row in whole_table]  # 编号
    assert [row[0] for row in narrow_table] == [row[0] for row in whole_table]  # 状态


NO_COLOUR_COMMANDS = [
    ("--help",),
    ("due", "--help"),
    ("due", "--as-of", AS_OF),
    ("due", "--nope"),
    ("nope",),
    ("due", "--org", "nope"),
    ("due", "--within", "x"),
    ("outbox",),
    ("report", "--as-of", AS_OF),
    ("org", "list"),
]


@pytest.mark.parametrize("command", NO_COLOUR_COMMANDS, ids=" ".join)
def test_no_color_leaves_no_escape_byte_in_anything_shown(
    demo: tuple[Path, str], command: tuple[str, ...]
) -> None:
    shown = on_terminal(demo, *command, env=environ(NO_COLOR="1"))

    assert shown.text.strip()
    assert "\x1b" not in shown.text, shown.text


def test_due_is_coloured_on_a_terminal_without_no_color(demo: tuple[Path, str]) -> None:
    """The other side of the NO_COLOR test: the same terminal shows colour when it is allowed."""
    assert "\x1b[31m" in on_terminal(demo, "due", "--as-of", AS_OF).text


# Prose a person reads on the demo that is wider than 80 columns when shown whole.
PROSE = [
    ("score", "--org", "jg.b1", "--checklist", "wujin-2016", "--as-of", AS_OF),
    ("remind", "--dry-run", "--as-of", f"{AS_OF} 10:00"),
    ("rules", "show", "committee-meeting"),
    ("org", "show", "jg"),
]


def _prose(text: str) -> str:
    """`text` without its tables (their cells are cut on a narrow terminal, by the rule above)."""
    lines = [ESCAPE.sub("", line) for line in text.splitlines()]
    in_table = {index for index, line in enumerate(lines) if line.startswith("─")}
    for rule in sorted(in_table):
        in_table.add(rule - 1)
        below = rule + 1
        while below < len(lines) and lines[below].strip():
            in_table.add(below)
            below += 1
    return "\n".join(line for index, line in enumerate(lines) if index not in in_table)


@pytest.mark.parametrize("command", PROSE, ids=" ".join)
def test_prose_wraps_to_an_80_column_terminal_without_cutting_a_word(
    demo: tuple[Path, str], command: tuple[str, ...]
) -> None:
    narrow, wide = _at_80_and_400_columns(demo, command)

    narrow_prose, wide_prose = _prose(narrow.text), _prose(wide.text)
    assert max(width(line) for line in wide_prose.splitlines()) > 80  # there was something to wrap
    # the same words in the same order, only the line breaks and indents differ
    assert "".join(narrow_prose.split()) == "".join(wide_prose.split())
    assert ASCII_RUN.findall(narrow_prose) == ASCII_RUN.findall(wide_prose)
    assert len(narrow_prose.splitlines()) > len(wide_prose.splitlines())


def test_wrapped_lines_continue_under_their_label(demo: tuple[Path, str]) -> None:
    score = on_terminal(demo, "score", "--org", "jg.b1", "--checklist", "wujin-2016", "--as-of", AS_OF).lines
    rule = on_terminal(demo, "rules", "show", "committee-meeting").lines

    evidence = [index for index, line in enumerate(score) if line.startswith("    依据：")]
    assert evidence
    for index in evidence:  # under the text after 依据：, not under the label
        assert re.match(" {10}[^ ]", score[index + 1]), score[index : index + 2]
    ladder = next(index for index, line in enumerate(rule) if line.startswith("提醒"))
    assert re.match(" {11}[^ ]", rule[ladder + 1]), rule  # under the values of the column of labels


@pytest.mark.parametrize("command", PROSE, ids=" ".join)
def test_a_pipe_gets_prose_lines_whole(demo: tuple[Path, str], command: tuple[str, ...]) -> None:
    through_pipe = piped(demo, *command, env=environ(COLUMNS="80"))
    wide = on_terminal(demo, *command, columns=400)

    assert through_pipe.returncode == 0
    text = through_pipe.stdout.decode()
    assert max(width(line) for line in text.splitlines()) > 80
    assert _prose(text).splitlines() == _prose(wide.text).splitlines()


def test_what_a_command_reports_wraps_on_an_80_column_terminal(tmp_path: Path) -> None:
    """`init --demo` and `undo` say what they did in a line wider than 80 columns when whole (the import's
    counts; the tasks an undone record reopens): on a terminal it is wrapped, through a pipe it stays whole."""
    first, second = tmp_path / "terminal", tmp_path / "pipe"
    first.mkdir()
    second.mkdir()
    on_tty = (first / "config.toml", f"sqlite:///{first / 'obligations.db'}")
    through_pipe = (second / "config.toml", f"sqlite:///{second / 'obligations.db'}")

    created = on_terminal(on_tty, "init", "--demo", "--as-of", AS_OF)
    assert created.status == 0, created.text
    # the database's URL (a path deeper than 80 columns here) is one word: alone on its line, never cut
    assert all(width(line) <= 80 or ASCII_RUN.fullmatch(line) for line in created.lines), created.text
    imported = next(index for index, line in enumerate(created.lines) if line.startswith("已导入 演示数据："))
    summary = "".join(created.lines[imported : imported + 2])  # one line when whole, two on the terminal
    assert "党员：新增 40" in summary and summary.endswith("职务：新增 13，更新 0，移除 0"), created.text

    shutil.copy(first / "obligations.db", second / "obligations.db")
    shutil.copy(first / "config.toml", second / "config.toml")
    undone = on_terminal(on_tty, "undo", "1", "--reason", "登记错误")
    whole = piped(through_pipe, "undo", "1", "--reason", "登记错误")
    assert undone.status == 0 and whole.returncode == 0, undone.text
    assert max(width(line) for line in undone.lines) <= 80 < width(whole.stdout.decode().strip())
    assert "".join(undone.text.split()) == "".join(whole.stdout.decode().split())


def test_a_failure_wraps_on_a_terminal_and_stays_one_line_in_a_pipe(demo: tuple[Path, str]) -> None:
    """A failure is one message on standard error: wrapped to the terminal's width there, whole into a pipe or
    a log (the message names the checklists to choose from; whole it is wider than 80 columns)."""
    command = ("score", "--org", "jg.b1", "--as-of", AS_OF)
    shown = on_terminal(demo, *command)
    through_pipe = piped(demo, *command, env=environ(COLUMNS="80"))
    assert shown.status == through_pipe.returncode != 0
    whole = through_pipe.stderr.decode().strip()
    assert whole.startswith("错误：") and "\n" not in whole and width(whole) > 80
    assert len(shown.lines) > 1 and all(width(line) <= 80 for line in shown.lines), shown.text
    # nothing lost or cut: the same words, only the line breaks (and their indents) added
    assert "".join(line.strip() for line in shown.lines).replace(" ", "") == whole.replace(" ", "")
