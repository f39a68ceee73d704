"""A real Chromium (Debian's, never a downloaded build) against the real server and SMTP.

One server and one SMTP server per session and one browser per module keep the suite fast;
each test gets a fresh browser context, so cookies and storage never leak between tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.live import ROOT, Mailbox, live_server, server_env, smtp_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class Site:
    url: str
    mailbox: Mailbox
    log: Path

    def __call__(self, path: str) -> str:
        return f"{self.url}{path}"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data = tmp_path_factory.mktemp("browser")
    with smtp_server() as (mailbox, smtp_port):
        # Many notes from one address in a few seconds: lift the per-reader limit here.
        env = server_env(data / "var", smtp_port=smtp_port, NICEPICK_FEEDBACK_RATE="1000/minute")
        with live_server(env, data / "server.log") as server:
            yield Site(server.url, mailbox, server.log)


# Module scope, not session: while Playwright's sync API is open it keeps an asyncio loop
# running in this thread, and tests in other modules that call asyncio.run() would fail.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run `make browser` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """A page that fails the test on any console error or CSP violation."""
    page = new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.console_errors = errors  # type: ignore[attr-defined]
    return page


@pytest.fixture(scope="module")
def urls(site: Site, browser: Browser) -> dict[str, str]:
    """One URL per page type, discovered from the index as a reader would find them."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(site("/"))
    category = page.locator(".category-block h2 a").first.get_attribute("href")
    comparison = page.locator(".summary-card :is(h2, h3) a").first.get_attribute("href")
    assert category and comparison
    page.goto(site(comparison))
    tag = page.locator(".tags a.pill").first.get_attribute("href")
    option = page.locator(".option-card h2 a").first
    option_href = option.get_attribute("href")
    word = option.inner_text().split()[0]
    author = page.locator(".byline a[rel=author]").first.get_attribute("href")
    assert tag and option_href and author
    context.close()
    return {
        "index": "/",
        "category": category,
        "tag": tag,
        "comparison": comparison,
        "comparison-thanks": f"{comparison}?thanks=1",
        "option": option_href,
        "best": category.replace("/category/", "/best/"),
        "search": "/search",
        "search-results": f"/search?q={word}",
        "not-found": "/compare/no-such-comparison",
        "about": "/about",
        "tags": "/tags",
        "categories": "/categories",
        "author": author,
        "option-profile": "/option/nginx",  # an option with a profile (facts, won/lost)
        "request": "/request?first=Redis&second=Valkey",
    }


def screenshot(page: Page, name: str) -> None:
    """Keep a full-page picture in test-artifacts/ (gitignored) for a human to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
