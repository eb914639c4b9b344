"""Fixtures of the browser tests (see kit.py for what every browser test guarantees)."""

import os

import pytest

from browser.kit import CHROMIUM, CHROMIUM_ARGS, NetworkGuard


@pytest.fixture(scope="session")
def chromium_path():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: run `make chromium` (as root it runs "
            "apt-get install -y --no-install-recommends chromium)"
        )
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    # Playwright must never fetch a browser of its own; it drives Debian's Chromium only.
    os.environ["PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD"] = "1"
    with sync_playwright() as playwright:
        # launch() gives Chromium a new, empty --user-data-dir of its own and removes it on close.
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def guarded_context(browser):
    """A fresh browser context whose requests may only go to 127.0.0.1; fails the test on any other."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    guard = NetworkGuard().attach(context)
    try:
        yield context, guard
        guard.check()
    finally:
        context.close()
