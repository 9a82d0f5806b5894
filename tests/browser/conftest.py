"""A real Chromium, driven through Playwright's sync API, against pytest-django's live server.

The labelling page is keyboard-driven and swaps claims in with htmx; only a real
browser shows that focus, history and layout hold. Every page opened here is
watched: a console error (a CSP violation is one), an uncaught exception, a
failed request or an error status fails the test.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from claims.importing import ArticleRecord
from claims.models import Article, Project

from ..conftest import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# The README's screenshots are replaced only when asked (UPDATE_SCREENSHOTS=1):
# otherwise a test run writes them to a scratch folder and leaves the work
# tree as it was.
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "workbench-screenshots"
)

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"1280x800": DESKTOP, "390x844": PHONE}

# Ten sentences the splitter cuts into ten claims with varied suggestions.
LONG_ARTICLE_BODY = (
    "North Korea's leader inaugurated a museum in Pyongyang on Monday. "
    "South Korean intelligence reported around 2,000 fatalities among the troops. "
    '"Our soldiers will be remembered forever," he said, according to KCNA. '
    "The number of soldiers still deployed remains unclear.\n"
    "Analysts suspected that the missile was developed with help from Russia. "
    "Ukraine claimed that its drones destroyed two radar stations overnight. "
    "Estimates suggest over 10,000 soldiers were sent in the autumn. "
    "NATO, the United States and South Korea confirmed the deployment in a joint statement. "
    "The ministry said the talks might resume next month. "
    "Officials declined to comment on the report."
)


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    """One headless Chromium for the browser tests; a missing binary fails the run."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}, and it is missing: "
            "run `make chromium` (or `apt-get install chromium` as root). "
            "`playwright install` cannot download browsers on this machine.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    # The sync API keeps an event loop running in the test's thread, so Django
    # would refuse the ORM calls a test makes between two browser steps.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class PageProblems:
    """What went wrong in the pages of one test, as the browser reported it."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    in_flight: set[object] = field(default_factory=set)

    def watch(self, page) -> None:
        page.on("request", lambda request: self.in_flight.add(request))
        page.on("requestfinished", lambda request: self.in_flight.discard(request))
        page.on("requestfailed", lambda request: self.in_flight.discard(request))
        page.on("console", lambda message: self._console(page, message))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "requestfailed",
            lambda request: self.failed_requests.append(
                f"{request.method} {request.url}: {request.failure}"
            ),
        )
        page.on("response", lambda response: self._response(response))

    def _console(self, page, message) -> None:
        # A CSP violation is reported as a console error too.
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({page.url})")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.error_responses.append(
                f"{response.request.method} {response.url}: {response.status}"
            )

    def settle(self, page, timeout_ms: int = 5000) -> None:
        """Wait until no request of the page is in flight.

        A request the live server is still handling when the test's tables are
        emptied would race with that, and fail or leave rows behind.
        """
        quiet_rounds = 0
        for _ in range(timeout_ms // 50):
            quiet_rounds = quiet_rounds + 1 if not self.in_flight else 0
            if quiet_rounds >= 3:
                return
            page.wait_for_timeout(50)

    def all(self) -> list[str]:
        return [
            *(f"console error: {text}" for text in self.console_errors),
            *(f"uncaught exception: {text}" for text in self.page_errors),
            *(f"failed request: {text}" for text in self.failed_requests),
            *(f"error response: {text}" for text in self.error_responses),
        ]

    def assert_none(self) -> None:
        assert self.all() == [], "\n".join(self.all())


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def open_page(chromium, live_server, page_problems) -> Iterator[Callable[..., object]]:
    """Open a page in a fresh browser context (own cookies) at a viewport size.

    Pages start on the live server's address; every page is watched for
    console errors, uncaught exceptions, failed requests and error statuses,
    and the test fails at teardown if any happened.
    """
    contexts = []
    pages = []

    def open_(viewport: dict[str, int] = DESKTOP):
        context = chromium.new_context(
            viewport=viewport, base_url=live_server.url, accept_downloads=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page_problems.watch(page)
        pages.append(page)
        return page

    yield open_
    for page in pages:
        if not page.is_closed():
            page_problems.settle(page)
    for context in contexts:
        context.close()
    page_problems.assert_none()


def log_in(page, username: str, *, next_path: str = "/") -> None:
    """Log in through the real login page with the keyboard alone."""
    page.goto(next_path)
    assert "/accounts/login/" in page.url, f"{next_path} did not ask for a login"
    assert page.evaluate("document.activeElement.id") == "id_username", "no autofocus"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "id_password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def log_out(page) -> None:
    """Use the Log out button in the header (a POST form)."""
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


def screenshot(page, name: str) -> Path:
    """Keep a viewport PNG of the page in SCREENSHOTS, replacing the last run's."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False, animations="disabled", caret="initial")
    return path


def wait_for_claim_change(page, previous_claim_id: str) -> str:
    """Wait until htmx swapped in a card for another claim; its id."""
    page.wait_for_function(
        """previous => {
            const input = document.querySelector('#label-card form input[name=claim]');
            return !input || input.value !== previous;
        }""",
        arg=previous_claim_id,
    )
    return current_claim_id(page)


def current_claim_id(page) -> str:
    return page.locator("#label-card form input[name=claim]").input_value()


def focus_is_in_label_form(page) -> bool:
    return page.evaluate(
        "() => !!(document.activeElement && document.activeElement.closest('#label-card form'))"
    )


UNLABELLED_CONTROLS_JS = """
() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)))
  .filter(el => !(el.getAttribute('aria-label') || '').trim())
  .filter(el => {
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    return !(ids.length && ids.every(id => document.getElementById(id)));
  })
  .map(el => el.outerHTML.slice(0, 120))
"""


def unlabelled_controls(page) -> list[str]:
    """Form controls (not hidden) without <label for>, aria-label or aria-labelledby."""
    return page.evaluate(UNLABELLED_CONTROLS_JS)


@pytest.fixture
def long_article(project: Project) -> Article:
    """A ten-claim article in the shared `troops` project (two labels per claim)."""
    Article.objects.import_records(
        project,
        [
            ArticleRecord(
                title="Troops abroad",
                body=LONG_ARTICLE_BODY,
                outlet="Wire",
                url="https://example.org/troops",
            )
        ],
    )
    return project.articles.get(title="Troops abroad")
