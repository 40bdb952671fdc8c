"""Browser fixtures: Debian's chromium, driven by Playwright, against a real Daphne.

The portal runs as a lab deploys it without TLS (DEBUG off, plain HTTP cookies), so the
pages under test are the production ones: the 404 page is the portal's own, not Django's
debug page. Only static files are served differently (see portal_settings.py).
"""

from __future__ import annotations

import io
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.management import call_command
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from certification.demo.catalog import DEMO_PASSWORDS
from chargers.models import User
from tests.live import ROOT, LiveServer, daphne_server

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags chromium stalls on this machine's closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
SCREENSHOT_DIR = ROOT / "docs" / "screenshots"

# A production portal on a lab network without TLS: DEBUG off, plain HTTP cookies.
LAB_ENV = {
    "DJANGO_SETTINGS_MODULE": "tests.browser.portal_settings",
    "DEBUG": "false",
    "SECRET_KEY": f"browser-tests-{secrets.token_urlsafe(40)}",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "SESSION_COOKIE_SECURE": "false",
    "CSRF_COOKIE_SECURE": "false",
    "SECURE_HSTS_SECONDS": "0",
    # Set for this process only (see ``browser``): the server keeps Django's async checks.
    "DJANGO_ALLOW_ASYNC_UNSAFE": "",
}

NewPage = Callable[[], Page]
Screenshot = Callable[[Page, str], None]


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One chromium for all browser tests.

    Package-scoped rather than session-scoped on purpose: Playwright's sync API keeps an
    asyncio loop running in the main thread while it is started, which would make every
    later test in the run fail (Django's SynchronousOnlyOperation, pytest-asyncio refusing
    to start its loop). Stopping it when this package is done leaves the rest untouched.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"Browser tests need Debian's chromium at {CHROMIUM}: run .ci/system-packages")
    # The test body and the database fixtures use the ORM while Playwright's loop runs.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def portal(tmp_path: Path, transactional_db: None) -> Iterator[LiveServer]:
    """The portal under Daphne, serving this test's database."""
    with daphne_server(tmp_path, extra_env=LAB_ENV) as server:
        yield server


@pytest.fixture
def demo_logins(transactional_db: None) -> dict[str, str]:
    """The demo catalog (Xcharge C8EU) and logins, with hashes the server can verify.

    The Daphne subprocess knows only the production hashers, not the MD5 one
    tests/conftest.py switches this process to. A PBKDF2 hash names its iteration count,
    so a cheap one is still verified by the server (which then strengthens it).
    """
    call_command("load_demo", "--without-seed-run", stdout=io.StringIO())
    pbkdf2 = PBKDF2PasswordHasher()
    for username, password in DEMO_PASSWORDS.items():
        User.objects.filter(username=username).update(
            password=pbkdf2.encode(password, pbkdf2.salt(), iterations=1000)
        )
    return DEMO_PASSWORDS


@pytest.fixture
def new_page(browser: Browser, portal: LiveServer) -> Iterator[NewPage]:
    """Open pages in fresh browser contexts (own cookies) on the portal at 1280x800.

    Whatever the portal's Content-Security-Policy blocks on any of them (an inline script,
    a style, a connection) fails the test: chromium reports each refusal on the console."""
    contexts: list[BrowserContext] = []
    refused: list[str] = []

    def open_page() -> Page:
        context = browser.new_context(
            base_url=portal.http_url, viewport=VIEWPORT, accept_downloads=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert refused == [], refused


def log_in(page: Page, username: str, password: str) -> None:
    """Log in through the real form; the portal lands on the Overview."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()


@pytest.fixture
def engineer_page(new_page: NewPage, demo_logins: dict[str, str]) -> Page:
    """A page logged in as the demo engineer."""
    page = new_page()
    log_in(page, "engineer", demo_logins["engineer"])
    return page


@pytest.fixture
def manufacturer_page(new_page: NewPage, demo_logins: dict[str, str]) -> Page:
    """A page logged in as the demo manufacturer user of Xcharge."""
    page = new_page()
    log_in(page, "xcharge", demo_logins["xcharge"])
    return page


@pytest.fixture
def screenshot() -> Screenshot:
    """Save the visible 1280x800 page to docs/screenshots/<name>.png when SCREENSHOTS=1
    (off by default, so that test runs do not churn the committed images)."""

    def take(page: Page, name: str) -> None:
        if os.environ.get("SCREENSHOTS") != "1":
            return
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOT_DIR / f"{name}.png", full_page=False, animations="disabled")

    return take
