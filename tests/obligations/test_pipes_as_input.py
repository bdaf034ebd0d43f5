"""A registry file or a members CSV that is a pipe or a device is refused at once, not read for ever."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OBLIGATIONS = [sys.executable, "-c", "from obligations.cli import main; main()"]


@pytest.mark.parametrize(
    ("args", "status"),
    [
        pytest.param(("import", "{pipe}.toml"), 4, id="registry-toml"),
        pytest.param(("import", "{pipe}.csv"), 4, id="registry-csv"),
        pytest.param(("dues", "import", "{pipe}.csv", "--as-of", "2026-11-21"), 6, id="dues-csv"),
    ],
)
def test_a_pipe_given_as_a_file_is_refused_without_waiting(
    imported: tuple[Path, str], args: tuple[str, ...], status: int
) -> None:
    config, url = imported
    pipe = config.parent / "roster"
    command = [arg.replace("{pipe}", str(pipe)) for arg in args]
    os.mkfifo(Path(command[-1] if args[0] == "import" else command[2]))
    result = subprocess.run(
        [*OBLIGATIONS, "--config", str(config), "--db", url, *command],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == status, result.stderr
    assert "不是普通文件" in result.stderr and "Traceback" not in result.stderr
