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

# Spreadsheets run a cell that starts with one of these as a formula (OWASP,
# "CSV Injection"): such a cell gets a leading apostrophe.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")

# Several values in one cell (sources, their kinds) are joined with this.
LIST_SEPARATOR = "; "

BOM = "\ufeff"


def neutralise(value: str) -> str:
    """Make a cell inert in spreadsheet programs, as OWASP's guidance says."""
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def cell(value: Any, *, safe: bool = True) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        value = LIST_SEPARATOR.join(str(item) for item in value)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    text = str(value)
    return neutralise(text) if safe else text


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
    for row in rows:
        yield writer.writerow([cell(row.get(column), safe=safe) for column in columns])


def jsonl_lines(rows: Iterable[Mapping[str, Any]], columns: Iterable[str]) -> Iterator[str]:
    """One JSON object per row; values keep their types (lists stay lists)."""
    columns = tuple(columns)
    for row in rows:
        record = {column: _json_value(row.get(column)) for column in columns}
        yield json.dumps(record, ensure_ascii=False) + "\n"


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
