"""Review: the queue of disagreements, settling gold labels, the history, the gold export."""

from __future__ import annotations

import csv
import io

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils.html import escape

from claims import export
from claims.models import (
    AnnotationRevision,
    Claim,
    GoldLabel,
    LabelValues,
    SourceChoice,
)

from .conftest import claims_of, label, make_user


def review_url(project, claim=None) -> str:
    if claim is None:
        return f"/p/{project.slug}/review/"
    return f"/p/{project.slug}/claims/{claim.pk}/"


def test_queue_holds_claims_whose_k_labels_disagree(project, article, annotator, annotator2):
    same, confidence, kind, sources, single = claims_of(article)[:5]
    for claim in (same, confidence, kind, sources):
        label(claim, annotator, sources=["KCNA"])
    label(same, annotator2, sources=["KCNA"])
    label(confidence, annotator2, confidence="claimed", sources=["KCNA"])
    label(kind, annotator2, kind="opinion", sources=["KCNA"])
    label(sources, annotator2, sources=["KCNA", "NATO"])
    # One label of K=2: nothing to compare yet.
    label(single, annotator, confidence="unclear")
    queue = set(Claim.objects.for_review(project))
    assert queue == {confidence, kind, sources}


def test_sources_in_another_order_are_the_same_set(project, article, annotator, annotator2):
    claim = claims_of(article)[0]
    label(claim, annotator, sources=["KCNA", "NATO"])
    label(claim, annotator2, sources=["NATO", "KCNA"])
    assert not Claim.objects.for_review(project).exists()


def test_flagged_claims_are_in_the_queue_without_disagreement(project, article, annotator):
    claim = claims_of(article)[1]
    Claim.objects.filter(pk=claim.pk).update(needs_review=True)
    assert list(Claim.objects.for_review(project)) == [claim]


def test_a_settled_claim_leaves_the_queue_but_stays_in_the_full_list(
    project, article, annotator, annotator2, reviewer
):
    claim = claims_of(article)[0]
    label(claim, annotator)
    label(claim, annotator2, confidence="claimed")
    GoldLabel.objects.settle(
        claim, reviewer=reviewer, values=LabelValues(confidence="claimed", claim_kind="claim")
    )
    assert not Claim.objects.for_review(project).exists()
    assert list(Claim.objects.for_review(project, every_labelled=True)) == [claim]


def test_reviewer_sees_all_labels_and_notes_side_by_side(
    reviewer_client, project, article, annotator, annotator2
):
    claim = claims_of(article)[0]
    label(claim, annotator, note="note-by-one", sources=["KCNA"])
    label(claim, annotator2, confidence="speculative", note="note-by-two")
    page = reviewer_client.get(review_url(project, claim)).content.decode()
    for text in ("note-by-one", "note-by-two", "KCNA", "speculative", "annotator2"):
        assert text in page
    queue = reviewer_client.get(review_url(project)).content.decode()
    assert escape(claim.text[:40]) in queue


def test_reviewer_takes_one_annotators_label_as_gold(
    reviewer_client, reviewer, project, article, annotator, annotator2
):
    claim = claims_of(article)[0]
    label(claim, annotator, sources=["KCNA"], cue="according to")
    second = label(claim, annotator2, confidence="claimed", sources=["Ukraine"])
    response = reviewer_client.post(
        review_url(project, claim), {"annotation": second.pk, "note": "the text hedges"}
    )
    assert response.status_code == 302
    gold = GoldLabel.objects.get(claim=claim)
    assert (gold.confidence, gold.claim_kind, gold.note) == ("claimed", "claim", "the text hedges")
    assert [source.name for source in gold.sources.all()] == ["Ukraine"]
    assert gold.picked_from == second
    assert gold.reviewer == reviewer


def test_reviewer_composes_the_gold_label(reviewer_client, project, article, annotator):
    claim = claims_of(article)[1]
    label(claim, annotator)
    response = reviewer_client.post(
        review_url(project, claim),
        {
            "claim": claim.pk,
            "confidence": "estimated",
            "claim_kind": "claim",
            "attribution_cue": "reported",
            "note": "an estimate",
            "source": ["South Korean intelligence", "NATO"],
            "source_kind": ["intelligence", "international_org"],
        },
    )
    assert response.status_code == 302
    gold = GoldLabel.objects.get(claim=claim)
    assert (gold.confidence, gold.attribution_cue, gold.note) == (
        "estimated",
        "reported",
        "an estimate",
    )
    assert sorted(s.name for s in gold.sources.all()) == ["NATO", "South Korean intelligence"]
    assert gold.picked_from is None


def test_settling_again_replaces_the_gold_label(
    reviewer_client, project, article, annotator, annotator2
):
    claim = claims_of(article)[0]
    first = label(claim, annotator, sources=["KCNA"])
    label(claim, annotator2, confidence="claimed")
    reviewer_client.post(review_url(project, claim), {"annotation": first.pk})
    reviewer_client.post(
        review_url(project, claim),
        {"claim": claim.pk, "confidence": "unclear", "claim_kind": "claim", "source": [""]},
    )
    gold = GoldLabel.objects.get(claim=claim)
    assert gold.confidence == "unclear"
    assert not gold.sources.exists()


def test_invalid_gold_label_is_explained_and_not_saved(reviewer_client, project, article):
    claim = claims_of(article)[0]
    response = reviewer_client.post(
        review_url(project, claim), {"claim": claim.pk, "claim_kind": "claim"}
    )
    assert response.status_code == 400
    assert "Pick how firmly the text states this claim" in response.content.decode()
    assert not GoldLabel.objects.exists()


def test_picking_a_label_of_another_claim_is_refused(reviewer_client, project, article, annotator):
    first, second = claims_of(article)[:2]
    other = label(second, annotator)
    response = reviewer_client.post(review_url(project, first), {"annotation": other.pk})
    assert response.status_code == 302
    assert not GoldLabel.objects.exists()
    response = reviewer_client.post(review_url(project, first), {"annotation": "x"})
    assert response.status_code == 302
    assert not GoldLabel.objects.exists()


def test_after_settling_the_next_claim_to_review_follows(
    reviewer_client, project, article, annotator, annotator2
):
    first, second = claims_of(article)[:2]
    for claim in (first, second):
        label(claim, annotator)
        label(claim, annotator2, confidence="claimed")
    pick = first.annotations.first()
    response = reviewer_client.post(review_url(project, first), {"annotation": pick.pk})
    assert response["Location"] == review_url(project, second)


def test_history_shows_each_revision_before_and_after(reviewer_client, project, article, annotator):
    claim = claims_of(article)[0]
    label(claim, annotator, confidence="asserted", note="first thought")
    label(claim, annotator, confidence="claimed", note="second thought")
    revisions = AnnotationRevision.objects.filter(annotation__claim=claim).order_by("number")
    assert [r.number for r in revisions] == [1, 2]
    changes = revisions[1].changes_since(revisions[0])
    assert {"field": "confidence", "before": "asserted", "after": "claimed"} in changes
    assert all(change["field"] != "claim_kind" for change in changes)
    page = reviewer_client.get(review_url(project, claim)).content.decode()
    assert "<del>asserted</del> → <ins>claimed</ins>" in page
    assert "<del>first thought</del> → <ins>second thought</ins>" in page


def test_review_pages_are_for_reviewers_and_managers(
    annotator_client, outsider_client, manager_client, project, article
):
    claim = claims_of(article)[0]
    for url in (
        review_url(project),
        review_url(project, claim),
        f"/p/{project.slug}/export-gold.csv",
    ):
        assert annotator_client.get(url).status_code == 403
        assert outsider_client.get(url).status_code == 404
        assert manager_client.get(url).status_code == 200
    assert annotator_client.post(review_url(project, claim), {"annotation": 1}).status_code == 403
    assert not GoldLabel.objects.exists()


def test_project_page_links_review_and_dashboard_for_reviewers_only(
    reviewer_client, annotator_client, project
):
    page = reviewer_client.get(f"/p/{project.slug}/").content.decode()
    assert review_url(project) in page
    assert f"/p/{project.slug}/dashboard/" in page
    assert f"/p/{project.slug}/export-gold.csv" in page
    page = annotator_client.get(f"/p/{project.slug}/").content.decode()
    assert review_url(project) not in page
    assert "/dashboard/" not in page


def test_review_queue_queries_do_not_grow_with_the_queue(
    reviewer_client, project, article, annotator, annotator2, django_assert_max_num_queries
):
    for claim in claims_of(article):
        label(claim, annotator, sources=["KCNA"])
        label(claim, annotator2, confidence="claimed", sources=["NATO", "KCNA"])
    with django_assert_max_num_queries(12):
        page = reviewer_client.get(review_url(project))
    assert page.content.decode().count("/claims/") >= len(claims_of(article))


# --- Gold export -------------------------------------------------------------------------


def gold_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_gold_export_has_one_row_per_labelled_claim_with_agreement(
    reviewer_client, reviewer, project, article, annotator, annotator2
):
    reviewed, unanimous, undecided = claims_of(article)[:3]
    label(reviewed, annotator, sources=["KCNA"])
    label(reviewed, annotator2, confidence="claimed", sources=["KCNA"], note="=HYPERLINK()")
    GoldLabel.objects.settle(
        reviewed,
        reviewer=reviewer,
        values=LabelValues(
            confidence="claimed",
            claim_kind="claim",
            note="=cmd",
            sources=[SourceChoice(name="KCNA")],
        ),
    )
    label(unanimous, annotator, confidence="estimated", sources=["NATO"])
    label(unanimous, annotator2, confidence="estimated", sources=["NATO"])
    label(undecided, annotator)
    response = reviewer_client.get(f"/p/{project.slug}/export-gold.csv")
    assert response.status_code == 200
    assert response.streaming
    rows = gold_rows(b"".join(response.streaming_content))
    assert list(rows[0].keys()) == list(export.GOLD_COLUMNS)
    by_claim = {int(row["claim_id"]): row for row in rows}
    assert set(by_claim) == {reviewed.pk, unanimous.pk, undecided.pk}

    row = by_claim[reviewed.pk]
    assert row["gold_status"] == "reviewed"
    assert row["gold_confidence"] == "claimed"
    assert row["gold_sources"] == "KCNA"
    assert row["gold_note"] == "'=cmd"  # neutralised for spreadsheets
    assert row["reviewer"] == "reviewer"
    assert row["annotators"] == "annotator; annotator2"
    assert row["n_annotations"] == "2"
    assert row["confidence_agreement"] == "0.5"
    assert row["sources_agreement"] == "1.0"
    assert row["labels"] == "annotator: asserted / claim / KCNA; annotator2: claimed / claim / KCNA"
    assert row["decided_at"]

    row = by_claim[unanimous.pk]
    assert (row["gold_status"], row["gold_confidence"], row["gold_sources"]) == (
        "unanimous",
        "estimated",
        "NATO",
    )
    assert row["reviewer"] == ""
    row = by_claim[undecided.pk]
    assert (row["gold_status"], row["gold_confidence"], row["confidence_agreement"]) == (
        "undecided",
        "",
        "",
    )


def test_gold_export_command_writes_the_same_rows(
    reviewer_client, reviewer, project, article, annotator, annotator2, tmp_path
):
    claim = claims_of(article)[0]
    label(claim, annotator)
    label(claim, annotator2, confidence="claimed")
    GoldLabel.objects.settle(
        claim, reviewer=reviewer, values=LabelValues(confidence="claimed", claim_kind="claim")
    )
    target = tmp_path / "gold.csv"
    call_command("export_annotations", "--project", project.slug, "--gold", "-o", str(target))
    web = b"".join(reviewer_client.get(f"/p/{project.slug}/export-gold.csv").streaming_content)
    assert target.read_bytes() == web
    assert gold_rows(web)[0]["gold_confidence"] == "claimed"


def _gold_export_queries(client, project) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        content = b"".join(client.get(f"/p/{project.slug}/export-gold.csv").streaming_content)
    return len(queries), len(gold_rows(content))


def test_gold_export_queries_do_not_grow_with_the_rows(
    reviewer_client, project, article, annotator, annotator2
):
    claims = claims_of(article)
    for claim in claims[:2]:
        label(claim, annotator, sources=["KCNA"])
        label(claim, annotator2, sources=["KCNA", "NATO"])
    few = _gold_export_queries(reviewer_client, project)
    third = make_user("annotator3")
    for claim in claims[2:]:
        label(claim, annotator, sources=["KCNA"])
        label(claim, third, sources=["NATO"], note="other")
    many = _gold_export_queries(reviewer_client, project)
    assert (few[1], many[1]) == (2, len(claims))
    assert many[0] == few[0]


def _claim_page_queries(client, project, claim) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(review_url(project, claim)).status_code == 200
    return len(queries)


def test_claim_page_queries_do_not_grow_with_labels_or_revisions(
    reviewer_client, project, article, annotator, annotator2
):
    claim = claims_of(article)[0]
    label(claim, annotator, sources=["KCNA"])
    label(claim, annotator2, sources=["NATO"])
    # The first view reads the label set, which the process then keeps.
    _claim_page_queries(reviewer_client, project, claim)
    few = _claim_page_queries(reviewer_client, project, claim)
    project.annotations_per_claim = 4
    project.save()
    claim = Claim.objects.get(pk=claim.pk)
    for name in ("annotator3", "annotator4"):
        label(claim, make_user(name), sources=["KCNA", "NATO", "Ukraine"])
    label(claim, annotator, confidence="claimed", sources=["Russia"])
    assert _claim_page_queries(reviewer_client, project, claim) == few


def test_first_revision_lists_the_values_it_set(project, article, annotator):
    claim = claims_of(article)[0]
    label(claim, annotator, sources=["KCNA"], note="")
    [revision] = AnnotationRevision.objects.filter(annotation__claim=claim)
    changes = {change["field"]: change for change in revision.changes_since(None)}
    assert changes["sources"] == {"field": "sources", "before": "", "after": "KCNA"}
    assert changes["confidence"]["after"] == "asserted"
    assert "note" not in changes


def test_queue_pages_run_without_counting_the_whole_queue(reviewer_client, project, article):
    from claims.importing import ArticleRecord
    from claims.models import Article
    from claims.views.review import QUEUE_PAGE_SIZE

    from .conftest import ARTICLE_BODY

    records = [
        ArticleRecord(title=f"Copy {n}", body=f"{ARTICLE_BODY} Copy {n}.") for n in range(15)
    ]
    Article.objects.import_records(project, records)
    flagged = Claim.objects.filter(project=project).order_by("article_id", "index", "pk")
    flagged.update(needs_review=True)
    total = flagged.count()
    assert QUEUE_PAGE_SIZE < total < 2 * QUEUE_PAGE_SIZE
    with CaptureQueriesContext(connection) as queries:
        first = reviewer_client.get(review_url(project)).content.decode()
    assert not [q for q in queries.captured_queries if '"__count"' in q["sql"]]
    assert "?page=2" in first and "?page=0" not in first
    second = reviewer_client.get(review_url(project) + "?page=2").content.decode()
    assert "?page=1" in second and "?page=3" not in second
    shown = second.count('class="flagged"')
    assert shown == total - QUEUE_PAGE_SIZE
    for page in ("abc", "-4", "0", "99999999999999999999"):
        assert reviewer_client.get(review_url(project) + f"?page={page}").status_code == 200


def test_queue_compares_labels_claim_by_claim(project, article, annotator, annotator2):
    """A full claim with no source on either label agrees; one source on one label differs."""
    plain, one_sided = claims_of(article)[:2]
    label(plain, annotator)
    label(plain, annotator2)
    label(one_sided, annotator, sources=["KCNA"])
    label(one_sided, annotator2)
    assert list(Claim.objects.for_review(project)) == [one_sided]


def test_postgresql_connections_never_compile_queries_to_machine_code(db):
    from workbench.settings import postgres_options

    database = postgres_options({"ENGINE": "django.db.backends.postgresql", "OPTIONS": {}})
    assert database["OPTIONS"]["options"] == "-c jit=off -c plan_cache_mode=force_generic_plan"
    mine = {"ENGINE": "django.db.backends.postgresql", "OPTIONS": {"options": "-c jit=on"}}
    assert postgres_options(mine)["OPTIONS"]["options"] == (
        "-c jit=on -c plan_cache_mode=force_generic_plan"
    )
    assert "OPTIONS" not in postgres_options({"ENGINE": "django.db.backends.sqlite3"})
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW jit")
            assert cursor.fetchone()[0] == "off"
            cursor.execute("SHOW plan_cache_mode")
            assert cursor.fetchone()[0] == "force_generic_plan"
