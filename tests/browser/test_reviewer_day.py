"""A reviewer's day in a real browser: settle a disagreement, see it in the gold export."""

from __future__ import annotations

import csv

import pytest

from claims.models import Claim, GoldLabel, LabelValues

from .conftest import VIEWPORTS, log_in, screenshot, unlabelled_controls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def no_sideways_scrolling(page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


@pytest.fixture
def disputed_claim(annotator, annotator2, long_article) -> Claim:
    """Two annotators label the same claim differently."""
    claim = long_article.claims.get(text__startswith="South Korean intelligence")
    claim.project = long_article.project
    claim.record_label(
        annotator=annotator,
        values=LabelValues(confidence="estimated", claim_kind="claim", note="around 2,000"),
    )
    claim.record_label(
        annotator=annotator2, values=LabelValues(confidence="asserted", claim_kind="claim")
    )
    return claim


def test_reviewer_settles_a_disagreement_and_the_gold_export_shows_it(
    open_page, reviewer, disputed_claim
):
    page = open_page()
    log_in(page, "reviewer", next_path="/p/troops/")
    page.get_by_role("link", name="Review queue").click()
    page.wait_for_url("**/p/troops/review/")
    queued = page.locator("table.review-queue tbody tr")
    assert queued.count() == 1
    assert "annotator: estimated" in queued.inner_text()
    assert "annotator2: asserted" in queued.inner_text()

    queued.get_by_role("link").click()
    page.wait_for_url(f"**/p/troops/claims/{disputed_claim.pk}/")
    assert page.locator("mark").text_content() == disputed_claim.text
    assert unlabelled_controls(page) == []
    assert no_sideways_scrolling(page)
    screenshot(page, "review-1280x800")

    page.get_by_label("Note for taking annotator's label").fill("The text gives an estimate.")
    page.get_by_role("button", name="Take annotator's label").click()
    page.wait_for_url("**/p/troops/review/")
    assert page.get_by_role("status").filter(has_text="Gold label saved").is_visible()
    gold = GoldLabel.objects.get(claim=disputed_claim)
    assert (gold.confidence, gold.reviewer.get_username(), gold.note) == (
        "estimated",
        "reviewer",
        "The text gives an estimate.",
    )
    assert page.locator("table.review-queue tbody tr a").count() == 0, "settled: off the queue"

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download gold labels (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "troops-gold.csv"
    with open(download.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert len(rows) == 1
    row = rows[0]
    assert (row["claim_id"], row["claim_text"]) == (str(disputed_claim.pk), disputed_claim.text)
    assert (row["gold_confidence"], row["reviewer"], row["n_annotations"]) == (
        "estimated",
        "reviewer",
        "2",
    )
    assert row["gold_note"] == "The text gives an estimate."
    assert float(row["confidence_agreement"]) == 0.5


def test_review_and_dashboard_pages_fit_a_phone_and_a_laptop(open_page, reviewer, disputed_claim):
    for size, viewport in VIEWPORTS.items():
        page = open_page(viewport)
        log_in(page, "reviewer", next_path=f"/p/troops/claims/{disputed_claim.pk}/")
        assert unlabelled_controls(page) == []
        assert no_sideways_scrolling(page), f"review page scrolls sideways at {size}"
        if size != "1280x800":
            screenshot(page, f"review-{size}")
        page.goto("/p/troops/dashboard/")
        assert page.get_by_role("heading", level=1).is_visible()
        assert no_sideways_scrolling(page), f"dashboard scrolls sideways at {size}"
        screenshot(page, f"dashboard-{size}")
