"""A manager edits claims in a real browser: clicking in the text picks the split point,
refusals show in place, and merges swap the table without a page load."""

from __future__ import annotations

import pytest

from claims.importing import ArticleRecord
from claims.models import Article, Membership, Project, Role

from .conftest import LONG_ARTICLE_BODY, log_in, unlabelled_controls

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def long_article(manager) -> Article:
    project = Project.objects.create(name="Desk", slug="desk")
    project.copy_default_labels()
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    Article.objects.import_records(
        project, [ArticleRecord(title="Troops abroad", body=LONG_ARTICLE_BODY)]
    )
    return project.articles.get()


def test_click_in_the_text_picks_the_split_point_and_refusals_show_in_place(
    open_page, long_article
):
    claims = list(long_article.claims.order_by("index"))
    page = open_page()
    log_in(page, "manager", next_path=f"/p/desk/articles/{long_article.pk}/")
    page.evaluate("window.__marker = 1")
    row = page.locator(f"#claim-{claims[1].pk}")
    row.locator("summary", has_text="Edit").click()

    # Click on the word "around" in the claim's text inside the Split form.
    text = row.locator(".split-text")
    box = text.bounding_box()
    word = text.evaluate(
        """element => {
            const range = document.createRange();
            const node = element.firstChild;
            const at = node.textContent.indexOf("around");
            range.setStart(node, at + 2);
            range.setEnd(node, at + 3);
            const rect = range.getBoundingClientRect();
            return {x: rect.left + rect.width / 2, y: rect.top + rect.height / 2};
        }"""
    )
    assert box is not None
    page.mouse.click(word["x"], word["y"])
    assert row.get_by_label("Split before the words").input_value() == (
        "around 2,000 fatalities among the"
    )
    assert row.get_by_label("or at character").input_value() == str(claims[1].text.index("around"))

    # A boundary that overlaps the next claim is refused, in place, with the reason.
    row.get_by_label("End").fill(str(claims[2].end))
    with page.expect_response(lambda response: response.url.endswith("/adjust/")):
        row.get_by_role("button", name="Adjust").click()
    alert = page.locator(f"#claim-{claims[1].pk} .errorlist")
    alert.wait_for()
    assert "would overlap claim 3" in alert.inner_text()
    assert page.locator(f"#claim-{claims[1].pk} details").get_attribute("open") is not None
    assert [(c.start, c.end) for c in long_article.claims.order_by("index")] == [
        (c.start, c.end) for c in claims
    ]

    # Merge the second claim with the third: one row fewer, no page load.
    row = page.locator(f"#claim-{claims[1].pk}")
    with page.expect_response(lambda response: response.url.endswith("/merge/")):
        row.get_by_role("button", name="Merge with next").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('table.claims tbody tr').length === {len(claims) - 1}"
    )
    assert page.evaluate("window.__marker") == 1, "the merge reloaded the page"
    assert page.get_by_role("status").filter(has_text="merged").is_visible()
    assert unlabelled_controls(page) == []
    merged = long_article.claims.get(pk=claims[1].pk)
    assert (merged.start, merged.end) == (claims[1].start, claims[2].end)
