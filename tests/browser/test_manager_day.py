"""A manager's day in a real browser: a new project, a pasted article, its claims, the export."""

from __future__ import annotations

import csv

import pytest

from claims.models import Annotation, Article, Claim, Label, Membership, Project, Role

from .conftest import (
    LONG_ARTICLE_BODY,
    current_claim_id,
    log_in,
    unlabelled_controls,
    wait_for_claim_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_creates_a_project_imports_an_article_and_downloads_the_labels(open_page, manager):
    page = open_page()
    log_in(page, "manager")

    page.get_by_role("link", name="New project").click()
    page.wait_for_url("**/p/new/")
    assert unlabelled_controls(page) == []
    page.get_by_label("Name").fill("Wire desk")
    page.get_by_label("Slug").fill("wire-desk")
    page.get_by_label("Guidelines").fill("Label who says it, and how firmly.")
    page.get_by_label("Annotations per claim").fill("1")
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/p/wire-desk/import/")
    project = Project.objects.get(slug="wire-desk")
    assert (project.name, project.annotations_per_claim) == ("Wire desk", 1)
    assert Membership.objects.get(project=project, user=manager).role == Role.MANAGER
    assert project.labels.count() == Label.objects.filter(project=None).count() > 0

    # Paste one article.
    assert unlabelled_controls(page) == []
    page.get_by_label("Title").fill("Troops abroad")
    page.get_by_label("Text").fill(LONG_ARTICLE_BODY)
    page.get_by_label("URL").fill("https://example.org/troops")
    page.get_by_label("Outlet").fill("Wire")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/p/wire-desk/")
    assert page.get_by_role("status").filter(has_text="1 articles, 10 claims").is_visible()
    article = Article.objects.get(project=project)
    assert article.body == LONG_ARTICLE_BODY, "the pasted text is stored exactly"
    claims = list(article.claims.order_by("index"))
    assert len(claims) == 10

    # The article page lists its claims in order.
    page.get_by_role("link", name="Troops abroad").click()
    page.wait_for_url(f"**/p/wire-desk/articles/{article.pk}/")
    assert unlabelled_controls(page) == []
    rows = page.locator("table.claims tbody tr")
    assert rows.count() == len(claims)
    for row, claim in zip(rows.all(), claims, strict=True):
        assert row.get_attribute("id") == f"claim-{claim.pk}"
        assert claim.text in row.inner_text()

    # Split the second claim before its number; htmx swaps the claim table in place.
    page.evaluate("window.__marker = 1")
    row = page.locator(f"#claim-{claims[1].pk}")
    row.locator("summary", has_text="Edit").click()
    row.get_by_label("Split before the words").fill("around 2,000 fatalities")
    with page.expect_response(lambda response: response.url.endswith("/split/")):
        row.get_by_role("button", name="Split").click()
    page.wait_for_function("() => document.querySelectorAll('table.claims tbody tr').length === 11")
    assert page.evaluate("window.__marker") == 1, "the split reloaded the page"
    claims = list(article.claims.order_by("index"))
    assert [claim.text for claim in claims[1:3]] == [
        "South Korean intelligence reported",
        "around 2,000 fatalities among the troops.",
    ]
    article.refresh_from_db()
    assert article.body == LONG_ARTICLE_BODY
    for row, claim in zip(rows.all(), claims, strict=True):
        assert row.get_attribute("id") == f"claim-{claim.pk}"
        assert claim.text in row.inner_text()
    assert unlabelled_controls(page) == []

    # Label two claims from the keyboard: the first and the first part of the split one.
    page.goto("/p/wire-desk/")
    page.get_by_role("link", name="Start labelling").click()
    page.wait_for_selector("#label-card form")
    labelled: dict[str, str] = {}
    for key, confidence in (("1", "confirmed"), ("6", "unclear")):
        claim_id = current_claim_id(page)
        page.keyboard.press(key)
        with page.expect_response(lambda response: response.request.method == "POST"):
            page.keyboard.press("Enter")
        wait_for_claim_change(page, claim_id)
        labelled[claim_id] = confidence
    assert list(labelled) == [str(claims[0].pk), str(claims[1].pk)]
    assert {
        str(claim_id): confidence
        for claim_id, confidence in Annotation.objects.filter(project=project).values_list(
            "claim_id", "confidence"
        )
    } == labelled

    # The CSV export holds exactly those labels.
    page.get_by_role("link", name="Wire desk").click()
    page.wait_for_url("**/p/wire-desk/")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download CSV export").click()
    download = download_info.value
    assert download.suggested_filename == "wire-desk.csv"
    with open(download.path(), encoding="utf-8", newline="") as exported:
        rows = list(csv.DictReader(exported))
    assert {row["claim_id"]: row["confidence"] for row in rows} == labelled
    for row in rows:
        claim = Claim.objects.get(pk=row["claim_id"])
        assert (row["project"], row["annotator"], row["article_title"]) == (
            "wire-desk",
            "manager",
            "Troops abroad",
        )
        assert (row["claim_text"], row["revision"]) == (claim.text, "1")
