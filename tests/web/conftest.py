"""Real headless Chromium and a real HTTP server for the page tests.

Fixtures:
  chromium        one browser for the session (Debian's /usr/bin/chromium; missing -> the tests FAIL)
  canned_server   the pages router + tests/web/canned_api.py behind the service's security headers, on uvicorn
  open_page       opens a URL in a fresh browser context and records console errors, page errors and CSP
                  violations; the test fails at teardown if any occurred
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.middleware import Middleware
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from govledger.api.errors import install_error_handlers
from govledger.api.security import SecurityHeadersMiddleware
from govledger.web.pages import router as pages_router
from tests.support.live_server import LiveServer
from tests.web.canned_api import CannedApi

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE_VIEWPORT = {"width": 390, "height": 844}
# Everything here answers in well under a second; a broken page should fail fast, not after 30 s.
PAGE_TIMEOUT_MS = 10_000

# Injected before any page script; reports CSP violations where the test can read them. Init scripts come
# from the browser's debugging protocol, so the page's own CSP does not block this one.
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""


@dataclass
class CannedServer:
    url: str
    app: FastAPI
    api: CannedApi


@dataclass
class PageProblems:
    """What went wrong in the page while a test used it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def csp_violations(self, page: Page) -> list[str]:
        found: list[str] = page.evaluate("window.__cspViolations || []")
        return found + [text for text in self.console_errors if "Content Security Policy" in text]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pages_app(*routers: Any) -> FastAPI:
    """The pages with the service's security headers (so its CSP is enforced) and error handlers."""
    app = FastAPI(middleware=[Middleware(SecurityHeadersMiddleware)])
    install_error_handlers(app)
    app.include_router(pages_router)
    for extra in routers:
        app.include_router(extra)
    return app


@pytest.fixture(scope="module")
def canned_server() -> Iterator[CannedServer]:
    api = CannedApi()
    app = pages_app(api.router)
    with LiveServer(app) as server:
        yield CannedServer(server.url, app, api)


@pytest.fixture
def canned(canned_server: CannedServer) -> Iterator[CannedServer]:
    """The canned server with its request log cleared and no stand-in runtime left over."""
    canned_server.api.requests.clear()
    yield canned_server
    if hasattr(canned_server.app.state, "runtime"):
        del canned_server.app.state.runtime


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(chromium: Browser) -> Iterator[OpenPage]:
    opened: list[tuple[Page, PageProblems]] = []
    contexts = []

    def open_(url: str, *, viewport: dict[str, int] | None = None, context: Any = None) -> Page:
        if context is None:
            context = chromium.new_context(
                viewport=viewport or {"width": 1024, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai"
            )
            context.add_init_script(_CSP_LISTENER)
            contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        problems = PageProblems()

        def on_console(message: ConsoleMessage) -> None:
            # A 404 or 429 from the API is an answer the page renders, yet Chromium logs it as an error.
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                problems.console_errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: problems.page_errors.append(str(error)))
        page.problems = problems  # type: ignore[attr-defined]
        opened.append((page, problems))
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]")
        return page

    yield open_
    try:
        for page, problems in opened:
            if page.is_closed():
                continue
            assert problems.csp_violations(page) == [], "the page broke its Content-Security-Policy"
            assert problems.page_errors == [], "the page's script threw"
            assert problems.console_errors == [], "the page logged errors"
    finally:
        for context in contexts:
            context.close()
