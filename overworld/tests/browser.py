"""Debian's headless Chromium driven by Playwright, for the browser tests.

`sync_playwright` (a fixture, registered for the whole suite in the root conftest.py) skips on a
developer's machine without the browser; in CI (`CI` set) a missing browser fails the test.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

CHROMIUM = Path(os.environ.get("OVERWORLD_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(settings.BASE_DIR) / "build" / "screenshots"
# Quiet and self-contained: no sandbox (CI runs as root), no GPU, no calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require(condition: bool, reason: str) -> None:
    """Skip without the browser on a developer's machine; in CI a missing browser is a failure."""
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test (.ci/run installs it)")
    pytest.skip(reason)


@pytest.fixture
def sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None, "the playwright package is not installed")
    require(CHROMIUM.exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return sync_playwright
