from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pandas
import pytest
from django.core.management import CommandError, call_command

from claims import export
from claims.forms import ExportFilterForm
from claims.importing import ArticleRecord
from claims.models import Annotation, Article, Claim, GoldLabel, LabelValues

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
        streamed(manager_client.get(f"/p/{project.slug}/export.csv?article={article.pk}"))
    )
    assert len(rows) == 3 and {row["article_id"] for row in rows} == {str(article.pk)}


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


# --- Filters: one form for the web and the command -----------------------------------


PAYLOAD_FILE = Path(__file__).parent / "data" / "csv_injection_payloads.txt"


def injection_payloads() -> list[str]:
    lines = PAYLOAD_FILE.read_text(encoding="utf-8").splitlines()
    return [
        line.replace("\\t", "\t").replace("\\r", "\r").replace("\\n", "\n")
        for line in lines
        if line and not line.startswith("#")
    ]


def export_url(project, suffix: str = "csv", **params) -> str:
    query = urlencode(params)
    return f"/p/{project.slug}/export.{suffix}" + (f"?{query}" if query else "")


def command_bytes(project, tmp_path, *args: str) -> bytes:
    path = tmp_path / "command-export"
    call_command("export_annotations", "--project", project.slug, *args, "-o", str(path))
    return path.read_bytes()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"created_from": "23/10/2025"}, "created_from: Give the date as YYYY-MM-DD"),
        ({"updated_to": "2025-02-30"}, "updated_to: Give the date as YYYY-MM-DD"),
        ({"article": "abc"}, "article: Give the article's id"),
        ({"article": "999999"}, "article: This project has no article 999999"),
        ({"annotator": "nobody"}, "annotator: No one called “nobody”"),
        ({"claim_kind": "rumour"}, "claim_kind: “rumour” is not a claim kind"),
        ({"with_gold": "maybe"}, "with_gold: “maybe” is not on or off"),
        ({"neutralise": "no-thanks"}, "neutralise: “no-thanks” is not on or off"),
        (
            {"created_from": "2025-10-24", "created_to": "2025-10-23"},
            "created_to (2025-10-23) is before created_from (2025-10-24)",
        ),
    ],
)
def test_bad_filter_values_get_400_with_a_message(
    manager_client, project, labelled, params, message
):
    for suffix in ("csv", "jsonl"):
        response = manager_client.get(export_url(project, suffix, **params))
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/plain")
        assert message in response.content.decode()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--created-from", "23/10/2025"], "--created-from: Give the date as YYYY-MM-DD"),
        (["--article", "999999"], "--article: This project has no article 999999"),
        (["--claim-kind", "rumour"], "--claim-kind: “rumour” is not a claim kind"),
        (["--annotator", "nobody"], "--annotator: No one called “nobody”"),
    ],
)
def test_command_names_the_bad_option(project, labelled, tmp_path, args, message):
    with pytest.raises(CommandError) as error:
        command_bytes(project, tmp_path, *args)
    assert message in str(error.value)


def test_date_range_filters_keep_whole_days_both_ends_included(
    manager_client, project, labelled, tmp_path
):
    first, second = labelled
    stamp = datetime(2025, 10, 23, 23, 59, tzinfo=UTC)
    Annotation.objects.filter(claim=first).update(created_at=stamp, updated_at=stamp)
    Annotation.objects.filter(claim=second).update(
        created_at=stamp - timedelta(days=3), updated_at=stamp + timedelta(days=3)
    )
    day = {"created_from": "2025-10-23", "created_to": "2025-10-23"}
    rows = read_csv(streamed(manager_client.get(export_url(project, **day))))
    assert sorted(row["claim_id"] for row in rows) == [str(first.pk)] * 2
    later = {"updated_from": "2025-10-24"}
    rows = read_csv(streamed(manager_client.get(export_url(project, **later))))
    assert [row["claim_id"] for row in rows] == [str(second.pk)]
    assert streamed(manager_client.get(export_url(project, **later))) == command_bytes(
        project, tmp_path, "--updated-from", "2025-10-24"
    )


def test_claim_kind_filter(manager_client, project, labelled, tmp_path):
    first, second = labelled
    Annotation.objects.filter(claim=second).update(claim_kind="opinion")
    rows = read_csv(streamed(manager_client.get(export_url(project, claim_kind="opinion"))))
    assert [(row["claim_id"], row["claim_kind"]) for row in rows] == [(str(second.pk), "opinion")]
    assert streamed(manager_client.get(export_url(project, claim_kind="opinion"))) == (
        command_bytes(project, tmp_path, "--claim-kind", "opinion")
    )


def test_only_claims_with_gold(manager_client, project, labelled, reviewer, tmp_path):
    first, second = labelled
    GoldLabel.objects.create(claim=second, reviewer=reviewer, confidence="estimated")
    rows = read_csv(streamed(manager_client.get(export_url(project, with_gold=1))))
    assert [row["claim_id"] for row in rows] == [str(second.pk)]
    assert streamed(manager_client.get(export_url(project, with_gold=1))) == command_bytes(
        project, tmp_path, "--with-gold"
    )


def test_claim_filters_select_claims_for_the_gold_export(project, labelled, reviewer):
    first, second = labelled
    GoldLabel.objects.create(claim=first, reviewer=reviewer, confidence="claimed")
    claims = Claim.objects.filter(project=project)

    def selected(**data) -> list[int]:
        form = ExportFilterForm(project, data)
        assert form.is_valid(), form.errors
        return sorted(form.filter_claims(claims).values_list("pk", flat=True))

    assert selected(annotator="annotator2") == [first.pk]
    assert selected(with_gold="1") == [first.pk]
    assert selected(annotator="annotator") == sorted([first.pk, second.pk])
    assert len(selected()) == claims.count()


def test_jsonl_address_gives_the_same_rows_as_the_command(
    manager_client, project, labelled, tmp_path
):
    response = manager_client.get(export_url(project, "jsonl"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    assert 'filename="troops.jsonl"' in response["Content-Disposition"]
    web = streamed(response)
    assert web == command_bytes(project, tmp_path, "--format", "jsonl")
    records = [json.loads(line) for line in web.decode().splitlines()]
    assert len(records) == 3 and tuple(records[0]) == export.ANNOTATION_COLUMNS
    # JSON lines are for programs: nothing is neutralised.
    assert any(record["note"] == "=1+1" for record in records)


def test_annotator_gets_only_their_own_labels_as_jsonl(annotator_client, project, labelled):
    web = streamed(annotator_client.get(export_url(project, "jsonl", annotator="annotator2")))
    assert web == b""
    web = streamed(annotator_client.get(export_url(project, "jsonl")))
    assert {json.loads(line)["annotator"] for line in web.decode().splitlines()} == {"annotator"}


def test_outsider_cannot_export_in_any_format(outsider_client, project, labelled):
    for suffix in ("csv", "jsonl"):
        assert outsider_client.get(export_url(project, suffix)).status_code == 404


def test_neutralising_can_be_turned_off_for_programs(manager_client, project, labelled, tmp_path):
    web = streamed(manager_client.get(export_url(project, neutralise=0)))
    assert web == command_bytes(project, tmp_path, "--no-neutralise")
    notes = [row["note"] for row in read_csv(web) if row["annotator"] == "annotator2"]
    assert notes == ["=1+1"]


def test_bom_is_the_same_on_the_web_and_from_the_command(
    manager_client, project, labelled, tmp_path
):
    web = streamed(manager_client.get(export_url(project, bom=1)))
    assert web.startswith(b"\xef\xbb\xbf") and web == command_bytes(project, tmp_path, "--bom")


# --- Round trips and spreadsheet safety -------------------------------------------


TRICKY = [
    'Quote "this", and a comma',
    "Two\nlines\r\nand a CR\r",
    "Tab\tinside; semicolon",
    "Ünïcödé — 平壤 — Пхеньян — كوريا — 🚀 — \u200b zero width",
    "   leading and trailing spaces   ",
    '""',
    ",",
    "'=already quoted",
]


@pytest.fixture
def tricky(project, annotator):
    """One label per tricky text, each on its own claim of a long article."""
    notes = TRICKY + injection_payloads()
    body = " ".join(
        f"Officials said, {n}, that “troops” — 부대 — moved." for n in range(len(notes))
    )
    Article.objects.import_records(project, [ArticleRecord(title="Many", body=body)])
    claims = list(Claim.objects.filter(project=project).order_by("index"))
    assert len(claims) >= len(notes)
    labels = {}
    for claim, note in zip(claims, notes, strict=False):
        claim.project = project
        labels[claim.pk] = claim.record_label(
            annotator=annotator,
            values=LabelValues(confidence="asserted", claim_kind="claim", note=note),
        )
    return labels, notes


def exported_notes(client, project, **params) -> dict[str, str]:
    rows = read_csv(streamed(client.get(export_url(project, **params))))
    return {row["claim_id"]: row["note"] for row in rows}


def test_texts_survive_a_round_trip_through_csv_when_not_neutralised(
    manager_client, project, tricky
):
    labels, _ = tricky
    notes = exported_notes(manager_client, project, neutralise=0)
    assert notes == {str(pk): annotation.note for pk, annotation in labels.items()}


def test_texts_survive_a_round_trip_through_pandas(manager_client, project, tricky):
    labels, _ = tricky
    frame = pandas.read_csv(
        io.BytesIO(streamed(manager_client.get(export_url(project, neutralise=0, bom=1)))),
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",
    )
    assert list(frame.columns) == list(export.ANNOTATION_COLUMNS)
    assert dict(zip(frame["claim_id"], frame["note"], strict=True)) == {
        str(pk): annotation.note for pk, annotation in labels.items()
    }
    assert dict(zip(frame["claim_id"], frame["claim_text"], strict=True)) == {
        str(pk): annotation.claim.text for pk, annotation in labels.items()
    }


def test_neutralised_texts_only_gain_a_leading_apostrophe(manager_client, project, tricky):
    labels, _ = tricky
    notes = exported_notes(manager_client, project)
    for pk, annotation in labels.items():
        original = annotation.note
        expected = "'" + original if original[:1] in export.FORMULA_TRIGGERS else original
        assert notes[str(pk)] == expected


def test_injection_payload_file_holds_a_few_dozen_payloads():
    payloads = injection_payloads()
    assert len(payloads) >= 40
    assert sum(payload[:1] in export.FORMULA_TRIGGERS for payload in payloads) >= 35


@pytest.mark.parametrize("payload", injection_payloads())
def test_no_exported_cell_starts_a_formula(payload):
    row = {column: payload for column in export.ANNOTATION_COLUMNS}
    row["sources"] = [payload, "KCNA"]
    content = b"".join(export.encode(export.csv_lines([row], export.ANNOTATION_COLUMNS)))
    [parsed] = list(csv.reader(io.StringIO(content.decode("utf-8"), newline="")))[1:]
    assert len(parsed) == len(export.ANNOTATION_COLUMNS)
    for value in parsed:
        assert value[:1] not in export.FORMULA_TRIGGERS
    # Only the leading apostrophe was added; the payload itself is intact.
    assert (
        parsed[0].removeprefix("'") == payload
        if payload[:1] in export.FORMULA_TRIGGERS
        else (parsed[0] == payload)
    )


def test_computed_numbers_stay_numbers_but_text_that_looks_like_one_is_neutralised():
    assert export.cell(-0.25) == "-0.25"
    assert export.cell(-3) == "-3"
    assert export.cell("-3") == "'-3"
