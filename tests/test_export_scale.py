"""The export streams from the database in chunks: queries and memory grow with chunks, not rows.

Time and peak memory at 10k-1M rows are measured by bench/export_speed.py.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims import export
from claims.models import Annotation, AnnotationSource, Article, Claim, Source

ANNOTATORS = 3


@pytest.fixture
def many(project, annotator, annotator2, reviewer):
    """300 claims of one article, each labelled by three people, with sources."""
    article = Article.objects.create(project=project, title="Long", body="x" * 3000)
    claims = Claim.objects.bulk_create(
        Claim(
            project=project,
            article=article,
            index=n,
            start=n * 10,
            end=n * 10 + 9,
            text="x" * 9,
            suggestion={
                "sources": [{"name": "KCNA", "canonical": "KCNA"}],
                "confidence": "claimed",
            },
        )
        for n in range(300)
    )
    kcna = Source.objects.create(project=project, name="KCNA", kind="state_media")
    nato = Source.objects.create(project=project, name="NATO", kind="international_org")
    people = [annotator, annotator2, reviewer]
    labels = Annotation.objects.bulk_create(
        Annotation(project=project, claim=claim, annotator=person, confidence="claimed", note="n")
        for claim in claims
        for person in people
    )
    AnnotationSource.objects.bulk_create(
        AnnotationSource(annotation=label, source=source, position=position)
        for label in labels
        for position, source in enumerate([nato, kcna][: 1 + label.pk % 2])
    )
    return project


def test_queries_grow_with_chunks_not_rows(many, django_assert_max_num_queries):
    annotations = Annotation.objects.filter(project=many)
    # 900 rows in chunks of 100: the rows' query, then sources and suggestions per chunk.
    with django_assert_max_num_queries(1 + 2 * 9 + 2):
        rows = list(annotations.export_rows(chunk_size=100))
    assert len(rows) == 900


def test_rows_keep_their_sources_in_order_across_chunks(many):
    rows = list(Annotation.objects.filter(project=many).export_rows(chunk_size=7))
    by_id = {label.pk: label for label in Annotation.objects.filter(project=many)}
    assert len(rows) == len(by_id) == 900
    for row in rows:
        assert row["suggested_sources"] == ["KCNA"] and row["suggested_confidence"] == "claimed"
        assert row["sources"] in (["NATO"], ["NATO", "KCNA"])
        assert row["source_kinds"] == ["international_org", "state_media"][: len(row["sources"])]
    ordered = [(row["claim_index"], row["annotator"]) for row in rows]
    assert [index for index, _ in ordered] == sorted(index for index, _ in ordered)


def test_article_bodies_are_never_read(many):
    with CaptureQueriesContext(connection) as queries:
        list(Annotation.objects.filter(project=many).export_rows(chunk_size=500))
    assert queries.captured_queries
    for query in queries.captured_queries:
        assert '"body"' not in query["sql"]


def test_the_web_export_is_streamed_before_any_row_is_read(manager_client, many):
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get("/p/troops/export.csv")
        before = len(queries.captured_queries)
        first = next(iter(response.streaming_content))
    assert response.streaming
    assert first.startswith(b"project,article_id")
    # Rows were read only once the body was iterated.
    assert len(queries.captured_queries) > before


def live_memory_while_exporting(annotations, at: tuple[int, ...]) -> list[int]:
    """Memory still referenced (garbage collected first) when row n of the export is written."""
    lines = export.csv_lines(annotations.export_rows(chunk_size=50), export.ANNOTATION_COLUMNS)
    measured = []
    tracemalloc.start()
    try:
        for number, _ in enumerate(lines):
            if number in at:
                gc.collect()
                measured.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    return measured


def test_rows_are_neither_read_ahead_nor_kept(many):
    annotations = Annotation.objects.filter(project=many)
    few = annotations.filter(
        pk__in=annotations.order_by("claim__index", "annotator").values("pk")[:150]
    )
    [small] = live_memory_while_exporting(few, at=(120,))
    early, late = live_memory_while_exporting(annotations, at=(120, 870))
    # Six times the rows, the same memory in use at row 120 (nothing read ahead),
    # and 750 rows later still the same (nothing kept); a list of every row
    # would hold about 1 KB per row.
    assert early - small < 100_000
    assert late - early < 100_000
