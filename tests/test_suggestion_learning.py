"""The workbench learns from labels, keeps its suggestions measurable, and obeys the project's
compound-splitting setting."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from claims import attribution
from claims.acceptance import LabelAgainstSuggestion, measure
from claims.importing import ArticleRecord
from claims.models import Article, Claim, LabelValues, Reservation, SourceAlias, SourceChoice

ARTICLE_A = (
    "North Korea fired a ballistic missile on Monday, the state-run news agency KCNA reported."
)
ARTICLE_B = "The launch was a success, the state-run news agency KCNA said on Tuesday."
WORDING = "the state-run news agency KCNA"


def import_body(project, title: str, body: str) -> Article:
    Article.objects.import_records(project, [ArticleRecord(title=title, body=body)])
    return project.articles.get(title=title)


def only_claim(article: Article) -> Claim:
    (claim,) = article.claims.all()
    return claim


def post_label(client, project, claim, *, source: str, wording: str, kind: str = "state_media"):
    return client.post(
        f"/p/{project.slug}/label/",
        {
            "claim": claim.pk,
            "confidence": "asserted",
            "claim_kind": "claim",
            "certainty": "high",
            "revision": 0,
            "token": str(uuid.uuid4()),
            "source": [source],
            "source_kind": [kind],
            "source_wording": [wording],
        },
    )


def learn_the_wording(client, project) -> None:
    """An annotator's label teaches the wording as an alias of the agency."""
    post_label(
        client,
        project,
        only_claim(import_body(project, "A", ARTICLE_A)),
        source="Korean Central News Agency",
        wording=WORDING,
    )


@pytest.mark.parametrize("canonical", ["KCNA", "Korean Central News Agency"])
def test_wording_labelled_in_one_article_gives_the_canonical_source_in_the_next(
    annotator_client, project, canonical
):
    article_a = import_body(project, "A", ARTICLE_A)
    # Before anyone labels, the suggester knows no canonical name for the agency.
    assert [s.get("canonical") for s in only_claim(article_a).suggestion["sources"]] == [None]

    response = post_label(
        annotator_client, project, only_claim(article_a), source=canonical, wording=WORDING
    )
    assert response.status_code == 302
    assert project.alias_map()[WORDING.casefold()] == canonical

    article_b = import_body(project, "B", ARTICLE_B)
    (source,) = only_claim(article_b).suggestion["sources"]
    assert source["canonical"] == canonical
    assert source["wording"] == WORDING


def test_alias_matched_suggestion_is_prefilled_with_the_canonical_name(
    annotator_client, annotator2_client, project
):
    learn_the_wording(annotator_client, project)
    claim_b = only_claim(import_body(project, "B", ARTICLE_B))
    page = annotator2_client.get(f"/p/{project.slug}/label/?claim={claim_b.pk}").content.decode()
    assert 'name="source" value="Korean Central News Agency"' in page
    assert f'name="source_wording" value="{WORDING}"' in page
    # Accepting the pre-filled source names the existing source, creating no new one.
    response = annotator2_client.post(
        f"/p/{project.slug}/label/",
        {
            "claim": claim_b.pk,
            "confidence": "asserted",
            "claim_kind": "claim",
            "revision": 0,
            "token": str(uuid.uuid4()),
            "source": ["Korean Central News Agency"],
            "source_kind": ["state_media"],
            "source_wording": [WORDING],
        },
    )
    assert response.status_code == 302
    assert project.sources.count() == 1


def test_wording_not_in_the_claim_is_not_learned(annotator_client, project):
    article_a = import_body(project, "A", ARTICLE_A)
    post_label(
        annotator_client,
        project,
        only_claim(article_a),
        source="KCNA",
        wording="the Korean Central News Agency",
    )
    assert not SourceAlias.objects.filter(normalized="the korean central news agency").exists()


# --- acceptance of suggestions ------------------------------------------------------------


def test_acceptance_compares_confidence_and_canonical_source_sets():
    result = measure(
        [
            # Kept: same confidence, same sources in another order and case.
            LabelAgainstSuggestion("claimed", ["kcna", "NIS"], "claimed", ["NIS", "KCNA"]),
            # Confidence changed.
            LabelAgainstSuggestion("asserted", ["KCNA"], "claimed", ["KCNA"]),
            # A source added.
            LabelAgainstSuggestion("claimed", ["KCNA", "Reuters"], "claimed", ["KCNA"]),
            # Nothing suggested and nothing given: kept.
            LabelAgainstSuggestion("", [], "", []),
        ]
    )
    assert (result.labels, result.both_kept) == (4, 2)
    assert (result.confidence_kept, result.sources_kept) == (3, 3)
    assert result.rate == 0.5
    assert measure([]).rate is None


def label(claim, user, *, confidence: str, sources: list[str]):
    return claim.record_label(
        annotator=user,
        values=LabelValues(
            confidence=confidence,
            claim_kind="claim",
            sources=[SourceChoice(name=name, kind="state_media") for name in sources],
        ),
    )


def test_project_acceptance_rate_counts_labels_that_kept_the_suggestion(
    project, annotator, annotator2, manager_client, annotator_client
):
    claim = only_claim(import_body(project, "A", ARTICLE_A))
    claim.project = project
    assert claim.suggested_confidence == "asserted"
    assert [s["label"] for s in claim.suggested_sources()] == ["KCNA"]
    label(claim, annotator, confidence="asserted", sources=["KCNA"])
    label(claim, annotator2, confidence="claimed", sources=["KCNA"])

    result = project.suggestion_acceptance()
    assert (result.labels, result.both_kept, result.confidence_kept) == (2, 1, 1)
    assert result.sources_kept == 2

    page = manager_client.get(f"/p/{project.slug}/dashboard/").content.decode()
    assert "Suggestions accepted unchanged" in page
    assert "<strong>50%</strong> of 2 labels" in page
    assert annotator_client.get(f"/p/{project.slug}/dashboard/").status_code == 403


def test_acceptance_uses_the_canonical_name_of_an_alias_matched_suggestion(
    project, annotator, annotator2
):
    first = only_claim(import_body(project, "A", ARTICLE_A))
    first.project = project
    label(first, annotator, confidence="asserted", sources=["Korean Central News Agency"])
    # Learn the wording, as the labelling form does.
    SourceAlias.objects.create(
        source=project.sources.get(name="Korean Central News Agency"), alias=WORDING
    )
    second = only_claim(import_body(project, "B", ARTICLE_B))
    second.project = project
    label(second, annotator2, confidence="asserted", sources=["Korean Central News Agency"])
    result = project.suggestion_acceptance()
    # The first claim was suggested "KCNA" (no alias yet); the second the canonical name.
    assert (result.labels, result.sources_kept) == (2, 1)


# --- the project's compound-splitting setting ------------------------------------------------


COMPOUND = (
    "South Korean intelligence reported around 2,000 fatalities, while Ukraine indicated "
    "that North Korean forces had been withdrawn."
)


@pytest.mark.parametrize(("split_compound", "claims"), [(True, 2), (False, 1)])
def test_import_follows_the_projects_compound_setting(
    project, manager_client, split_compound, claims
):
    response = manager_client.post(
        f"/p/{project.slug}/settings/",
        {
            "name": project.name,
            "slug": project.slug,
            "guidelines": "",
            "annotations_per_claim": 2,
            **({"split_compound": "on"} if split_compound else {}),
        },
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.split_compound is split_compound
    response = manager_client.post(
        f"/p/{project.slug}/import/", {"title": "Compound", "body": COMPOUND}
    )
    assert response.status_code == 302
    article = project.articles.get(title="Compound")
    stored = list(article.claims.order_by("index"))
    assert len(stored) == claims
    names = [source["name"] for claim in stored for source in claim.suggestion["sources"]]
    assert names == ["South Korean intelligence", "Ukraine"]
    for claim in stored:
        assert article.body[claim.start : claim.end] == claim.text


# --- what is not learned ---------------------------------------------------------------------


def test_a_pronoun_is_not_learned_as_an_alias(annotator_client, project, article):
    claim = article.claims.get(text__contains="he said")
    post_label(
        annotator_client, project, claim, source="Kim Jong Un", wording="he", kind="official"
    )
    assert project.sources.filter(name="Kim Jong Un").exists()
    assert "he" not in project.alias_map()


def test_wording_found_only_inside_another_word_is_not_learned(annotator_client, project):
    article = import_body(project, "A", "Officials admitted diminishing returns, analysts said.")
    post_label(
        annotator_client, project, only_claim(article), source="Intelligence Service", wording="NIS"
    )
    assert "nis" not in project.alias_map(), "“nis” only occurs inside “diminishing”"


def test_wording_that_already_names_another_source_is_not_taken_over(
    annotator_client, annotator2_client, project
):
    article = import_body(project, "A", ARTICLE_A)
    post_label(annotator_client, project, only_claim(article), source="KCNA", wording=WORDING)
    post_label(annotator2_client, project, only_claim(article), source="Yonhap", wording=WORDING)
    assert project.alias_map()[WORDING.casefold()] == "KCNA"
    assert not SourceAlias.objects.filter(source__name="Yonhap", normalized=WORDING.casefold())


def test_dashboard_acceptance_follows_a_new_label(project, annotator, annotator2, manager_client):
    claim = only_claim(import_body(project, "A", ARTICLE_A))
    claim.project = project
    label(claim, annotator, confidence="asserted", sources=["KCNA"])
    first = manager_client.get(f"/p/{project.slug}/dashboard/").content.decode()
    assert "of 1 label" in first
    label(claim, annotator2, confidence="claimed", sources=[])
    second = manager_client.get(f"/p/{project.slug}/dashboard/").content.decode()
    assert "of 2 labels" in second


# --- suggesting again for articles imported before ---------------------------------------------

ARTICLE_C = (
    "North Korea fired a missile on Monday, the state-run news agency KCNA reported. "
    "The launch failed, the state-run news agency KCNA said on Tuesday. "
    "A third test is planned, the state-run news agency KCNA reported on Wednesday."
)


def canonical_names(claim: Claim) -> list[str | None]:
    claim.refresh_from_db()
    return [source.get("canonical") for source in claim.suggestion["sources"]]


def test_refresh_brings_a_learned_alias_to_articles_imported_before(
    annotator_client, project, annotator, annotator2
):
    earlier = import_body(project, "C", ARTICLE_C)
    labelled, handed_out, unlabelled = earlier.claims.order_by("index")
    labelled.project = project
    label(labelled, annotator, confidence="asserted", sources=["Somebody"])
    Reservation.objects.create(
        claim=handed_out, user=annotator2, expires_at=timezone.now() + timedelta(minutes=30)
    )
    learn_the_wording(annotator_client, project)
    assert [canonical_names(claim) for claim in (labelled, handed_out, unlabelled)] == [
        [None],
        [None],
        [None],
    ], "an earlier article's suggestions stay as they were imported"

    refresh = project.articles.refresh_suggestions()
    assert canonical_names(unlabelled) == ["Korean Central News Agency"]
    assert canonical_names(labelled) == [None], "the suggestion its label was made against"
    assert canonical_names(handed_out) == [None], "the suggestion its open form shows"
    # Kept: C's labelled and handed-out claims, and A's claim, labelled by the lesson.
    assert (refresh.articles, refresh.changed, refresh.unchanged, refresh.kept) == (2, 1, 0, 3)

    again = project.articles.refresh_suggestions()
    assert (again.changed, again.unchanged, again.kept) == (0, 1, 3)


def test_refresh_reads_a_claim_drawn_by_hand_as_its_edit_did(annotator_client, project, manager):
    article = import_body(project, "C", ARTICLE_C)
    first, second, third = article.claims.order_by("index")
    first.project = second.project = project
    first.merge_with_next(by=manager)
    third.refresh_from_db()
    third.project = project
    third.adjust(third.start + len("A "), third.end, by=manager)
    before = {claim.pk: claim.suggestion for claim in article.claims.all()}
    refresh = project.articles.refresh_suggestions()
    assert (refresh.changed, refresh.unchanged) == (0, 2), "nothing learned: the same suggestions"
    assert {claim.pk: claim.suggestion for claim in article.claims.all()} == before
    learn_the_wording(annotator_client, project)
    assert project.articles.filter(pk=article.pk).refresh_suggestions().changed == 2
    merged = article.claims.get(pk=first.pk)
    assert canonical_names(merged) == ["Korean Central News Agency"] * 2
    assert canonical_names(article.claims.get(pk=third.pk)) == ["Korean Central News Agency"]


def test_a_claim_labelled_while_the_refresh_reads_keeps_its_suggestion(
    annotator_client, project, annotator2, monkeypatch
):
    earlier = import_body(project, "C", ARTICLE_C)
    claims = list(earlier.claims.order_by("index"))
    learn_the_wording(annotator_client, project)
    analyse = attribution.analyse

    def analyse_while_someone_labels(*args, **kwargs):
        claims[0].project = project
        label(claims[0], annotator2, confidence="asserted", sources=["Somebody"])
        return analyse(*args, **kwargs)

    monkeypatch.setattr(attribution, "analyse", analyse_while_someone_labels)
    refresh = project.articles.filter(pk=earlier.pk).refresh_suggestions()
    assert canonical_names(claims[0]) == [None]
    assert [canonical_names(claim) for claim in claims[1:]] == [["Korean Central News Agency"]] * 2
    assert (refresh.changed, refresh.kept) == (2, 1)


def test_refresh_command(annotator_client, project):
    article = import_body(project, "C", ARTICLE_C)
    learn_the_wording(annotator_client, project)
    out = io.StringIO()
    call_command("refresh_suggestions", project=project.slug, article=article.pk, stdout=out)
    assert out.getvalue() == (
        "Troops: 1 articles read: 3 claims with a new suggestion, 0 unchanged, "
        "0 labelled, settled or open in a form kept as they were.\n"
    )
    with pytest.raises(CommandError, match="No project with the slug 'nope'"):
        call_command("refresh_suggestions", project="nope")
    with pytest.raises(CommandError, match="has no article 999999"):
        call_command("refresh_suggestions", project=project.slug, article=999999)


def test_refresh_queries_do_not_grow_with_articles(annotator_client, project):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for articles in (1, 6):
        for number in range(articles):
            body = ARTICLE_C.replace("Monday", f"day {articles}.{number}")
            import_body(project, f"C{articles}-{number}", body)
    learn_the_wording(annotator_client, project)

    def queries_for(articles: int) -> int:
        chosen = project.articles.filter(title__startswith=f"C{articles}-")
        with CaptureQueriesContext(connection) as queries:
            assert chosen.refresh_suggestions().changed == 3 * articles
        return len(queries)

    assert queries_for(1) == queries_for(6)
