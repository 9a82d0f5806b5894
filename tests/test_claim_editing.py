"""A manager splits, merges and re-bounds claims; offsets stay true and no label is lost."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.models import (
    Annotation,
    AnnotationRevision,
    Claim,
    ClaimEditError,
    GoldLabel,
    LabelValues,
    Skip,
    SourceChoice,
)
from claims.span_suggestion import suggest_for_span

from .conftest import ARTICLE_BODY


def claims_of(article) -> list[Claim]:
    return list(Claim.objects.filter(article=article).order_by("index"))


def assert_claims_true(article) -> None:
    """Every claim is its body slice, none overlap, and they are numbered 0..n-1 in text order."""
    claims = claims_of(article)
    assert [claim.index for claim in claims] == list(range(len(claims)))
    assert [claim.start for claim in claims] == sorted(claim.start for claim in claims)
    for claim in claims:
        assert article.body[claim.start : claim.end] == claim.text
        assert claim.text == claim.text.strip() and claim.text
    for left, right in zip(claims, claims[1:], strict=False):
        assert left.end <= right.start
    for claim in claims:
        assert claim.annotation_count == claim.annotations.count()


def label(claim, user, *, confidence="estimated", sources=(), note=""):
    return claim.record_label(
        annotator=user,
        values=LabelValues(
            confidence=confidence,
            claim_kind="claim",
            certainty="high",
            note=note,
            sources=[SourceChoice(name=name, kind="intelligence") for name in sources],
        ),
    )


def claim_starting(article, words: str) -> Claim:
    claim = Claim.objects.select_related("article").get(article=article, text__startswith=words)
    claim.project = article.project
    return claim


# --- split ---------------------------------------------------------------------------


def test_split_cuts_the_claim_in_two_trimmed_parts(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    before = len(claims_of(article))
    cut = article.body.index(" around 2,000")
    first, second = claim.split_at(cut, by=manager)
    assert first.text == "South Korean intelligence reported"
    assert second.text == "around 2,000 fatalities among the troops."
    assert second.start == cut + 1, "the space before the second part is not part of it"
    assert second.index == first.index + 1
    assert len(claims_of(article)) == before + 1
    assert_claims_true(article)


def test_split_keeps_labels_on_the_first_part_and_copies_them_to_the_second(
    article, manager, annotator, annotator2
):
    claim = claim_starting(article, "South Korean intelligence")
    label(claim, annotator, sources=["NIS"], note="from the briefing")
    label(claim, annotator2, confidence="claimed")
    span = [claim.start, claim.end]
    first, second = claim.split_at(article.body.index("around 2,000"), by=manager)

    assert first.pk == claim.pk
    assert first.needs_review and second.needs_review
    for part in (first, second):
        labels = {a.annotator.username: a for a in part.annotations.all()}
        assert set(labels) == {"annotator", "annotator2"}
        assert labels["annotator"].source_names() == ["NIS"]
        assert labels["annotator"].note == "from the briefing"
        assert labels["annotator2"].confidence == "claimed"
        assert all(a.needs_review for a in labels.values())
        assert part.annotation_count == 2
    original = Annotation.objects.get(claim=first, annotator=annotator)
    assert original.revision == 2
    revision = original.revisions.get(number=2)
    assert revision.reason == AnnotationRevision.Reason.SPLIT
    assert revision.editor == manager
    assert revision.data["split_from"] == span
    copy = Annotation.objects.get(claim=second, annotator=annotator)
    (copied,) = copy.revisions.all()
    assert copied.reason == AnnotationRevision.Reason.SPLIT
    assert copied.data["copied_from"] == original.pk
    assert Annotation.objects.filter(annotator=annotator).count() == 2
    assert_claims_true(article)


def test_split_copies_a_gold_label_to_the_second_part(article, manager, annotator, reviewer):
    claim = claim_starting(article, "South Korean intelligence")
    annotation = label(claim, annotator, sources=["NIS"])
    gold = GoldLabel.objects.create(
        claim=claim, reviewer=reviewer, confidence="estimated", picked_from=annotation
    )
    gold.sources.set(annotation.sources.all())
    first, second = claim.split_at(article.body.index("around 2,000"), by=manager)
    assert GoldLabel.objects.get(pk=gold.pk).claim_id == first.pk
    copied = GoldLabel.objects.get(claim=second)
    assert copied.confidence == "estimated"
    assert [source.name for source in copied.sources.all()] == ["NIS"]
    assert copied.picked_from == Annotation.objects.get(claim=second, annotator=annotator)
    assert first.needs_review and second.needs_review


def test_split_of_an_unlabelled_claim_is_not_flagged(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    first, second = claim.split_at(article.body.index("around 2,000"), by=manager)
    assert not first.needs_review and not second.needs_review


def test_split_recomputes_the_suggestion_of_both_parts(article, manager):
    claim = claim_starting(article, '"Our soldiers')
    assert "KCNA" in [s["name"] for s in claim.suggestion["sources"]]
    first, second = claim.split_at(article.body.index(" he said"), by=manager)
    assert first.text == '"Our soldiers will be remembered forever,"'
    assert second.text == "he said, according to KCNA."
    assert first.suggestion["sources"] == []
    assert "KCNA" in [s["name"] for s in second.suggestion["sources"]]
    for part in (first, second):
        assert part.suggestion["start"] == part.start and part.suggestion["end"] == part.end
        for source in part.suggestion["sources"]:
            if source["start"] is not None:
                assert part.start <= source["start"] < source["end"] <= part.end


@pytest.mark.parametrize(
    ("where", "message"),
    [
        (lambda claim, body: claim.start, "inside the claim"),
        (lambda claim, body: claim.end, "inside the claim"),
        (lambda claim, body: claim.end + 5, "inside the claim"),
        (lambda claim, body: claim.start + 1, None),
    ],
)
def test_split_outside_the_claim_is_refused_and_changes_nothing(article, manager, where, message):
    claim = claim_starting(article, "South Korean intelligence")
    offset = where(claim, article.body)
    if message is None:
        claim.split_at(offset, by=manager)  # one character is a part
        return
    before = [(c.pk, c.start, c.end, c.index) for c in claims_of(article)]
    with pytest.raises(ClaimEditError, match=message):
        claim.split_at(offset, by=manager)
    assert [(c.pk, c.start, c.end, c.index) for c in claims_of(article)] == before


def test_split_with_a_stale_span_is_refused(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    with pytest.raises(ClaimEditError, match="changed meanwhile"):
        claim.split_at(claim.start + 5, by=manager, expect_span=(claim.start, claim.end - 1))


# --- merge ---------------------------------------------------------------------------


def test_merge_joins_two_neighbours_and_renumbers(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    before = len(claims_of(article))
    merged = claim.merge_with_next(by=manager)
    assert merged.start == claim.start and merged.end == following.end
    assert merged.text == article.body[claim.start : following.end]
    assert not Claim.objects.filter(pk=following.pk).exists()
    assert len(claims_of(article)) == before - 1
    assert_claims_true(article)


def test_merge_moves_labels_and_keeps_both_labels_of_one_annotator(
    article, manager, annotator, annotator2
):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    kept = label(claim, annotator, confidence="estimated", sources=["NIS"])
    merged_away = label(following, annotator, confidence="claimed", sources=["KCNA"], note="quote")
    moved = label(following, annotator2, confidence="asserted")
    Skip.objects.create(claim=following, user=annotator2)

    merged = claim.merge_with_next(by=manager)

    assert merged.needs_review
    assert merged.annotation_count == 2
    labels = {a.annotator.username: a for a in merged.annotations.all()}
    assert labels["annotator"].pk == kept.pk
    assert labels["annotator"].confidence == "estimated"
    assert labels["annotator2"].pk == moved.pk
    assert all(a.needs_review for a in labels.values())
    assert not Annotation.objects.filter(pk=merged_away.pk).exists()
    revision = labels["annotator"].revisions.get(reason=AnnotationRevision.Reason.MERGED)
    kept_whole = revision.data["merged_label"]
    assert kept_whole["labels"]["confidence"] == "claimed"
    assert kept_whole["labels"]["sources"] == ["KCNA"]
    assert kept_whole["labels"]["note"] == "quote"
    assert kept_whole["revisions"][0]["reason"] == "created"
    moved_revision = labels["annotator2"].revisions.get(reason=AnnotationRevision.Reason.MERGED)
    assert moved_revision.data["merged_from"][1] == [following.start, following.end]
    assert_claims_true(article)


def test_merge_moves_a_gold_label_of_the_next_claim(article, manager, reviewer):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    gold = GoldLabel.objects.create(claim=following, reviewer=reviewer, confidence="claimed")
    merged = claim.merge_with_next(by=manager)
    assert GoldLabel.objects.get(pk=gold.pk).claim_id == merged.pk
    assert merged.needs_review


def test_merge_of_two_gold_labelled_claims_is_refused(article, manager, reviewer):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    GoldLabel.objects.create(claim=claim, reviewer=reviewer, confidence="estimated")
    GoldLabel.objects.create(claim=following, reviewer=reviewer, confidence="claimed")
    with pytest.raises(ClaimEditError, match="gold label"):
        claim.merge_with_next(by=manager)
    assert Claim.objects.filter(pk=following.pk).exists()
    assert GoldLabel.objects.count() == 2


def test_merge_of_the_last_claim_is_refused(article, manager):
    last = claims_of(article)[-1]
    last.project = article.project
    with pytest.raises(ClaimEditError, match="last claim"):
        last.merge_with_next(by=manager)


def test_merged_claim_gets_a_suggestion_for_its_whole_text(article, manager):
    claim = claim_starting(article, "North Korea's leader")
    merged = claim.merge_with_next(by=manager)
    names = [source["name"] for source in merged.suggestion["sources"]]
    assert "South Korean intelligence" in names
    assert merged.suggestion["start"] == merged.start and merged.suggestion["end"] == merged.end


# --- adjust --------------------------------------------------------------------------


def test_adjust_moves_the_boundaries_and_keeps_labels_flagged(article, manager, annotator):
    claim = claim_starting(article, "South Korean intelligence")
    annotation = label(claim, annotator)
    span = [claim.start, claim.end]
    end = article.body.index(" among the troops")
    adjusted = claim.adjust(claim.start, end, by=manager)
    assert adjusted.text == "South Korean intelligence reported around 2,000 fatalities"
    assert adjusted.needs_review
    annotation.refresh_from_db()
    assert annotation.claim_id == claim.pk and annotation.needs_review
    revision = annotation.revisions.get(number=annotation.revision)
    assert revision.reason == AnnotationRevision.Reason.ADJUSTED
    assert revision.data["adjusted_from"] == span
    assert_claims_true(article)


def test_adjust_trims_white_space_from_the_new_span(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    start, end = claim.start, claim.end
    adjusted = claim.adjust(start - 1, end - 1, by=manager)
    assert (adjusted.start, adjusted.end) == (start, end - 1), "the space before was trimmed"
    # An unchanged span (after trimming) is refused with a message.
    with pytest.raises(ClaimEditError, match="nothing changed"):
        claim.adjust(claim.start - 1, claim.end, by=manager)


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (lambda claim, prev, nxt, n: (prev.start + 3, claim.end), "overlap claim 1"),
        (lambda claim, prev, nxt, n: (claim.start, nxt.end), "overlap claim 3"),
        (lambda claim, prev, nxt, n: (claim.start, n + 1), "0 ≤ start < end"),
        (lambda claim, prev, nxt, n: (-1, claim.end), "0 ≤ start < end"),
        (lambda claim, prev, nxt, n: (claim.end, claim.start), "0 ≤ start < end"),
        (lambda claim, prev, nxt, n: (prev.end, prev.end + 1), "only white space"),
    ],
)
def test_adjust_refuses_bad_bounds_and_changes_nothing(article, manager, bounds, message):
    claims = claims_of(article)
    prev, claim, nxt = claims[0], claims[1], claims[2]
    claim.project = article.project
    start, end = bounds(claim, prev, nxt, len(article.body))
    with pytest.raises(ClaimEditError, match=message):
        claim.adjust(start, end, by=manager)
    assert [(c.start, c.end) for c in claims_of(article)] == [(c.start, c.end) for c in claims]


def test_a_claim_merged_away_cannot_be_edited_through_an_old_copy(article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    old_copy = claims_of(article)[claim.index + 1]
    old_copy.project = article.project
    claim.merge_with_next(by=manager)
    with pytest.raises(ClaimEditError, match="no longer exists"):
        old_copy.adjust(old_copy.start, old_copy.end - 1, by=manager)


# --- any sequence of edits keeps the invariants -----------------------------------


def notes_merged_into(data: dict) -> set[str]:
    """Notes of labels merged away, however deep (a label merged into one merged later)."""
    merged = data.get("merged_label")
    if not merged:
        return set()
    found = {merged["labels"]["note"]}
    for revision in merged["revisions"]:
        found |= notes_merged_into(revision["data"])
    return found


EDITS = st.lists(
    st.tuples(
        st.sampled_from(["split", "merge", "adjust"]),
        st.integers(min_value=0, max_value=20),
        st.integers(min_value=0, max_value=len(ARTICLE_BODY)),
        st.integers(min_value=0, max_value=len(ARTICLE_BODY)),
    ),
    min_size=1,
    max_size=8,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(edits=EDITS)
def test_any_sequence_of_edits_keeps_offsets_true_and_labels(project, manager, annotator, edits):
    from django.db import transaction

    from claims.importing import ArticleRecord
    from claims.models import Article

    # Each example runs in a savepoint rolled back at the end, so examples do not meet.
    sid = transaction.savepoint()
    try:
        Article.objects.import_records(project, [ArticleRecord(title="P", body=ARTICLE_BODY)])
        article = project.articles.get(title="P")
        for claim in claims_of(article):
            claim.project = project
            label(claim, annotator, note=f"label {claim.index}")
        notes = set(
            Annotation.objects.filter(claim__article=article).values_list("note", flat=True)
        )
        for action, which, a, b in edits:
            claims = claims_of(article)
            claim = claims[which % len(claims)]
            claim.project = project
            try:
                if action == "split":
                    claim.split_at(min(a, b), by=manager)
                elif action == "merge":
                    claim.merge_with_next(by=manager)
                else:
                    claim.adjust(min(a, b), max(a, b), by=manager)
            except ClaimEditError:
                pass
            assert_claims_true(article)
        # No label text was lost: every note still exists on some label or in a merge record.
        remaining = set(
            Annotation.objects.filter(claim__article=article).values_list("note", flat=True)
        )
        merged_away: set[str] = set()
        for revision in AnnotationRevision.objects.filter(annotation__claim__article=article):
            merged_away |= notes_merged_into(revision.data)
        assert notes <= remaining | merged_away
    finally:
        transaction.savepoint_rollback(sid)


# --- the suggestion for a hand-drawn span -------------------------------------------------


def test_span_made_of_whole_claims_is_read_in_context():
    body = "Kim Jong Un visited the site. He said the test succeeded."
    second = body.index("He said")
    suggestion = suggest_for_span(body, second, len(body))
    assert [source.name for source in suggestion.sources] == ["Kim Jong Un"]


def test_span_not_found_by_the_splitter_is_read_alone_with_body_offsets():
    body = "The museum opened. Officials said, according to KCNA, that it cost millions."
    start = body.index("according")
    suggestion = suggest_for_span(body, start, len(body))
    assert (suggestion.start, suggestion.end) == (start, len(body))
    (source,) = suggestion.sources
    assert body[source.start : source.end] == "KCNA"


# --- the article page and its edit endpoints -------------------------------------------


HTMX = {"HTTP_HX_REQUEST": "true"}


def article_url(article) -> str:
    return f"/p/{article.project.slug}/articles/{article.pk}/"


def edit_url(claim, action: str) -> str:
    return f"/p/{claim.project.slug}/claims/{claim.pk}/{action}/"


def span_of(claim) -> str:
    return f"{claim.start}-{claim.end}"


def snapshot(article) -> list[tuple[int, int, int, int]]:
    return [(c.pk, c.start, c.end, c.index) for c in claims_of(article)]


def test_manager_sees_edit_forms_on_the_article_page(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    page = manager_client.get(article_url(article)).content.decode()
    assert f'action="{edit_url(claim, "split")}"' in page
    assert f'action="{edit_url(claim, "merge")}"' in page
    assert f'action="{edit_url(claim, "adjust")}"' in page
    assert 'name="words"' in page and 'name="position"' in page
    last = claims_of(article)[-1]
    last.project = article.project
    assert f'action="{edit_url(last, "merge")}"' not in page, "the last claim has no next"


def test_reviewer_sees_the_article_read_only(reviewer_client, article):
    response = reviewer_client.get(article_url(article))
    page = response.content.decode()
    assert response.status_code == 200
    assert "South Korean intelligence" in page
    assert "/split/" not in page and "/merge/" not in page and "/adjust/" not in page


@pytest.mark.parametrize(
    ("client_name", "status"),
    [("reviewer_client", 403), ("annotator_client", 403), ("outsider_client", 404)],
)
@pytest.mark.parametrize("action", ["split", "merge", "adjust"])
def test_only_managers_may_edit_claims(request, article, client_name, status, action):
    client = request.getfixturevalue(client_name)
    claim = claim_starting(article, "South Korean intelligence")
    before = snapshot(article)
    data = {"span": span_of(claim), "position": 5, "start": claim.start, "end": claim.end - 1}
    response = client.post(edit_url(claim, action), data)
    assert response.status_code == status
    assert snapshot(article) == before


def test_edit_endpoints_refuse_get(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    assert manager_client.get(edit_url(claim, "split")).status_code == 405


def test_claim_of_another_project_is_not_found(manager_client, manager, article):
    from claims.models import Membership, Project, Role

    other = Project.objects.create(name="Other", slug="other")
    Membership.objects.create(project=other, user=manager, role=Role.MANAGER)
    claim = claim_starting(article, "South Korean intelligence")
    response = manager_client.post(f"/p/other/claims/{claim.pk}/split/", {"position": 5})
    assert response.status_code == 404
    assert manager_client.post("/p/troops/claims/999999/split/", {"position": 5}).status_code == 404


def test_split_before_typed_words_redirects_back_to_the_article(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    response = manager_client.post(
        edit_url(claim, "split"), {"span": span_of(claim), "words": "around  2,000 FATALITIES"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{article_url(article)}#claim-{claim.pk}"
    texts = [c.text for c in claims_of(article)]
    assert "South Korean intelligence reported" in texts
    assert "around 2,000 fatalities among the troops." in texts
    page = manager_client.get(response["Location"]).content.decode()
    assert "split in two" in page


def test_split_at_a_position_counted_from_the_claim_start(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    position = claim.text.index("around")
    response = manager_client.post(
        edit_url(claim, "split"), {"span": span_of(claim), "position": position}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.text == "South Korean intelligence reported"


def test_htmx_split_returns_the_claim_table(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    response = manager_client.post(
        edit_url(claim, "split"), {"span": span_of(claim), "words": "around 2,000"}, **HTMX
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="claim-table">')
    assert "<html" not in page
    assert "split in two" in page
    assert ">around 2,000 fatalities among the troops.<" in page
    assert len(claims_of(article)) == 6


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"words": "a million soldiers"}, "does not occur in this claim"),
        ({"words": "ou"}, "occurs 2 times in this claim"),
        ({}, "Type the words that start the second part, or give a position."),
        ({"position": "0"}, "Give a position between 1 and"),
        ({"position": "500"}, "Give a position between 1 and"),
        ({"position": "-3"}, "greater than or equal to 0"),
        ({"position": "five"}, "Enter a whole number."),
        ({"position": "5", "span": "abc"}, "The form was damaged"),
        ({"position": "5", "span": "1-2"}, "changed meanwhile"),
    ],
)
def test_bad_split_input_gets_a_message_and_changes_nothing(
    manager_client, article, fields, message
):
    claim = claim_starting(article, "South Korean intelligence")
    before = snapshot(article)
    data = {"span": span_of(claim)} | fields
    response = manager_client.post(edit_url(claim, "split"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(article) == before
    # With htmx the same message comes in the table, with a status htmx swaps.
    response = manager_client.post(edit_url(claim, "split"), data, **HTMX)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(article) == before


def test_refused_edit_opens_the_claims_edit_box_with_the_typed_input(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    response = manager_client.post(
        edit_url(claim, "split"), {"span": span_of(claim), "words": "a million soldiers"}
    )
    row = response.content.decode().split(f'id="claim-{claim.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "<details open>" in row
    assert 'value="a million soldiers"' in row


def test_merge_with_next_through_the_page(manager_client, article, annotator):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    label(following, annotator)
    response = manager_client.post(
        edit_url(claim, "merge"), {"span": span_of(claim), "next_span": span_of(following)}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.end == following.end
    assert claim.annotations.get().annotator == annotator
    assert_claims_true(article)


def test_merge_refuses_when_the_next_claim_changed_meanwhile(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    following = claims_of(article)[claim.index + 1]
    before = snapshot(article)
    response = manager_client.post(
        edit_url(claim, "merge"),
        {"span": span_of(claim), "next_span": f"{following.start}-{following.end + 1}"},
    )
    assert response.status_code == 400
    assert "after this one was changed meanwhile" in response.content.decode()
    assert snapshot(article) == before


def test_merging_the_last_claim_shows_why_not(manager_client, article):
    last = claims_of(article)[-1]
    last.project = article.project
    response = manager_client.post(edit_url(last, "merge"), {"span": span_of(last)})
    assert response.status_code == 400
    assert "This is the article&#x27;s last claim" in response.content.decode()


def test_adjust_through_the_page(manager_client, article):
    claim = claim_starting(article, "South Korean intelligence")
    end = article.body.index(" among the troops")
    response = manager_client.post(
        edit_url(claim, "adjust"), {"span": span_of(claim), "start": claim.start, "end": end}
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.text == "South Korean intelligence reported around 2,000 fatalities"


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        (lambda claim, nxt: (claim.start, nxt.start + 4), "would overlap claim 3"),
        (lambda claim, nxt: (claim.end, claim.start), "The end must come after the start."),
        (lambda claim, nxt: (claim.start, 10**9), "0 ≤ start &lt; end ≤"),
        (lambda claim, nxt: ("", claim.end), "This field is required."),
    ],
)
def test_bad_adjust_input_gets_a_message_and_changes_nothing(
    manager_client, article, bounds, message
):
    claims = claims_of(article)
    claim, nxt = claims[1], claims[2]
    claim.project = article.project
    start, end = bounds(claim, nxt)
    before = snapshot(article)
    response = manager_client.post(
        edit_url(claim, "adjust"), {"span": span_of(claim), "start": start, "end": end}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot(article) == before


def test_edit_of_a_claim_merged_away_meanwhile_says_so(manager_client, article, manager):
    claim = claim_starting(article, "South Korean intelligence")
    gone = claims_of(article)[claim.index + 1]
    gone.project = article.project
    claim.merge_with_next(by=manager)
    response = manager_client.post(edit_url(gone, "split"), {"position": 3})
    assert response.status_code == 404


def test_article_page_ids_are_unique_so_labels_point_at_their_inputs(manager_client, article):
    import re

    page = manager_client.get(article_url(article)).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))
    for described in re.findall(r'aria-describedby="([^"]+)"', page):
        assert described in ids


def test_article_page_queries_do_not_grow_with_claims_or_labels(
    manager_client, article, annotator, annotator2, django_assert_max_num_queries
):
    for claim in claims_of(article):
        claim.project = article.project
        label(claim, annotator, sources=["NIS"])
        label(claim, annotator2, sources=["KCNA", "NIS"])
    with django_assert_max_num_queries(12):
        response = manager_client.get(article_url(article))
    assert response.content.decode().count("<details") == len(claims_of(article))


# An annotator's form open while a manager edits the claim it shows.


def label_page_form(client, project, claim) -> dict[str, str]:
    """What the labelling page's form for ``claim`` sends, as the page drew it."""
    import re
    from html import unescape

    page = client.get(f"/p/{project.slug}/label/?claim={claim.pk}").content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page))
    return {name: unescape(value) for name, value in hidden.items()} | {
        "confidence": "asserted",
        "claim_kind": "claim",
        "certainty": "high",
        "source": "KCNA",
        "action": "save",
    }


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_label_for_a_claim_split_since_its_form_opened_is_not_saved(
    annotator_client, annotator, manager, article, htmx
):
    claim = claim_starting(article, "South Korean intelligence")
    form = label_page_form(annotator_client, article.project, claim)
    assert form["span"] == span_of(claim)
    first, _second = claim.split_at(article.body.index(" around 2,000"), by=manager)
    url = f"/p/{article.project.slug}/label/"
    response = annotator_client.post(url, form, **(HTMX if htmx else {}))
    page = response.content.decode()
    assert response.status_code == 200
    assert "split, merged or adjusted this claim since you opened it" in page
    assert not Annotation.objects.filter(claim__article=article, annotator=annotator).exists()
    # The page now shows the claim as it is, with what the annotator had chosen.
    assert f'<blockquote class="claim-text">{first.text}</blockquote>' in page
    assert f'name="span" value="{span_of(first)}"' in page
    assert 'value="KCNA"' in page
    # Saved from that page, the label is kept, on the text the annotator saw.
    response = annotator_client.post(url, form | {"span": span_of(first)})
    assert response.status_code == 302
    saved = Annotation.objects.get(claim=first, annotator=annotator)
    assert saved.source_names() == ["KCNA"] and not saved.needs_review


def test_a_label_for_a_claim_moved_by_an_adjustment_is_not_saved(
    annotator_client, annotator, manager, article
):
    claim = claim_starting(article, "South Korean intelligence")
    form = label_page_form(annotator_client, article.project, claim)
    claim.adjust(claim.start, claim.end - 1, by=manager)
    response = annotator_client.post(f"/p/{article.project.slug}/label/", form)
    assert "since you opened it" in response.content.decode()
    assert not Annotation.objects.filter(claim=claim, annotator=annotator).exists()


def test_a_label_posted_without_the_span_is_saved_as_before(annotator_client, annotator, article):
    claim = claim_starting(article, "South Korean intelligence")
    form = label_page_form(annotator_client, article.project, claim)
    del form["span"]
    response = annotator_client.post(f"/p/{article.project.slug}/label/", form)
    assert response.status_code == 302
    assert Annotation.objects.filter(claim=claim, annotator=annotator).exists()


@pytest.mark.parametrize("span", ["1-x", "²-3", "1" * 5000 + "-2", "12"])
def test_a_damaged_span_gets_a_message_not_an_error(annotator_client, annotator, article, span):
    claim = claim_starting(article, "South Korean intelligence")
    form = label_page_form(annotator_client, article.project, claim) | {"span": span}
    response = annotator_client.post(f"/p/{article.project.slug}/label/", form)
    assert response.status_code == 400
    assert "The form was damaged; reload the page" in response.content.decode()
    assert not Annotation.objects.filter(claim=claim, annotator=annotator).exists()


@pytest.mark.parametrize("span", ["²-3", "1" * 5000 + "-2"])
def test_a_damaged_span_on_an_edit_form_gets_a_message_not_an_error(manager_client, article, span):
    claim = claim_starting(article, "South Korean intelligence")
    before = snapshot(article)
    response = manager_client.post(edit_url(claim, "split"), {"span": span, "position": 3})
    assert response.status_code == 400
    assert "The form was damaged" in response.content.decode()
    assert snapshot(article) == before


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_label_for_a_claim_merged_away_since_its_form_opened_says_so(
    annotator_client, annotator, manager, article, htmx
):
    before = claim_starting(article, "South Korean intelligence")
    gone = claims_of(article)[before.index + 1]
    form = label_page_form(annotator_client, article.project, gone)
    before.merge_with_next(by=manager)
    url = f"/p/{article.project.slug}/label/"
    response = annotator_client.post(url, form, **(HTMX if htmx else {}))
    if not htmx:
        assert response.status_code == 302 and response["Location"] == url
        response = annotator_client.get(url)
    page = response.content.decode()
    assert response.status_code == 200
    assert "That claim is no longer in the project" in page
    assert 'id="label-card"' in page, "the next claim follows"
    assert not Annotation.objects.filter(annotator=annotator).exists()


def test_skipping_a_claim_merged_away_moves_on(annotator_client, annotator, manager, article):
    before = claim_starting(article, "South Korean intelligence")
    gone = claims_of(article)[before.index + 1]
    before.merge_with_next(by=manager)
    url = f"/p/{article.project.slug}/label/"
    response = annotator_client.post(url, {"claim": gone.pk, "action": "skip"}, **HTMX)
    assert response.status_code == 200
    assert "That claim is no longer in the project" in response.content.decode()
    assert not Skip.objects.filter(user=annotator).exists()


# A reviewer's page open while a manager edits the claim it shows.


def review_url(claim) -> str:
    return f"/p/{claim.article.project.slug}/claims/{claim.pk}/"


def gold_page_forms(client, claim) -> tuple[dict[str, str], dict[str, str]]:
    """What the review page's gold form and its first "Take … label" form send."""
    import re

    page = client.get(review_url(claim)).content.decode()
    pick_part, gold_part = page.split('class="gold-form"', 1)
    hidden = r'<input type="hidden" name="(\w+)" value="([^"]*)"'
    gold = dict(re.findall(hidden, gold_part)) | {
        "confidence": "asserted",
        "claim_kind": "claim",
        "source": "KCNA",
    }
    pick = dict(re.findall(hidden, pick_part[pick_part.index("Take as gold") :])) | {"note": "n"}
    return gold, pick


def test_a_gold_label_for_a_claim_split_since_the_page_opened_is_not_saved(
    reviewer_client, annotator, manager, article
):
    claim = claim_starting(article, "South Korean intelligence")
    label(claim, annotator, sources=["KCNA"])
    gold, _pick = gold_page_forms(reviewer_client, claim)
    assert gold["span"] == span_of(claim)
    first, _second = claim.split_at(article.body.index(" around 2,000"), by=manager)
    response = reviewer_client.post(review_url(claim), gold)
    page = response.content.decode()
    assert response.status_code == 400
    assert "split, merged or adjusted this claim since you opened it" in page
    assert f'name="span" value="{span_of(first)}"' in page
    assert 'value="KCNA"' in page, "what the reviewer typed is kept"
    assert not GoldLabel.objects.filter(claim__article=article).exists()
    response = reviewer_client.post(review_url(claim), gold | {"span": span_of(first)})
    assert response.status_code == 302
    assert GoldLabel.objects.get(claim=first).sources.get().name == "KCNA"


def test_taking_a_label_for_a_claim_adjusted_since_the_page_opened_is_refused(
    reviewer_client, annotator, manager, article
):
    claim = claim_starting(article, "South Korean intelligence")
    label(claim, annotator, sources=["KCNA"])
    _gold, pick = gold_page_forms(reviewer_client, claim)
    assert pick["span"] == span_of(claim) and "annotation" in pick
    claim.adjust(claim.start, claim.end - 1, by=manager)
    response = reviewer_client.post(review_url(claim), pick, follow=True)
    assert "since you opened it" in response.content.decode()
    assert not GoldLabel.objects.filter(claim=claim).exists()
    _gold, pick = gold_page_forms(reviewer_client, claim)
    assert reviewer_client.post(review_url(claim), pick).status_code == 302
    assert GoldLabel.objects.get(claim=claim).picked_from.annotator == annotator


@pytest.mark.parametrize("form", ["gold", "pick"])
def test_a_damaged_span_on_the_review_page_gets_a_message(
    reviewer_client, annotator, article, form
):
    claim = claim_starting(article, "South Korean intelligence")
    label(claim, annotator)
    data = dict(zip(("gold", "pick"), gold_page_forms(reviewer_client, claim), strict=True))[form]
    response = reviewer_client.post(review_url(claim), data | {"span": "²-3"}, follow=True)
    assert "The form was damaged; reload the page" in response.content.decode()
    assert not GoldLabel.objects.filter(claim=claim).exists()


def test_a_gold_label_for_a_claim_merged_away_is_refused(article, annotator, manager, reviewer):
    before = claim_starting(article, "South Korean intelligence")
    gone = claims_of(article)[before.index + 1]
    gone.project = article.project
    annotation = label(gone, annotator)
    before.merge_with_next(by=manager)
    values = LabelValues(confidence="asserted", claim_kind="claim")
    with pytest.raises(Claim.DoesNotExist):
        GoldLabel.objects.settle(gone, reviewer=reviewer, values=values)
    with pytest.raises(Claim.DoesNotExist):
        GoldLabel.objects.settle_from(annotation, reviewer=reviewer)
    assert not GoldLabel.objects.filter(claim__article=article).exists()
