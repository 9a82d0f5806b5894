from __future__ import annotations

import csv
import io

import pytest
from django.core.management import call_command

from claims import export
from claims.models import Claim

from .test_labeling import post_label

PAYLOADS = [
    "=1+1",
    '=HYPERLINK("http://example.com","x")',
    "+SUM(A1:A2)",
    "-2+3",
    "@SUM(A1)",
    "\tTAB",
    "\rCR",
    "\nLF",
    "=cmd|' /C calc'!A0",
]


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def labelled(project, article, annotator_client, annotator2_client):
    first, second = article.claims.order_by("index")[:2]
    post_label(
        annotator_client,
        project,
        first,
        note='Quote "this", and a comma,\nnew line — ünïcödé',
        source=["KCNA"],
        source_kind=["state_media"],
        source_wording=[""],
        attribution_cue="said",
    )
    post_label(annotator_client, project, second, confidence="estimated")
    post_label(annotator2_client, project, first, confidence="claimed", note="=1+1")
    return first, second


def test_export_has_the_documented_columns_and_one_row_per_annotation(
    manager_client, project, labelled
):
    response = manager_client.get(f"/p/{project.slug}/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = read_csv(streamed(response))
    assert tuple(rows[0].keys()) == export.ANNOTATION_COLUMNS
    assert len(rows) == 3
    first, _ = labelled
    row = next(r for r in rows if r["annotator"] == "annotator" and r["claim_id"] == str(first.pk))
    assert row["note"] == 'Quote "this", and a comma,\nnew line — ünïcödé'
    assert row["sources"] == "KCNA" and row["source_kinds"] == "state_media"
    assert row["attribution_cue"] == "said"
    assert row["claim_text"] == first.text
    assert int(row["claim_start"]) == first.start and int(row["claim_end"]) == first.end
    assert row["revision"] == "1"
    assert row["project"] == project.slug


def test_formula_cells_are_neutralised(manager_client, project, labelled):
    rows = read_csv(streamed(manager_client.get(f"/p/{project.slug}/export.csv")))
    notes = [row["note"] for row in rows if row["annotator"] == "annotator2"]
    assert notes == ["'=1+1"]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_injection_payload_starts_inert(payload):
    cell = export.cell(payload)
    assert cell.startswith("'") and cell[1:] == payload
    assert export.cell(payload, safe=False) == payload


def test_plain_values_are_untouched():
    assert export.cell("KCNA said") == "KCNA said"
    assert export.cell(["NATO", "United States"]) == "NATO; United States"
    assert export.cell(None) == ""
    assert export.cell(3) == "3"


def test_annotator_downloads_only_their_own_labels(annotator_client, project, labelled):
    rows = read_csv(streamed(annotator_client.get(f"/p/{project.slug}/export.csv")))
    assert {row["annotator"] for row in rows} == {"annotator"}
    assert len(rows) == 2


def test_annotator_cannot_widen_the_export_with_a_filter(annotator_client, project, labelled):
    rows = read_csv(
        streamed(annotator_client.get(f"/p/{project.slug}/export.csv?annotator=annotator2"))
    )
    assert rows == []


def test_export_filters_by_article_and_annotator(manager_client, project, labelled, article):
    rows = read_csv(
        streamed(manager_client.get(f"/p/{project.slug}/export.csv?annotator=annotator2"))
    )
    assert {row["annotator"] for row in rows} == {"annotator2"}
    rows = read_csv(
        streamed(manager_client.get(f"/p/{project.slug}/export.csv?article={article.pk + 999}"))
    )
    assert rows == []
    assert manager_client.get(f"/p/{project.slug}/export.csv?article=abc").status_code == 404


def test_command_writes_the_same_bytes_as_the_web(manager_client, project, labelled, tmp_path):
    web = streamed(manager_client.get(f"/p/{project.slug}/export.csv"))
    path = tmp_path / "out.csv"
    call_command("export_annotations", "--project", project.slug, "-o", str(path))
    assert path.read_bytes() == web


def test_command_writes_jsonl_with_lists(project, labelled, tmp_path):
    import json

    path = tmp_path / "out.jsonl"
    call_command(
        "export_annotations", "--project", project.slug, "--format", "jsonl", "-o", str(path)
    )
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 3
    assert any(record["sources"] == ["KCNA"] for record in records)


def test_bom_option_for_spreadsheets(manager_client, project, labelled):
    content = streamed(manager_client.get(f"/p/{project.slug}/export.csv?bom=1"))
    assert content.startswith("\ufeff".encode())


def test_suggestions_are_exported(manager_client, project, labelled):
    first, _ = labelled
    claim = Claim.objects.get(pk=first.pk)
    rows = read_csv(streamed(manager_client.get(f"/p/{project.slug}/export.csv")))
    row = next(r for r in rows if r["claim_id"] == str(first.pk))
    assert row["suggested_confidence"] == (claim.suggested_confidence or "")
    expected = "; ".join(
        s.get("canonical") or s["name"] for s in claim.suggestion.get("sources", [])
    )
    assert row["suggested_sources"] == expected


def test_export_is_a_streaming_response(manager_client, project, labelled):
    response = manager_client.get(f"/p/{project.slug}/export.csv")
    assert response.streaming
