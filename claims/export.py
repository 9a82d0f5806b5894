"""Writing the dataset as CSV or JSON lines, a row at a time.

Plain data in (dicts keyed by column name), bytes out, so the web export and
``export_annotations`` produce the same bytes and neither holds the dataset in
memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

ANNOTATION_COLUMNS = (
    "project",
    "article_id",
    "article_title",
    "article_url",
    "claim_id",
    "claim_index",
    "claim_start",
    "claim_end",
    "claim_text",
    "annotator",
    "sources",
    "source_kinds",
    "attribution_cue",
    "confidence",
    "claim_kind",
    "annotator_certainty",
    "note",
    "suggested_sources",
    "suggested_confidence",
    "created_at",
    "updated_at",
    "revision",
    "needs_review",
)

# The gold export: one row per claim, with the settled label (gold_status says
# whether a reviewer settled it, the annotators agreed unanimously, or it is
# still undecided) and how far the annotators agree (share giving the most
# common value; empty below two labels).
GOLD_COLUMNS = (
    "project",
    "article_id",
    "article_title",
    "claim_id",
    "claim_index",
    "claim_start",
    "claim_end",
    "claim_text",
    "gold_status",
    "gold_sources",
    "gold_source_kinds",
    "gold_attribution_cue",
    "gold_confidence",
    "gold_claim_kind",
    "gold_note",
    "reviewer",
    "annotators",
    "n_annotations",
    "confidence_agreement",
    "claim_kind_agreement",
    "sources_agreement",
    "labels",
    "needs_review",
    "decided_at",
)

# Spreadsheets run a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"): such a cell gets a leading apostrophe. The full-width forms
# too, since some spreadsheet programs fold them into their ASCII twins.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_TRIGGER_CHARS = frozenset(FORMULA_TRIGGERS)

# Several values in one cell (sources, their kinds) are joined with this.
LIST_SEPARATOR = "; "

BOM = "\ufeff"


def neutralise(value: str) -> str:
    """Make a cell inert in spreadsheet programs, as OWASP's guidance says."""
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def cell(value: Any, *, safe: bool = True) -> str:
    # Runs once per cell of a million-row export: the common types are tested
    # first and by exact type, the formula check is one set look-up.
    kind = type(value)
    if kind is str:
        text = value
    elif kind is int or kind is float:
        # Numbers the workbench computes (an agreement can be negative) are no
        # one's text and cannot hold a formula: "-0.25" stays a number.
        return str(value)
    elif value is None:
        return ""
    elif kind is bool:
        return "true" if value else "false"
    elif kind is list or kind is tuple:
        text = LIST_SEPARATOR.join([str(item) for item in value])
    elif hasattr(value, "isoformat"):
        text = value.isoformat()
    else:
        text = str(value)
    if safe and text and text[0] in _TRIGGER_CHARS:
        return "'" + text
    return text


class _Line:
    """A file-like object whose write() hands back what csv.writer wrote."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    rows: Iterable[Mapping[str, Any]],
    columns: Iterable[str],
    *,
    safe: bool = True,
    bom: bool = False,
) -> Iterator[str]:
    """The header, then one RFC 4180 line (CRLF-terminated) per row."""
    columns = tuple(columns)
    writer = csv.writer(_Line(), lineterminator="\r\n")
    header = writer.writerow(columns)
    yield (BOM + header) if bom else header
    writerow = writer.writerow
    for row in rows:
        cells = []
        # The hot loop of a million-row export: plain text, the most common
        # value, is handled here without a call.
        for column in columns:
            value = row.get(column)
            if type(value) is str:
                if safe and value and value[0] in _TRIGGER_CHARS:
                    value = "'" + value
                cells.append(value)
            else:
                cells.append(cell(value, safe=safe))
        yield writerow(cells)


def jsonl_lines(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> Iterator[str]:
    """One JSON object per row; values keep their types (lists stay lists)."""
    columns = tuple(columns)
    for row in rows:
        record = {column: _json_value(row.get(column)) for column in columns}
        yield json.dumps(record, ensure_ascii=False) + "\n"


FORMATS = ("csv", "jsonl")


def dataset_lines(
    rows: Iterable[Mapping[str, Any]],
    columns: Iterable[str],
    *,
    fmt: str = "csv",
    bom: bool = False,
    safe: bool = True,
) -> Iterator[str]:
    """The lines of an export in either format; the web and the command both call this.

    JSON lines are for programs: values keep their types and are never
    neutralised, and there is no byte-order mark.
    """
    if fmt == "jsonl":
        return jsonl_lines(rows, columns)
    return csv_lines(rows, columns, safe=safe, bom=bom)


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def encode(lines: Iterable[str], *, batch: int = 256) -> Iterator[bytes]:
    """UTF-8 bytes in chunks of a few hundred lines, for a streaming response or a file."""
    buffer: list[str] = []
    for line in lines:
        buffer.append(line)
        if len(buffer) >= batch:
            yield "".join(buffer).encode("utf-8")
            buffer.clear()
    if buffer:
        yield "".join(buffer).encode("utf-8")
