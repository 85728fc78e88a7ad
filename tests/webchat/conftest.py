"""Headless Chromium (the system one: Playwright's own download does not work offline).

Module-scoped: sync Playwright keeps an event loop running while open, which would clash with
the aiohttp (async) tests of the same session.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

CHROMIUM = Path("/usr/bin/chromium")
EXPECT_TIMEOUT_MS = 30_000  # a Rasa turn on a shared 2-core machine can take seconds
ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"
SETUP_HINT = "run tests/setup_browser.sh first (installs chromium and rasa-webchat)"


@pytest.fixture(scope="module")
def browser() -> Iterator["object"]:
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: {SETUP_HINT}")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: "object") -> Iterator["object"]:
    """A fresh profile per test: its own localStorage, so conversations do not leak between tests."""
    ctx = browser.new_context()  # type: ignore[attr-defined]
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()
