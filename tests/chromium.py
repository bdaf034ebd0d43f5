"""Debian's chromium for the tests that render in a real browser: its path, or a skip here and a failure in CI."""

from __future__ import annotations

import os
import shutil

import pytest


def chromium_path(purpose: str) -> str:
    """The chromium executable. Missing: CI (`CI` or `REQUIRE_CHROMIUM=1`, which .ci/run sets) fails, a
    developer's machine skips. `purpose` says what the test needs it for."""
    found = shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("REQUIRE_CHROMIUM") == "1":
        pytest.fail(f"chromium is not installed: CI must {purpose} (.ci/run installs it)")
    pytest.skip("chromium not installed here (apt-get install chromium); CI runs this test")
