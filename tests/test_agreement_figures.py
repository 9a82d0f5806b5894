"""Agreement read from the database equals claims.agreement fed the same labels by hand."""

from __future__ import annotations

import pytest

from claims import agreement
from claims.importing import ArticleRecord
from claims.models import Article, LabelValues, SourceChoice
from claims.project_stats import (
    LabelRows,
    ProjectStats,
    confidence_order,
    figures_for_dashboard,
    project_agreement,
    refresh_figures,
)

from .conftest import make_user

ORDER = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]

# (claim position, annotator, confidence, kind, sources): three annotators, two
# articles, missing labels, a not_a_claim without confidence, and source sets
# that are equal, nested, overlapping and disjoint.
LABELS = [
    (0, "ann", "asserted", "claim", {"KCNA"}),
    (0, "bob", "asserted", "claim", {"KCNA"}),
    (0, "cat", "claimed", "claim", {"KCNA", "NATO"}),
    (1, "ann", "estimated", "claim", {"South Korean intelligence"}),
    (1, "bob", "speculative", "claim", {"South Korean intelligence"}),
    (2, "ann", "", "not_a_claim", set()),
    (2, "cat", "asserted", "claim", set()),
    (3, "bob", "unclear", "claim", {"Ukraine"}),
    (3, "cat", "unclear", "opinion", {"Ukraine", "Russia"}),
    (4, "ann", "asserted", "claim", {"NATO"}),  # alone: not pairable
    (5, "ann", "claimed", "claim", {"Ukraine"}),
    (5, "bob", "asserted", "claim", {"Russia"}),
    (5, "cat", "claimed", "claim", {"Ukraine"}),
    (6, "bob", "confirmed", "claim", {"NATO", "United States"}),
    (6, "cat", "confirmed", "claim", {"NATO", "United States"}),
]
FIRST_ARTICLE_CLAIMS = 4  # positions 0-3 in the first article, 4-6 in the second


@pytest.fixture
def labelled(project):
    project.annotations_per_claim = 3
    project.save()
    Article.objects.import_records(
        project,
        [
            ArticleRecord(title="One", body=" ".join(f"Claim {n} was said." for n in range(4))),
            ArticleRecord(title="Two", body=" ".join(f"Point {n} was made." for n in range(3))),
        ],
    )
    claims = [
        *project.articles.get(title="One").claims.order_by("index"),
        *project.articles.get(title="Two").claims.order_by("index"),
    ]
    assert len(claims) == 7
    users = {name: make_user(name) for name in ("ann", "bob", "cat")}
    for position, name, confidence, kind, sources in LABELS:
        claims[position].record_label(
            annotator=users[name],
            values=LabelValues(
                confidence=confidence,
                claim_kind=kind,
                sources=[SourceChoice(name=source) for source in sorted(sources)],
            ),
        )
    return claims, users


def hand_records(claims, field):
    """The records written out from LABELS, as claims.agreement takes them.

    A blank confidence (not_a_claim) is a missing value; sources are frozensets.
    """
    index = {"confidence": 2, "claim_kind": 3, "sources": 4}[field]
    if field == "sources":
        return [(claims[row[0]].pk, row[1], frozenset(row[index])) for row in LABELS]
    return [(claims[row[0]].pk, row[1], row[index] or None) for row in LABELS]


def test_label_rows_read_every_annotation_as_plain_values(labelled, project):
    rows = LabelRows.read(project)
    assert len(rows.claim) == len(LABELS)
    assert all(isinstance(sources, frozenset) for sources in rows.sources)
    assert sorted(len(sources) for sources in rows.sources) == sorted(len(row[4]) for row in LABELS)


def test_project_figures_equal_the_module_on_hand_built_records(labelled, project):
    claims, users = labelled
    figures = project_agreement(project)
    confidence = hand_records(claims, "confidence")
    sources = hand_records(claims, "sources")
    assert figures.confidence == agreement.agreement(confidence)
    assert figures.confidence_ordinal == agreement.agreement(
        confidence, level="ordinal", order=ORDER
    )
    assert figures.claim_kind == agreement.agreement(hand_records(claims, "claim_kind"))
    assert figures.sources == agreement.agreement(sources, distance="masi")
    # Not trivially equal: the sample has disagreement and a defined alpha.
    assert figures.confidence.alpha is not None and figures.confidence.alpha < 1
    assert figures.sources.units == 6


def test_confidence_order_is_the_label_sets_position(project):
    assert confidence_order(project) == ORDER


def test_article_figures_equal_the_module_per_article(labelled, project):
    claims, users = labelled
    figures = project_agreement(project)
    article_of = {claim.pk: claim.article_id for claim in claims}
    expected = agreement.agreement_by_group(hand_records(claims, "confidence"), article_of)
    assert {a: f["confidence"] for a, f in figures.by_article.items()} == expected
    expected_sources = agreement.agreement_by_group(
        hand_records(claims, "sources"), article_of, distance="masi"
    )
    assert {a: f["sources"] for a, f in figures.by_article.items()} == expected_sources
    assert len(figures.by_article) == 2


def test_pair_figures_equal_the_module_per_pair(labelled, project):
    claims, users = labelled
    figures = project_agreement(project)
    expected = agreement.pairwise(hand_records(claims, "confidence"))
    got = {(pair.first, pair.second): pair.confidence for pair in figures.pairs}
    assert got == expected
    assert set(got) == {("ann", "bob"), ("ann", "cat"), ("bob", "cat")}
    kinds = agreement.pairwise(hand_records(claims, "claim_kind"))
    assert {(p.first, p.second): p.claim_kind for p in figures.pairs} == kinds
    source_pairs = agreement.pairwise(hand_records(claims, "sources"))
    assert {(p.first, p.second): p.sources for p in figures.pairs} == source_pairs


def test_agreement_reads_a_fixed_number_of_queries(
    labelled, project, django_assert_max_num_queries
):
    with django_assert_max_num_queries(4):
        project_agreement(project)


def test_empty_project_has_undefined_figures(project):
    figures = project_agreement(project)
    assert figures.confidence.alpha is None
    assert figures.confidence.units == 0
    assert figures.pairs == []


def test_dashboard_figures_are_kept_until_a_label_changes(
    labelled, project, django_assert_max_num_queries
):
    claims, users = labelled
    first = refresh_figures(project)
    totals = ProjectStats(project).totals()
    # Unchanged labels: the stored figures, without reading a label.
    with django_assert_max_num_queries(2):
        kept = figures_for_dashboard(project, totals)
    assert kept.computed_at == first.computed_at
    assert kept.figures.agreement == first.figures.agreement
    assert not kept.labels_changed
    # An edit (ann changes her mind on claim 1) is seen at once in a project this small.
    claims[1].record_label(
        annotator=users["ann"], values=LabelValues(confidence="speculative", claim_kind="claim")
    )
    changed = figures_for_dashboard(project, ProjectStats(project).totals())
    assert changed.figures.agreement == project_agreement(project)
    assert changed.figures.agreement.confidence != first.figures.agreement.confidence
