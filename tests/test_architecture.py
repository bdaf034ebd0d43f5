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
    """Only the CLI (and later the daemon) may ask what time it is; everything else takes as_of."""
    clock_calls = {"now", "today", "utcnow", "time", "monotonic"}
    offenders = []
    for package in ("calendars", "notifiers", "obligations"):
        for path, tree in _modules(package):
            if path.parent.name == "cli":
                continue
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in clock_calls
                    and isinstance(node.func.value, ast.Name | ast.Attribute)
                ):
                    target = ast.unparse(node.func.value)
                    if target.split(".")[-1] in {"date", "datetime", "dt", "time"}:
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
