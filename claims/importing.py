"""Reading article files: .txt/.md, .jsonl/.json and .csv, into plain records.

No database here: the caller stores the records (``Article.objects.import_records``)
inside one transaction, so a file with any bad record is imported not at all.
Every problem names the file and, where there is one, the line, and says what
to fix.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import PurePath

TEXT_SUFFIXES = (".txt", ".md")
SUFFIXES = (".txt", ".md", ".jsonl", ".json", ".csv")
TITLE_MAX = 500
URL_MAX = 2000
OUTLET_MAX = 200


class ImportProblem(ValueError):
    """A file that cannot be imported, with where and what to fix."""

    def __init__(self, filename: str, message: str, line: int | None = None) -> None:
        self.filename = filename
        self.line = line
        self.message = message
        where = f"{filename}, line {line}" if line is not None else filename
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    title: str
    body: str
    url: str = ""
    outlet: str = ""
    published: date | None = None


def parse_file(filename: str, data: bytes, *, max_bytes: int) -> list[ArticleRecord]:
    """All the articles of one uploaded or named file, or an ``ImportProblem``."""
    name = PurePath(filename).name or "upload"
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportProblem(
            name, f"unknown file type {suffix or '(none)'}; use one of {', '.join(SUFFIXES)}."
        )
    check_size(name, len(data), max_bytes=max_bytes)
    text = _decode(name, data)
    if not text.strip():
        raise ImportProblem(name, "the file is empty; it needs at least one article.")
    if suffix in TEXT_SUFFIXES:
        return [parse_text(name, text, markdown=suffix == ".md")]
    if suffix == ".jsonl":
        records = list(_parse_jsonl(name, text))
    elif suffix == ".json":
        records = list(_parse_json(name, text))
    else:
        records = list(_parse_csv(name, text))
    if not records:
        raise ImportProblem(name, "the file holds no articles.")
    return records


def check_size(filename: str, size: int, *, max_bytes: int) -> None:
    """Refuse a file over the limit before anyone reads it."""
    if size > max_bytes:
        raise ImportProblem(
            PurePath(filename).name,
            f"the file is {_megabytes(size)}, over the limit of {_megabytes(max_bytes)}; "
            "split it into smaller files.",
        )


def parse_text(filename: str, text: str, *, markdown: bool = False) -> ArticleRecord:
    """A plain-text article: the first line is the title, the rest is the body, unchanged."""
    if "\x00" in text:
        raise ImportProblem(filename, "the text contains NUL characters; is it really text?")
    title_line, _, body = text.lstrip("\ufeff").partition("\n")
    title = title_line.strip()
    if markdown:
        title = title.lstrip("#").strip()
    if not title:
        raise ImportProblem(filename, "the first line (the title) is empty.", line=1)
    if not body.strip():
        raise ImportProblem(
            filename, "there is no text after the title line; the body is empty.", line=2
        )
    return _record(filename, None, {"title": title, "body": body})


def _decode(filename: str, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise ImportProblem(
            filename,
            f"the file is not UTF-8 text (byte {error.start + 1} cannot be read); "
            "save it as UTF-8 and import it again.",
            line=line,
        ) from None


def _parse_jsonl(filename: str, text: str) -> Iterator[ArticleRecord]:
    # Lines end at "\n" only: str.splitlines() would also cut at U+2028 and other
    # separators that JSON strings may hold unescaped.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise ImportProblem(
                filename, f"this line is not valid JSON ({error.msg}).", line=number
            ) from None
        yield _record(filename, number, value)


def _parse_json(filename: str, text: str) -> Iterator[ArticleRecord]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise ImportProblem(
            filename, f"the file is not valid JSON ({error.msg}).", line=error.lineno
        ) from None
    items = value if isinstance(value, list) else [value]
    for number, item in enumerate(items, start=1):
        try:
            yield _record(filename, None, item)
        except ImportProblem as problem:
            raise ImportProblem(filename, f"article {number}: {problem.message}") from None


def _parse_csv(filename: str, text: str) -> Iterator[ArticleRecord]:
    # strict: a stray or unclosed quote is an error, not a cell that silently
    # swallows the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except csv.Error as error:
        raise ImportProblem(
            filename, f"the header cannot be read as CSV ({error}).", line=1
        ) from None
    columns = [column.strip().lower() for column in header]
    missing = [column for column in ("title", "body") if column not in columns]
    if missing:
        raise ImportProblem(
            filename,
            f"the header has no {' or '.join(missing)} column (found: "
            f"{', '.join(columns) or 'nothing'}); the columns are title, body and "
            "optionally url, outlet, published.",
            line=1,
        )
    while True:
        row_start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            if "unexpected end of data" in str(error):
                raise ImportProblem(
                    filename,
                    "a quoted cell that starts on this line is never closed; add the closing "
                    'quote (a quote inside a cell is written twice: "").',
                    line=row_start,
                ) from None
            raise ImportProblem(
                filename,
                f"this row cannot be read as CSV ({error}); a quote inside a quoted cell "
                'is written twice ("").',
                line=reader.line_num,
            ) from None
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(columns):
            raise ImportProblem(
                filename,
                f"this row has {len(row)} fields but the header has {len(columns)}; "
                "quote cells that contain commas.",
                line=reader.line_num,
            )
        yield _record(filename, reader.line_num, dict(zip(columns, row, strict=False)))


def _record(filename: str, line: int | None, value: object) -> ArticleRecord:
    if not isinstance(value, dict):
        raise ImportProblem(
            filename, "expected an object with the fields title and body.", line=line
        )
    fields: dict[str, str] = {}
    for key in ("title", "body", "url", "outlet", "published"):
        raw = value.get(key)
        if raw is None:
            fields[key] = ""
        elif isinstance(raw, str):
            fields[key] = raw
        else:
            raise ImportProblem(filename, f"the field {key!r} must be text.", line=line)
        if "\x00" in fields[key]:
            raise ImportProblem(filename, f"the field {key!r} contains NUL characters.", line=line)
    title = " ".join(fields["title"].split())
    if not title:
        raise ImportProblem(filename, "the title is missing or empty.", line=line)
    if len(title) > TITLE_MAX:
        raise ImportProblem(
            filename, f"the title is longer than {TITLE_MAX} characters.", line=line
        )
    if not fields["body"].strip():
        raise ImportProblem(filename, "the body is missing or empty.", line=line)
    url = fields["url"].strip()
    if url and (not url.startswith(("http://", "https://")) or len(url) > URL_MAX or " " in url):
        raise ImportProblem(filename, f"the url {url[:80]!r} is not an http(s) address.", line=line)
    outlet = fields["outlet"].strip()
    if len(outlet) > OUTLET_MAX:
        raise ImportProblem(
            filename, f"the outlet is longer than {OUTLET_MAX} characters.", line=line
        )
    return ArticleRecord(
        title=title,
        body=fields["body"],
        url=url,
        outlet=outlet,
        published=_parse_date(filename, line, fields["published"].strip()),
    )


def _parse_date(filename: str, line: int | None, raw: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(raw).date()
    except ValueError:
        raise ImportProblem(
            filename, f"the date {raw[:40]!r} is not in the form YYYY-MM-DD.", line=line
        ) from None


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
