import pytest

from tests.portal.browser import chromium_available, launch_chromium


@pytest.fixture(scope="session")
def chromium():
    """One headless Debian Chromium for the session's browser tests (skipped when it is not installed)."""
    if not chromium_available():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, live_server, monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes around it
    # are still plain synchronous calls. Set for this test only (it must never leak into other tests,
    # e.g. the deploy check that runs ``manage.py check --deploy`` in a subprocess).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    context = chromium.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()
