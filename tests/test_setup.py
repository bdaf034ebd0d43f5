"""The quick start on a bare machine (issue 13, "Set-up"): `make run` installs only what running needs, the
README names every Debian package that `make` and CI use, and what the demo writes in a clone stays out of git."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.obligations.conftest import OBLIGATIONS

ROOT = Path(__file__).resolve().parent.parent


def _recipe(makefile: str, target: str) -> tuple[list[str], list[str]]:
    """A Makefile rule's prerequisites and recipe lines (variables left as written)."""
    lines = makefile.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(f"{target}:")]
    prerequisites = lines[start].split(":", 1)[1].split()
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return prerequisites, recipe


def _installs(makefile: str, target: str, seen: set[str] | None = None) -> list[str]:
    """Every `pip install` that making `target` can run, through its prerequisites' rules."""
    seen = set() if seen is None else seen
    if target in seen or not re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE):
        return []
    seen.add(target)
    prerequisites, recipe = _recipe(makefile, target)
    variables = dict(re.findall(r"^(\w+) :?= (.+)$", makefile, re.MULTILINE))
    found = [line for line in recipe if "pip install" in line and "--upgrade pip" not in line]
    for prerequisite in prerequisites:
        name = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m.group(1), m.group(0)), prerequisite)
        for key, value in variables.items():
            if value == name:
                found += _installs(makefile, f"$({key})", seen)
        found += _installs(makefile, prerequisite, seen)
    return found


def test_make_run_installs_the_project_alone_and_make_test_adds_the_developer_tools() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run = _installs(makefile, "run")
    assert run and all(line.endswith("install --quiet -e .") for line in run), run
    test = _installs(makefile, "test")
    extras = {
        extra for line in test for extra in re.findall(r"\.\[([\w,]+)\]", line) for extra in extra.split(",")
    }
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert extras == set(declared["optional-dependencies"]), (extras, test)
    # The developer tools are not in what `make run` installs.
    runtime = " ".join(declared["dependencies"]).lower()
    assert not any(tool in runtime for tool in ("pytest", "ruff", "mypy", "playwright", "hypothesis"))


def test_the_readme_names_every_debian_package_that_make_and_ci_use() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    named = {
        word for line in re.findall(r"^apt-get install (.+)$", readme, re.MULTILINE) for word in line.split()
    }
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    installed = set(re.findall(r"apt-get install -y -qq (?:--no-install-recommends )?(\w[\w-]*)", ci))
    installed |= set(re.findall(r"browser_packages\+=\((\S+)\)", ci))
    assert installed and installed <= named, installed - named
    # What a bare Debian lacks for `python3 -m venv` and for the party's time zone.
    assert {"python3", "python3-venv", "make", "tzdata"} <= named


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_demo_and_a_recorded_minute_leave_nothing_untracked_in_a_clone(tmp_path: Path) -> None:
    """`make run`'s commands, then a completion with --minutes, in a git work tree with the project's .gitignore
    and config.toml: git sees no new file."""
    shutil.copy(ROOT / ".gitignore", tmp_path / ".gitignore")
    shutil.copy(ROOT / "config.toml", tmp_path / "config.toml")
    environ = {key: value for key, value in os.environ.items() if not key.startswith("OBLIGATIONS_")}
    git = ["git", "-c", "user.email=t@example.org", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "-A"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "clone"], cwd=tmp_path, check=True)
    minutes = tmp_path.parent / f"{tmp_path.name}-minutes.txt"
    minutes.write_text("会议记录", encoding="utf-8")
    commands = [
        ["init", "--demo"],
        ["due"],
        ["remind", "--dry-run"],
        ["record", "--org", "jg.b1", "--rule", "committee-meeting", "--on", "2026-11-20", "--attendees", "5"],
    ]
    commands[-1] += ["--topic", "测试", "--minutes", str(minutes), "--as-of", "2026-11-21"]
    for command in commands:
        done = subprocess.run(
            [*OBLIGATIONS, *command],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, (command, done.stderr)
    assert any((tmp_path / "attachments").rglob("*")), "the minutes were not copied beside config.toml"
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert status.stdout == "", status.stdout
