"""`import --prune` asks before it removes on a terminal (default no) and needs --yes anywhere else: real
processes on a pseudo-terminal, answering the question, and through pipes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from obligations import db
from obligations.models import Member
from tests.obligations.terminal import Shown, on_terminal, piped

PROMPT = "确定移除以上 1 项并导入吗？"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: asking does not depend on the backend (the pruning itself is tested on both)."""
    return f"sqlite:///{tmp_path / 'obligations.db'}"


@pytest.fixture
def without_one_member(imported: tuple[Path, str], tmp_path: Path) -> Path:
    """The imported registry without 党员jgb1m7: importing it with --prune removes that one member."""
    full = (imported[0].parent / "registry.toml").read_text("utf-8")
    entry = '[[member]]\nid = "jgb1m7"\nname = "党员jgb1m7"\norg = "jg.b1"\nstatus = "full"\njoined_on = 2012-07-01\n'
    assert entry in full
    smaller = tmp_path / "smaller.toml"
    smaller.write_text(full.replace(entry, ""), encoding="utf-8")
    return smaller


def _active(url: str) -> set[str]:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return set(session.exec(select(Member.id).where(col(Member.active))))
    finally:
        engine.dispose()


def _answered(imported: tuple[Path, str], registry: Path, reply: str) -> Shown:
    """`import REGISTRY --prune` on a terminal, `reply` typed at its question."""
    return on_terminal(
        imported, "import", str(registry), "--prune", "--as-of", "2026-11-21", answer=(PROMPT, reply)
    )


@pytest.mark.parametrize("reply", ["n\n", "\n"], ids=["n", "Enter"])
def test_answering_no_on_a_terminal_removes_nothing(
    imported: tuple[Path, str], without_one_member: Path, reply: str
) -> None:
    shown = _answered(imported, without_one_member, reply)

    assert shown.status == 1, shown.text
    assert "将移除以下 1 项" in shown.text and "党员 jgb1m7（党员jgb1m7，jg.b1）" in shown.text
    assert f"{PROMPT} [y/N]" in shown.text
    assert "错误：未导入：没有移除任何项目。" in shown.text and "已导入" not in shown.text
    assert "jgb1m7" in _active(imported[1])


def test_answering_yes_on_a_terminal_removes_what_was_listed(
    imported: tuple[Path, str], without_one_member: Path
) -> None:
    shown = _answered(imported, without_one_member, "y\n")

    assert shown.status == 0, shown.text
    assert "已导入" in shown.text and "党员：新增 0，更新 0，移除 1" in shown.text
    assert "jgb1m7" not in _active(imported[1])


def test_prune_through_a_pipe_without_yes_is_refused_and_removes_nothing(
    imported: tuple[Path, str], without_one_member: Path
) -> None:
    refused = piped(
        imported, "import", str(without_one_member), "--prune", "--as-of", "2026-11-21", stdin="y\n"
    )

    assert refused.returncode == 1
    assert refused.stdout == b""
    message = refused.stderr.decode()
    assert message.startswith("错误：将移除以下 1 项") and "党员 jgb1m7" in message
    assert "不在终端上运行时，--prune 须加 --yes 确认移除" in message and "Traceback" not in message
    assert "jgb1m7" in _active(imported[1])


def test_prune_through_a_pipe_with_yes_removes(imported: tuple[Path, str], without_one_member: Path) -> None:
    done = piped(imported, "import", str(without_one_member), "--prune", "--yes", "--as-of", "2026-11-21")

    assert done.returncode == 0, done.stderr.decode()
    assert "将移除以下 1 项" in done.stdout.decode() and "已导入" in done.stdout.decode()
    assert "jgb1m7" not in _active(imported[1])


def test_a_prune_that_removes_nothing_asks_nothing(imported: tuple[Path, str]) -> None:
    same = imported[0].parent / "registry.toml"
    done = piped(imported, "import", str(same), "--prune", "--as-of", "2026-11-21")

    assert done.returncode == 0, done.stderr.decode()
    assert "将移除" not in done.stdout.decode() + done.stderr.decode()
