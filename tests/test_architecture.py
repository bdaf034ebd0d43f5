"""The layout is the architecture: these tests keep the packages' promises (STYLE.md)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules(package: str) -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["calendars", "notifiers"])
def test_calendars_and_notifiers_never_import_the_application(package: str) -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path, tree in _modules(package)
        if any(name == "obligations" or name.startswith("obligations.") for name in _imported(tree))
    ]
    assert offenders == []


def test_calendars_touch_no_database_or_network() -> None:
    forbidden = ("sqlalchemy", "sqlmodel", "httpx", "aiosmtplib", "socket", "urllib", "requests")
    offenders = [
        (str(path.relative_to(ROOT)), name)
        for path, tree in _modules("calendars")
        for name in _imported(tree)
        if name.split(".")[0] in forbidden
    ]
    assert offenders == []


def test_the_core_never_reads_the_clock() -> None:
    """Only the CLI and the daemon may ask what time it is; everything else takes as_of / now."""
    offenders = []
    for package in ("calendars", "notifiers", "obligations"):
        for path, tree in _modules(package):
            if path.parent.name == "cli" or path.name == "daemon.py":
                continue
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                target = ast.unparse(node.func.value).split(".")[-1]
                reads_date = node.func.attr in {"now", "today", "utcnow"} and target in {"date", "datetime"}
                reads_time = node.func.attr in {"time", "monotonic", "perf_counter"} and target == "time"
                if reads_date or reads_time:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node.func)}")
    assert offenders == []


def test_only_the_recurrence_module_uses_dateutil() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("calendars", "notifiers", "obligations")
        for path, tree in _modules(package)
        if path.name != "recurrence.py" and any(name.startswith("dateutil") for name in _imported(tree))
    ]
    assert offenders == []
