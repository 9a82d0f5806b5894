"""The browser tests' own watch: what they must catch, they do catch."""

from __future__ import annotations

import pytest

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_inline_script_is_refused_by_the_csp_and_reported(open_page, page_problems, annotator):
    page = open_page()
    log_in(page, "annotator")
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.__inlineRan = true';
            document.head.append(script);
        }"""
    )
    page.wait_for_timeout(100)
    assert page.evaluate("window.__inlineRan === undefined")
    assert any("Content Security Policy" in text for text in page_problems.console_errors)
    # Handled here, so the check at teardown passes.
    page_problems.console_errors.clear()


def test_an_error_status_is_reported(open_page, page_problems, annotator):
    page = open_page()
    log_in(page, "annotator")
    page.goto("/p/no-such-project/label/")
    assert page_problems.error_responses == [
        f"GET {page.url}: 404",
    ]
    page_problems.error_responses.clear()
    page_problems.console_errors.clear()
