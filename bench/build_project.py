"""Build a synthetic project of a chosen size in the benchmark database.

    .venv/bin/python bench/build_project.py --claims 100000 [--db sqlite|postgres] [--rebuild]

Defaults scale with ``--claims``: ten claims per article, ten labels per claim
(100,000 claims -> 10,000 articles and 1,000,000 annotations) by 20 annotators,
each annotation with its first revision and, for most, a source. Each claim
has six open slots left (the project asks for 16 labels), so the queue always
has work for every annotator, and every annotator has already labelled half
of the project, which is the state in which "what is next for me" is hardest.

Rows go in with multi-row inserts (SQLite) or COPY (PostgreSQL), not through
the ORM, so a million labels take a minute rather than an hour. The project
is named ``bench-<claims>``; building it again reuses it unless ``--rebuild``.

The database is the one of ``bench/settings.py``: ``bench/.data/wb_bench.sqlite3``
or the PostgreSQL database ``wb_bench``, never the developer's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/wb_bench"
ANNOTATOR_NAME = "bench-annotator-{:02d}"
CONFIDENCE = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]
CONFIDENCE_WEIGHTS = [0.08, 0.45, 0.22, 0.10, 0.12, 0.03]
KINDS = ["claim", "opinion", "not_a_claim"]
KIND_WEIGHTS = [0.8, 0.12, 0.08]
SOURCES = [
    ("KCNA", "state_media"),
    ("South Korean intelligence", "intelligence"),
    ("the Ministry of Defence", "government"),
    ("NATO", "international_org"),
    ("the General Staff", "military"),
    ("analysts", "expert"),
    ("a senior official", "official"),
    ("people familiar with the matter", "anonymous"),
] + [(f"Agency {number}", "government") for number in range(52)]
PLACES = ["Pyongyang", "Kursk", "Seoul", "Kyiv", "Vladivostok", "the border", "the coast"]
SENTENCES = [
    "{source} said on {day} that {n} troops had been deployed near {place}.",
    "According to {source}, around {n} soldiers were killed in fighting near {place}.",
    "{source} claimed that the missile tested on {day} could reach {place}.",
    "Estimates by {source} suggest more than {n} shells were shipped through {place}.",
    "It remains unclear how many of the {n} workers sent to {place} have returned.",
    "{source} might have received {n} drones before the talks in {place} on {day}.",
    "The museum in {place} was inaugurated on {day}, {source} reported.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def database_url(db: str) -> str:
    return POSTGRES_URL if db == "postgres" else ""


def setup_django(db: str = "sqlite", *, migrate: bool = True) -> None:
    """Point Django at the benchmark database (created and migrated when needed)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    if db == "postgres":
        os.environ["BENCH_DATABASE_URL"] = POSTGRES_URL
        _create_postgres_database()
    else:
        os.environ.pop("BENCH_DATABASE_URL", None)
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)


def _create_postgres_database() -> None:
    import psycopg

    name = POSTGRES_URL.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict[str, str]:
    """Where the figures came from: CPU, memory, Python and database versions, load."""
    import platform

    from django.db import connection

    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT sqlite_version()")
            database = f"SQLite {cursor.fetchone()[0]}"
        else:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    return {
        "cpu": f"{os.cpu_count()} x {model}",
        "memory": memory,
        "python": platform.python_version(),
        "database": database,
        "load": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Figures for run_all.py, with the machine they came from."""
    path.write_text(json.dumps(payload | {"machine": machine()}, indent=1, default=str))


# --- Writing rows fast ---------------------------------------------------------------------


class RowWriter:
    """Insert plain tuples into a model's table: COPY on PostgreSQL, multi-row INSERTs on SQLite."""

    def __init__(self) -> None:
        from django.db import connection

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"

    def value(self, value: Any) -> Any:
        """A Python value as the backend stores it (SQLite keeps datetimes and JSON as text)."""
        if isinstance(value, datetime) and not self.postgres:
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        if isinstance(value, (dict, list)):
            return json.dumps(value, ensure_ascii=False)
        return value

    def write(self, model: Any, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        table = self.connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(self.connection.ops.quote_name(column) for column in columns)
        count = 0
        with self.connection.cursor() as cursor:
            if self.postgres:
                raw = cursor.cursor  # the psycopg cursor under Django's wrapper
                with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([self.value(value) for value in row])
                        count += 1
                return count
            # SQLite allows 32766 bound parameters per statement.
            per_statement = max(1, 30000 // len(columns))
            placeholder = "(" + ", ".join("?" * len(columns)) + ")"
            batch: list[Any] = []
            batch_rows = 0
            sql_head = f"INSERT INTO {table} ({names}) VALUES "

            def flush() -> None:
                cursor.execute(sql_head + ", ".join([placeholder] * batch_rows), batch)

            for row in rows:
                batch.extend(self.value(value) for value in row)
                batch_rows += 1
                count += 1
                if batch_rows == per_statement:
                    flush()
                    batch, batch_rows = [], 0
            if batch_rows:
                flush()
        return count

    def next_id(self, model: Any) -> int:
        from django.db.models import Max

        return (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1

    def reset_sequences(self, models: Sequence[Any]) -> None:
        if not self.postgres:
            return
        from django.core.management.color import no_style

        with self.connection.cursor() as cursor:
            for sql in self.connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)


# --- The synthetic project -------------------------------------------------------------------


def slug_for(claims: int) -> str:
    return f"bench-{claims}"


def bench_users(annotators: int) -> dict[str, Any]:
    """The synthetic annotators, reviewer and manager (shared by every bench project)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password

    user_model = get_user_model()
    names = [ANNOTATOR_NAME.format(n + 1) for n in range(annotators)]
    names += ["bench-reviewer", "bench-manager"]
    existing = set(user_model.objects.filter(username__in=names).values_list("username", flat=True))
    unusable = make_password(None)  # they sign in through sessions the benchmark makes
    user_model.objects.bulk_create(
        user_model(username=name, password=unusable) for name in names if name not in existing
    )
    return {user.username: user for user in user_model.objects.filter(username__in=names)}


def build(
    claims: int,
    *,
    annotations: int | None = None,
    annotators: int = 20,
    per_article: int = 10,
    rebuild: bool = False,
    quiet: bool = False,
) -> Any:
    """The project ``bench-<claims>``, built when missing (or when ``rebuild``)."""
    from django.db import transaction

    from claims.models import (
        Annotation,
        AnnotationRevision,
        AnnotationSource,
        Article,
        Claim,
        Membership,
        Project,
        Role,
        Source,
        SourceAlias,
    )

    say = (lambda *a: None) if quiet else (lambda *a: print(*a, flush=True))
    annotations = claims * 10 if annotations is None else annotations
    per_claim = max(1, round(annotations / claims))
    if per_claim > annotators:
        raise SystemExit(f"{annotations} labels need at least {per_claim} annotators.")
    slug = slug_for(claims)
    users = bench_users(annotators)
    existing = Project.objects.filter(slug=slug).first()
    if existing is not None and not rebuild:
        say(f"{slug}: already built ({existing.claims.count()} claims); --rebuild to start again")
        vacuum_without_autovacuum()
        return existing
    started = time.perf_counter()
    writer = RowWriter()
    rng = random.Random(claims)
    with transaction.atomic():
        if existing is not None:
            _delete_project(existing)
        project = Project.objects.create(
            name=f"Benchmark {claims:,} claims",
            slug=slug,
            # Six slots stay open on every claim, so the queue does not run dry
            # in one benchmark run (6,000 at 1,000 claims).
            annotations_per_claim=per_claim + 6,
        )
        project.copy_default_labels()
        annotator_users = [users[ANNOTATOR_NAME.format(n + 1)] for n in range(annotators)]
        Membership.objects.bulk_create(
            [
                Membership(project=project, user=user, role=Role.ANNOTATOR)
                for user in annotator_users
            ]
            + [
                Membership(project=project, user=users["bench-reviewer"], role=Role.REVIEWER),
                Membership(project=project, user=users["bench-manager"], role=Role.MANAGER),
            ]
        )
        sources = Source.objects.bulk_create(
            Source(project=project, name=name, kind=kind) for name, kind in SOURCES
        )
        SourceAlias.objects.bulk_create(
            SourceAlias(source=source, alias=source.name, normalized=source.name.casefold())
            for source in sources
        )
        source_ids = [source.pk for source in sources]
        source_weights = [1 / (rank + 1) for rank in range(len(sources))]

        # Articles and claims.
        base = datetime(2026, 1, 1, tzinfo=UTC)
        article_count = max(1, claims // per_article)
        first_article = writer.next_id(Article)
        first_claim = writer.next_id(Claim)
        claim_rows: list[tuple[Any, ...]] = []

        def article_rows() -> Iterable[tuple[Any, ...]]:
            claim_number = 0
            for a in range(article_count):
                in_article = per_article if a < article_count - 1 else claims - claim_number
                parts, position = [], 0
                for index in range(in_article):
                    source, kind = SOURCES[rng.randrange(len(SOURCES))]
                    text = rng.choice(SENTENCES).format(
                        source=source,
                        day=rng.choice(DAYS),
                        n=rng.randrange(10, 20000),
                        place=rng.choice(PLACES),
                    )
                    text = text[0].upper() + text[1:]
                    start = position
                    end = start + len(text)
                    suggestion = {
                        "start": start,
                        "end": end,
                        "kind": "claim",
                        "sources": [
                            {
                                "name": source,
                                "start": None,
                                "end": None,
                                "canonical": source,
                                "kind": kind,
                                "wording": source,
                            }
                        ],
                        "cue": None,
                        "confidence": rng.choices(CONFIDENCE, CONFIDENCE_WEIGHTS)[0],
                    }
                    claim_rows.append(
                        (
                            first_claim + claim_number,
                            project.pk,
                            first_article + a,
                            index,
                            start,
                            end,
                            text,
                            suggestion,
                            per_claim,
                            False,
                            base,
                        )
                    )
                    claim_number += 1
                    parts.append(text)
                    position = end + 1
                body = " ".join(parts) + f"\n(Bench article {a + 1}.)"
                yield (
                    first_article + a,
                    project.pk,
                    f"Bench article {a + 1}: {parts[0][:60]}",
                    body,
                    "Bench Wire",
                    f"https://example.org/bench/{claims}/{a + 1}",
                    None,
                    hashlib.sha256(body.encode()).hexdigest(),
                    None,
                    base,
                )

        writer.write(
            Article,
            [
                "id",
                "project_id",
                "title",
                "body",
                "outlet",
                "url",
                "published",
                "content_hash",
                "imported_by_id",
                "created_at",
            ],
            article_rows(),
        )
        writer.write(
            Claim,
            [
                "id",
                "project_id",
                "article_id",
                "index",
                "start",
                "end",
                "text",
                "suggestion",
                "annotation_count",
                "needs_review",
                "created_at",
            ],
            claim_rows,
        )
        say(f"{slug}: {article_count:,} articles, {claims:,} claims")

        # Annotations: claim c is labelled by annotators c, c+1, ... (mod the team), so
        # everyone has labelled about per_claim/annotators of the project, spread evenly.
        first_annotation = writer.next_id(Annotation)
        annotation_rows: list[tuple[Any, ...]] = []
        revision_rows: list[tuple[Any, ...]] = []
        link_rows: list[tuple[Any, ...]] = []
        annotation_id = first_annotation
        for c in range(claims):
            claim_id = first_claim + c
            for j in range(per_claim):
                user = annotator_users[(c + j) % annotators]
                at = base + timedelta(seconds=c * 2, milliseconds=j)
                confidence = rng.choices(CONFIDENCE, CONFIDENCE_WEIGHTS)[0]
                kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
                annotation_rows.append(
                    (
                        annotation_id,
                        project.pk,
                        claim_id,
                        user.pk,
                        "said",
                        confidence,
                        kind,
                        "medium",
                        "",
                        1,
                        False,
                        at,
                        at,
                    )
                )
                names = []
                if rng.random() < 0.7:
                    source_id = rng.choices(source_ids, source_weights)[0]
                    link_rows.append((annotation_id, source_id, 0, ""))
                    names.append(SOURCES[source_ids.index(source_id)][0])
                revision_rows.append(
                    (
                        annotation_id,
                        1,
                        user.pk,
                        "created",
                        {
                            "sources": names,
                            "attribution_cue": "said",
                            "confidence": confidence,
                            "claim_kind": kind,
                            "certainty": "medium",
                            "note": "",
                        },
                        None,
                        at,
                    )
                )
                annotation_id += 1
        writer.write(
            Annotation,
            [
                "id",
                "project_id",
                "claim_id",
                "annotator_id",
                "attribution_cue",
                "confidence",
                "claim_kind",
                "certainty",
                "note",
                "revision",
                "needs_review",
                "created_at",
                "updated_at",
            ],
            annotation_rows,
        )
        writer.write(
            AnnotationSource, ["annotation_id", "source_id", "position", "wording"], link_rows
        )
        writer.write(
            AnnotationRevision,
            ["annotation_id", "number", "editor_id", "reason", "data", "form_token", "created_at"],
            revision_rows,
        )
        writer.reset_sequences([Article, Claim, Annotation, AnnotationSource, AnnotationRevision])
    with writer.connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    vacuum_without_autovacuum()
    say(
        f"{slug}: {len(annotation_rows):,} annotations by {annotators} annotators, "
        f"{len(link_rows):,} source links, built in {time.perf_counter() - started:.1f} s"
    )
    return project


def vacuum_without_autovacuum() -> None:
    """VACUUM (ANALYZE) PostgreSQL's tables when its autovacuum is off.

    Each benchmark run leaves dead rows behind: reservations taken and
    dropped, claims' counts updated, the small project rebuilt. A default
    server's autovacuum clears them; on a server where it is off (this
    machine's), they piled up over a day of runs (30,000 dead reservations
    for 49 live ones) and PostgreSQL's 20-client figure fell from 96 to 32
    round trips/s. So the scripts clear them as autovacuum would.
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        if cursor.fetchone()[0] == "on":
            return
        cursor.execute("VACUUM (ANALYZE)")


def _delete_project(project: Any) -> None:
    """Remove a bench project with plain DELETEs (PROTECT keeps the ORM from cascading)."""
    from claims.models import (
        Annotation,
        AnnotationRevision,
        AnnotationSource,
        GoldLabel,
        Project,
    )

    annotations = Annotation.objects.filter(project=project)
    AnnotationRevision.objects.filter(annotation__in=annotations)._raw_delete("default")
    AnnotationSource.objects.filter(annotation__in=annotations)._raw_delete("default")
    GoldLabel.objects.filter(claim__project=project).delete()
    annotations._raw_delete("default")
    Project.objects.filter(pk=project.pk).delete()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--annotations", type=int, help="default: ten per claim")
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    setup_django(args.db)
    build(
        args.claims,
        annotations=args.annotations,
        annotators=args.annotators,
        rebuild=args.rebuild,
    )


if __name__ == "__main__":
    main()
