"""An annotator's day in a real browser: log in, label from the keyboard, go back, skip, log out."""

from __future__ import annotations

import pytest

from claims.models import Annotation, AnnotationRevision, Claim, Skip

from .conftest import (
    current_claim_id,
    focus_is_in_label_form,
    log_in,
    log_out,
    wait_for_claim_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The default label set's confidence values, in the order of their number keys.
CONFIDENCE_BY_KEY = {
    "1": "confirmed",
    "2": "asserted",
    "3": "claimed",
    "4": "estimated",
    "5": "speculative",
    "6": "unclear",
}


def is_saved_response(response) -> bool:
    return response.request.method == "POST" and response.url.endswith("/p/troops/label/")


def assert_card_shows(page, claim: Claim) -> None:
    """The card is this claim's, highlighted in its article, with the focus in its form."""
    assert page.locator("#current-claim").text_content() == claim.text
    assert page.locator("#label-card blockquote.claim-text").text_content() == claim.text
    assert focus_is_in_label_form(page), page.evaluate("document.activeElement.outerHTML")


def test_annotator_labels_edits_and_skips_claims_from_the_keyboard_without_page_loads(
    open_page, annotator, long_article
):
    page = open_page()
    log_in(page, "annotator", next_path="/p/troops/label/")
    assert page.url.endswith("/p/troops/label/")
    page.wait_for_selector("#label-card form")

    # Anything but an htmx swap would wipe the marker and fire another 'load'.
    loads: list[str] = []
    page.on("load", lambda loaded: loads.append(loaded.url))
    page.evaluate("window.__marker = 1")

    labelled: dict[int, str] = {}
    for step, key in enumerate("24165", start=1):
        claim = Claim.objects.get(pk=current_claim_id(page))
        assert_card_shows(page, claim)
        page.keyboard.press(key)
        assert page.locator(f"input[name=confidence][value={CONFIDENCE_BY_KEY[key]}]").is_checked()
        with page.expect_response(is_saved_response) as saved:
            page.keyboard.press("Enter")
        assert saved.value.status == 200
        wait_for_claim_change(page, str(claim.pk))
        labelled[claim.pk] = CONFIDENCE_BY_KEY[key]
        assert page.locator("#progress").get_attribute("value") == str(step)
        assert page.locator("#label-card .count strong").text_content() == str(step)

    saved_labels = dict(
        Annotation.objects.filter(annotator=annotator).values_list("claim_id", "confidence")
    )
    assert saved_labels == labelled
    sixth = Claim.objects.get(pk=current_claim_id(page))
    assert sixth.pk not in labelled
    assert_card_shows(page, sixth)

    # b: back to the claim labelled last, with the saved label in the form.
    fifth_id = list(labelled)[-1]
    page.keyboard.press("b")
    wait_for_claim_change(page, str(sixth.pk))
    assert current_claim_id(page) == str(fifth_id)
    assert_card_shows(page, Claim.objects.get(pk=fifth_id))
    assert page.locator("#label-card .badge", has_text="editing my label").is_visible()
    assert page.locator(f"input[name=confidence][value={labelled[fifth_id]}]").is_checked()
    assert page.url.endswith(f"/p/troops/label/?claim={fifth_id}")

    page.keyboard.press("3")
    with page.expect_response(is_saved_response):
        page.keyboard.press("Enter")
    wait_for_claim_change(page, str(fifth_id))
    edited = Annotation.objects.get(annotator=annotator, claim_id=fifth_id)
    assert (edited.confidence, edited.revision) == ("claimed", 2)
    assert list(
        AnnotationRevision.objects.filter(annotation=edited).values_list(
            "number", "data__confidence"
        )
    ) == [(1, labelled[fifth_id]), (2, "claimed")]
    # Editing is not a new label: the bar stays where it was.
    assert page.locator("#progress").get_attribute("value") == "5"

    # s: skip the claim that was next before going back.
    assert current_claim_id(page) == str(sixth.pk)
    assert_card_shows(page, sixth)
    with page.expect_response(is_saved_response):
        page.keyboard.press("s")
    seventh_id = wait_for_claim_change(page, str(sixth.pk))
    assert Skip.objects.filter(user=annotator, claim=sixth).exists()
    assert not Annotation.objects.filter(annotator=annotator, claim=sixth).exists()
    assert int(seventh_id) not in labelled
    assert_card_shows(page, Claim.objects.get(pk=seventh_id))
    assert page.locator("#progress").get_attribute("value") == "5"

    # Eight claim cards, one page load.
    assert page.evaluate("window.__marker") == 1
    assert loads == []

    log_out(page)
    assert page.get_by_role("heading", name="Log in").is_visible()
    page.goto("/p/troops/label/")
    assert "/accounts/login/" in page.url
    assert Annotation.objects.filter(annotator=annotator).count() == 5
