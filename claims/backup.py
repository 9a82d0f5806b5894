"""A whole-database backup as JSON lines, and its restore.

``export_annotations --all --format jsonl`` writes it, ``import_annotations FILE``
reads it back. The first line names the format; every further line is one row:
``{"type": "claim", "id": 12, "article": 3, ...}``. Rows keep their ids, so the
ids in earlier exports (``article_id``, ``claim_id``) still name the same things
after a restore, and people are named by username, since user ids differ
between databases. Types come in an order where a row only refers to rows
before it, so both directions stream in constant memory.

Not kept: skipped claims and reservations of the queue (they expire), the
default label set (migrations create it), passwords (restored people get
unusable ones and set theirs through an administrator), login sessions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management.color import no_style
from django.db import IntegrityError, connection, models, transaction

from claims.importing import ImportProblem
from claims.models import (
    Annotation,
    AnnotationRevision,
    AnnotationSource,
    Article,
    Assignment,
    Claim,
    GoldLabel,
    Label,
    Membership,
    Project,
    Source,
    SourceAlias,
)

FORMAT = "claim-workbench-backup"
VERSION = 1

# Referenced rows before the rows that refer to them.
TABLES: dict[str, type[models.Model]] = {
    "project": Project,
    "label": Label,
    "member": Membership,
    "article": Article,
    "assignment": Assignment,
    "claim": Claim,
    "source": Source,
    "alias": SourceAlias,
    "annotation": Annotation,
    "annotation_source": AnnotationSource,
    "revision": AnnotationRevision,
    "gold": GoldLabel,
}

BATCH = 1000


def _fields(model: type[models.Model]) -> list[models.Field]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _is_user(field_: models.Field) -> bool:
    return field_.is_relation and field_.related_model is get_user_model()


def _name(field_: models.Field) -> str:
    """The key in the backup: a relation without its ``_id``, like the export's columns."""
    return field_.name


# --- Writing -------------------------------------------------------------------------


def dump_lines(*, chunk_size: int = 2000) -> Iterator[str]:
    """The backup, one JSON line at a time."""
    usernames = dict(get_user_model().objects.values_list("pk", "username"))
    yield _line({"type": FORMAT, "version": VERSION})
    for kind, model in TABLES.items():
        fields = _fields(model)
        rows = model.objects.order_by("pk")
        if model is Label:
            rows = rows.filter(project__isnull=False)
        values = rows.values_list("pk", *(f.attname for f in fields))
        gold_sources = _gold_sources() if model is GoldLabel else {}
        for row in values.iterator(chunk_size=chunk_size):
            record: dict[str, Any] = {"type": kind, "id": row[0]}
            for field_, value in zip(fields, row[1:], strict=True):
                if _is_user(field_) and value is not None:
                    value = usernames[value]
                record[_name(field_)] = _plain(value)
            if model is GoldLabel:
                record["sources"] = gold_sources.get(row[0], [])
            yield _line(record)


def _gold_sources() -> dict[int, list[int]]:
    through = GoldLabel.sources.through
    links: dict[int, list[int]] = {}
    for gold_id, source_id in through.objects.order_by("pk").values_list(
        "goldlabel_id", "source_id"
    ):
        links.setdefault(gold_id, []).append(source_id)
    return links


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if value is not None and not isinstance(value, (str, int, float, bool, list, dict)):
        return str(value)  # UUIDs
    return value


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"


# --- Restoring -----------------------------------------------------------------------


@dataclass
class RestoreSummary:
    rows: dict[str, int] = field(default_factory=dict)
    users_created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in self.rows.items())
        return f"restored {counts or 'nothing'}; {len(self.users_created)} people created"


def restore(filename: str, lines: Iterable[str]) -> RestoreSummary:
    """Load a backup into a database that holds none of its kind of rows, all or nothing."""
    restorer = _Restorer(filename)
    try:
        with transaction.atomic(), _keep_timestamps():
            _require_empty(filename)
            restorer.run(lines)
            # Foreign keys are checked at commit otherwise; check now, to name the problem.
            connection.check_constraints(
                table_names=[model._meta.db_table for model in _restored_models()]
            )
            _reset_sequences()
    except IntegrityError as error:
        # A row naming a row the file does not hold.
        raise ImportProblem(
            filename,
            f"the backup does not hold together ({error}); restore an unedited backup.",
        ) from None
    return restorer.summary


class _Restorer:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.summary = RestoreSummary()
        self.users: dict[str, int] = dict(get_user_model().objects.values_list("username", "pk"))
        self.pending: list[models.Model] = []
        self.pending_gold_sources: list[tuple[int, int]] = []
        self.kind = ""
        self.seen: set[str] = set()

    def run(self, lines: Iterable[str]) -> None:
        header_seen = False
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            record = self._parse(number, line)
            if not header_seen:
                if record.get("type") != FORMAT:
                    raise ImportProblem(
                        self.filename,
                        "this is not a backup written by export_annotations --all "
                        "(the first line does not name the format).",
                        line=number,
                    )
                if record.get("version") != VERSION:
                    raise ImportProblem(
                        self.filename,
                        f"backup version {record.get('version')!r} cannot be read; "
                        f"this version reads version {VERSION}.",
                        line=number,
                    )
                header_seen = True
                continue
            self._add(number, record)
        if not header_seen:
            raise ImportProblem(self.filename, "the file is empty; it holds no backup.")
        self._flush()

    def _parse(self, number: int, line: str) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ImportProblem(
                self.filename, f"this line is not valid JSON ({error.msg}).", line=number
            ) from None
        if not isinstance(record, dict):
            raise ImportProblem(self.filename, "expected a JSON object.", line=number)
        return record

    def _add(self, number: int, record: dict[str, Any]) -> None:
        kind = record.pop("type", None)
        model = TABLES.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise ImportProblem(
                self.filename,
                f"unknown row type {kind!r}; expected one of {', '.join(TABLES)}.",
                line=number,
            )
        if kind != self.kind:
            self._flush()
            if kind in self.seen:
                raise ImportProblem(
                    self.filename,
                    f"{kind} rows appear again after other rows; the rows of one type "
                    "must stay together, as export_annotations --all writes them.",
                    line=number,
                )
            self.seen.add(kind)
            self.kind = kind
        gold_sources = record.pop("sources", []) if model is GoldLabel else []
        instance = self._instance(number, model, record)
        self.pending.append(instance)
        self.pending_gold_sources.extend((instance.pk, source) for source in gold_sources)
        self.summary.rows[kind] = self.summary.rows.get(kind, 0) + 1
        if len(self.pending) >= BATCH:
            self._flush()

    def _instance(self, number: int, model: type[models.Model], record: dict[str, Any]):
        by_name = {_name(f): f for f in _fields(model)}
        unknown = set(record) - set(by_name) - {"id"}
        if unknown:
            raise ImportProblem(
                self.filename,
                f"unknown field(s) {', '.join(sorted(unknown))} for {model._meta.verbose_name}; "
                "was the backup written by a newer version?",
                line=number,
            )
        # Labels keep no id: nothing refers to them, and the default set's ids may differ.
        values: dict[str, Any] = {} if model is Label else {"pk": record.get("id")}
        try:
            for name, value in record.items():
                if name == "id":
                    continue
                field_ = by_name[name]
                if _is_user(field_):
                    values[field_.attname] = None if value is None else self._user(value)
                elif field_.is_relation:
                    values[field_.attname] = value
                else:
                    values[field_.attname] = field_.to_python(value)
        except Exception as error:  # a field's own validation: name the line
            raise ImportProblem(
                self.filename, f"a value cannot be read ({error}).", line=number
            ) from None
        return model(**values)

    def _user(self, username: str) -> int:
        if username not in self.users:
            user: AbstractBaseUser = get_user_model()(username=username)
            user.set_unusable_password()
            user.save()
            self.users[username] = user.pk
            self.summary.users_created.append(username)
        return self.users[username]

    def _flush(self) -> None:
        if self.pending:
            type(self.pending[0]).objects.bulk_create(self.pending)
            self.pending = []
        if self.pending_gold_sources:
            through = GoldLabel.sources.through
            through.objects.bulk_create(
                through(goldlabel_id=gold, source_id=source)
                for gold, source in self.pending_gold_sources
            )
            self.pending_gold_sources = []


def _require_empty(filename: str) -> None:
    for kind, model in TABLES.items():
        rows = model.objects.all()
        if model is Label:
            rows = rows.filter(project__isnull=False)
        if rows.exists():
            raise ImportProblem(
                filename,
                f"the database already holds {kind} rows; restore into an empty database "
                "(run migrate on a new one).",
            )


@contextmanager
def _keep_timestamps() -> Iterator[None]:
    """Let restored rows keep their own created/updated times instead of now."""
    switched: list[tuple[models.DateTimeField, bool, bool]] = []
    for model in TABLES.values():
        for field_ in model._meta.concrete_fields:
            if isinstance(field_, models.DateField) and (field_.auto_now or field_.auto_now_add):
                switched.append((field_, field_.auto_now, field_.auto_now_add))
                field_.auto_now = field_.auto_now_add = False
    try:
        yield
    finally:
        for field_, auto_now, auto_now_add in switched:
            field_.auto_now, field_.auto_now_add = auto_now, auto_now_add


def _reset_sequences() -> None:
    """PostgreSQL's id sequences must move past the ids written explicitly."""
    statements = connection.ops.sequence_reset_sql(no_style(), _restored_models())
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def _restored_models() -> list[type[models.Model]]:
    return [*TABLES.values(), GoldLabel.sources.through]
