import os

import pytest

from tests.portal.browser import chromium_available, launch_chromium


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the session's browser tests (skipped when it is not installed)."""
    if not chromium_available():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make around it
    # are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
