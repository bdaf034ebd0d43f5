"""Attachments stay inside the attachments folder, are streamed with a size limit, and leave nothing behind
when a copy fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from obligations import attachments, db
from tests.obligations.conftest import run

ROOT = Path(__file__).resolve().parents[2]
AS_OF = ("--as-of", "2026-11-21")


def _record(workspace: tuple[Path, str], org: str, *minutes: Path) -> list[str]:
    args = ["record", "--org", org, "--rule", "theme-party-day", "--on", "2026-11-18", "--attendees", "3"]
    for path in minutes:
        args += ["--minutes", str(path)]
    return [*args, *AS_OF]


def _files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if not path.is_dir()) if folder.exists() else []


def _completions(workspace: tuple[Path, str]) -> int:
    engine = db.make_engine(db.resolve_url(workspace[1], workspace[0].parent))
    with engine.connect() as connection:
        count = int(connection.execute(text("SELECT count(*) FROM completion")).scalar_one())
    engine.dispose()
    return count


def test_an_organization_code_cannot_write_outside_the_attachments_folder(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    config, url = imported
    escape, absolute = "../escape", str(tmp_path / "absolute")
    engine = db.make_engine(db.resolve_url(url, config.parent))
    with engine.begin() as connection:  # as a registry imported before codes were checked would hold them
        for code in (escape, absolute):
            connection.execute(
                text(
                    "INSERT INTO organization (code, name, kind, parent, path, effective_profile, active, dirty)"
                    " VALUES (:code, '越界支部', 'branch', 'jg', :path, 'national', TRUE, TRUE)"
                ),
                {"code": code, "path": f"/jg/{code}/"},
            )
        connection.execute(text("UPDATE plan_state SET registry_version = registry_version + 1"))
    engine.dispose()
    assert run(imported, "plan", *AS_OF).exit_code == 0
    minutes = tmp_path / "记录.txt"
    minutes.write_text("会议记录", encoding="utf-8")
    for code in (escape, absolute):
        result = run(imported, *_record(imported, code, minutes))
        assert result.exit_code == 6, (result.stdout, result.stderr)
        assert "不能用作附件目录" in result.stderr
    assert not (tmp_path / "escape").exists() and not (tmp_path / "absolute").exists()
    assert _files(tmp_path / "attachments") == []
    assert _completions(imported) == 0


def test_a_fifo_or_a_device_is_not_a_regular_file(imported: tuple[Path, str], tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        result = run(imported, *_record(imported, "jg.b1", path))
        assert result.exit_code == 6, (result.stdout, result.stderr)
        assert f"会议记录文件 {path} 不是普通文件" in result.stderr
    assert _completions(imported) == 0


def test_a_file_over_the_size_limit_is_refused_before_anything_is_copied(
    imported: tuple[Path, str], tmp_path: Path
) -> None:
    large = tmp_path / "录像.mp4"
    with large.open("wb") as handle:  # sparse: the size is what counts
        handle.truncate(attachments.MAX_BYTES + 1)
    result = run(imported, *_record(imported, "jg.b1", large))
    assert result.exit_code == 6
    assert "超过单个附件 100.0 MB 的上限" in result.stderr
    assert _files(tmp_path / "attachments") == []


def test_a_file_that_grows_past_the_limit_while_copied_leaves_no_partial_copy(
    imported: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # /proc files report a size of 0 and yield more when read: a file growing under the copy, for real.
    growing = Path("/proc/self/status")
    assert growing.stat().st_size == 0 and len(growing.read_bytes()) > 300
    first = tmp_path / "记录.txt"
    first.write_text("会议记录", encoding="utf-8")
    monkeypatch.setattr(attachments, "MAX_BYTES", 200)
    monkeypatch.setattr(attachments, "CHUNK", 64)
    result = run(imported, *_record(imported, "jg.b1", first, growing))
    assert result.exit_code == 6, (result.stdout, result.stderr)
    assert "复制时仍在增长" in result.stderr
    assert _files(tmp_path / "attachments") == []  # neither the partial copy nor the first file
    assert _completions(imported) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_attachments_are_streamed_not_read_whole(imported: tuple[Path, str], tmp_path: Path) -> None:
    config, url = imported
    small, large = tmp_path / "small.pdf", tmp_path / "large.pdf"
    small.write_bytes(b"%PDF")
    with large.open("wb") as handle:
        handle.truncate(80 * 1024 * 1024)

    def peak_memory(minutes: Path, day: str) -> int:
        """The peak resident size (bytes) of a real process recording with `minutes`."""
        args = ["--config", str(config), "--db", url, "record", "--org", "jg.b2", "--rule", "party-lesson",
                "--on", day, "--attendees", "4", "--minutes", str(minutes), *AS_OF]  # fmt: skip
        # VmHWM: the peak of this process's own memory (ru_maxrss would carry over pytest's own peak).
        program = (
            "import re, sys\nfrom obligations.cli import cli\n"
            "try:\n    cli.main(sys.argv[1:])\nexcept SystemExit as end:\n    code = end.code\n"
            "status = open('/proc/self/status').read()\n"
            "print(code, re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1))\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", program, *args],
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        code, kilobytes = done.stdout.split()[-2:]
        assert code in ("0", "None"), done.stdout + done.stderr
        return int(kilobytes) * 1024

    baseline = peak_memory(small, "2026-10-10")
    copied = peak_memory(large, "2026-11-10")
    assert copied - baseline < 20 * 1024 * 1024, (baseline, copied)
    stored = json.loads(run(imported, "due", *AS_OF, "--all", "--org", "jg.b2", "--format", "json").stdout)
    assert [r["done_count"] for r in stored if r["rule"] == "party-lesson" and r["period"] == "2026-Q4"] == [
        2
    ]
    assert sorted(path.stat().st_size for path in _files(tmp_path / "attachments")) == [4, 80 * 1024 * 1024]
