import pytest

from tests.portal.browser import chromium_available, launch_chromium


@pytest.fixture
def page(live_server, monkeypatch):
    """A headless Debian Chromium page for one test (skipped when /usr/bin/chromium is not installed).

    Playwright is started and stopped around each test: its sync API keeps an event loop on this
    thread while it runs, and Django refuses ORM calls under a running loop unless
    DJANGO_ALLOW_ASYNC_UNSAFE is set. The flag is set for this test only (it must never leak into
    other tests, e.g. the deploy check that runs ``manage.py check --deploy`` in a subprocess), and the
    loop is gone before the database is flushed.
    """
    if not chromium_available():
        pytest.skip("/usr/bin/chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        context.close()
        browser.close()
