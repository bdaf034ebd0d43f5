"""Debian's chromium for the tests that render in a real browser: its path, or a skip here and a failure in CI."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright import sync_api as playwright_api

ROOT = Path(__file__).resolve().parents[1]


def chromium_path(purpose: str) -> str:
    """The chromium executable. Missing: CI (`CI` or `REQUIRE_CHROMIUM=1`, which .ci/run sets) fails, a
    developer's machine skips. `purpose` says what the test needs it for."""
    found = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"chromium is not installed: CI must {purpose} (.ci/run installs it)")
    pytest.skip("chromium not installed here (apt-get install chromium); CI runs this test")


@contextmanager
def browser(purpose: str) -> Iterator[playwright_api.Browser]:
    """Debian's chromium driven by Playwright (`executable_path`: Playwright downloads no browser)."""
    executable = chromium_path(purpose)
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            launched.close()


def artifacts(kind: str, test: str) -> Path:
    """An empty folder for a test's screenshots: `test-artifacts/<kind>/<test>/` (ignored by git;
    `OBLIGATIONS_TEST_ARTIFACTS` names another base folder). Printed, so that a failing test says where."""
    base = Path(os.environ.get("OBLIGATIONS_TEST_ARTIFACTS") or ROOT / "test-artifacts")
    folder = base / kind / re.sub(r"[^\w.-]+", "_", test)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    print(f"screenshots: {folder}")
    return folder


def headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run headless chromium with its own profile folder and nothing of the network it may reach by itself."""
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


# The width a page lays out at, measured by the browser itself: a script added to a copy of the page writes it
# into the title, which --dump-dom prints.
_MEASURE = (
    "<script>document.title = 'width=' + document.documentElement.scrollWidth + '/' + window.innerWidth;"
    "</script></body>"
)


def page_width(chromium: str, html: str, folder: Path, window: int) -> tuple[int, int]:
    """(the page's width, the window's) of `html` laid out in a window `window` px wide."""
    probe = folder / "probe.html"
    probe.write_text(html.replace("</body>", _MEASURE), encoding="utf-8")
    dom = headless(chromium, folder / "profile", f"--window-size={window},900", "--dump-dom", probe.as_uri())
    found = re.search(r"<title>width=(\d+)/(\d+)</title>", dom.stdout)
    assert found, dom.stderr[-2000:]
    return int(found[1]), int(found[2])
