"""The labelling page on a laptop and on a phone: no sideways scrolling, every control usable."""

from __future__ import annotations

import pytest

from claims.models import Annotation, Claim, Source

from .conftest import (
    VIEWPORTS,
    current_claim_id,
    log_in,
    screenshot,
    unlabelled_controls,
    wait_for_claim_change,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea"

# Tag every interactive element so Tab stops can be matched to it.
TAG_CONTROLS_JS = """
selector => [...document.querySelectorAll(selector)].map((el, i) => {
  el.dataset.probe = String(i);
  return {probe: String(i), type: el.type || el.tagName.toLowerCase(), name: el.name || '',
          text: (el.id || el.name || el.textContent || '').trim().slice(0, 40)};
})
"""

# After scrolling a control into view: is it on screen, inside the width, and on top?
REACHABLE_JS = """
el => {
  el.scrollIntoView({block: 'center', inline: 'nearest'});
  const r = el.getBoundingClientRect();
  const width = document.documentElement.clientWidth;
  const height = document.documentElement.clientHeight;
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const hit = document.elementFromPoint(x, y);
  const label = hit && hit.closest('label');
  return {
    sized: r.width > 0 && r.height > 0,
    inside: r.left >= 0 && r.right <= width + 0.5 && r.top >= 0 && r.bottom <= height + 0.5,
    onTop: !!hit && (hit === el || el.contains(hit) || (!!label && label.control === el)),
  };
}
"""

ACTIVE_PROBE_JS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {probe: el.dataset.probe || null, type: el.type || '', name: el.name || ''};
}
"""


def tab_stops(page, limit: int = 120) -> list[dict]:
    """Press Tab from the first link until focus leaves the page; where it stopped."""
    page.locator("a.brand").focus()
    stops = [page.evaluate(ACTIVE_PROBE_JS)]
    for _ in range(limit):
        page.keyboard.press("Tab")
        stop = page.evaluate(ACTIVE_PROBE_JS)
        if stop is None or stop["probe"] == stops[0]["probe"]:
            break
        stops.append(stop)
    return stops


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_labelling_page_fits_the_screen_and_every_control_works_from_the_keyboard(
    open_page, annotator, long_article, size
):
    Source.objects.resolve(long_article.project, "KCNA", "state_media", created_by=None)
    page = open_page(VIEWPORTS[size])
    log_in(page, "annotator", next_path="/p/troops/label/")
    page.wait_for_selector("#label-card form")
    screenshot(page, f"label-{size}")

    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scrolling at {size}: {widths}"
    assert unlabelled_controls(page) == []

    controls = page.evaluate(TAG_CONTROLS_JS, INTERACTIVE)
    assert len(controls) > 20, controls
    for control in controls:
        element = page.locator(f"[data-probe='{control['probe']}']")
        assert element.evaluate(REACHABLE_JS) == {
            "sized": True,
            "inside": True,
            "onTop": True,
        }, f"{control} cannot be reached at {size}"

    # Tab reaches every control; a radio group is one stop, its radios follow the arrows.
    stops = tab_stops(page)
    reached = {stop["probe"] for stop in stops}
    reached_groups = {stop["name"] for stop in stops if stop["type"] == "radio"}
    missed = [
        control
        for control in controls
        if (
            control["name"] not in reached_groups
            if control["type"] == "radio"
            else control["probe"] not in reached
        )
    ]
    assert missed == [], f"not reachable with Tab at {size}"
    assert reached_groups == {"confidence", "claim_kind", "certainty"}
    certainty = page.locator("input[name=certainty]")
    certainty.first.focus()
    page.keyboard.press("ArrowRight")
    assert certainty.nth(1).is_checked()

    # A new source row, with type-ahead over the project's sources.
    claim_id = current_claim_id(page)
    page.get_by_role("button", name="+ another source").click()
    rows = page.locator(".source-row")
    new_source = rows.last.locator("input[name=source]")
    assert new_source.evaluate("el => el === document.activeElement")
    assert unlabelled_controls(page) == []
    with page.expect_response(lambda response: "/p/troops/sources/" in response.url):
        page.keyboard.type("KC")
    page.wait_for_selector("#source-options option[value='KCNA']", state="attached")
    with page.expect_response(lambda response: "source=KCNA" in response.url):
        page.keyboard.type("NA")
    assert new_source.input_value() == "KCNA"

    # Label it from the keyboard alone: back to the confidence radios, 4, Enter.
    page.locator("input[name=confidence]:checked, input[name=confidence]").first.focus()
    page.keyboard.press("4")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.keyboard.press("Enter")
    wait_for_claim_change(page, claim_id)
    annotation = Annotation.objects.get(annotator=annotator, claim_id=claim_id)
    assert annotation.confidence == "estimated"
    assert annotation.certainty == "medium"
    assert "KCNA" in annotation.source_names()
    assert page.locator("#progress").get_attribute("value") == "1"
    assert Claim.objects.get(pk=claim_id).annotation_count == 1
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"horizontal scrolling at {size} after a swap: {widths}"
