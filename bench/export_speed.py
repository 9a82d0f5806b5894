"""Time and peak memory of the annotation export at 10k, 100k and 1M rows.

    .venv/bin/python bench/export_speed.py [--rows 10000,100000,1000000]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/wb_bench .venv/bin/python bench/export_speed.py

For each size it builds a synthetic project with bulk_create in a new temporary
SQLite file (or in the PostgreSQL database BENCH_DATABASE_URL names, emptied first),
then runs, each in its own process so its peak memory is its own:

- ``command``: ``manage.py export_annotations --project bench -o FILE`` (CSV);
- ``web``: GET /p/bench/export.csv as the project's manager, the streamed
  response written to a file as a browser would.

It prints rows, seconds, rows/s, MB written and the process's peak resident
memory (ru_maxrss of the finished child). The target: 1M rows in at most 60 s,
peak under 150 MB, about the same as for 10k rows.

The data: 4 annotators label every claim, 25 claims per article, one or two
sources per label, notes with commas, quotes, new lines, non-Latin text and
formula-like starts, so quoting and neutralising cost what they cost in life.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANNOTATORS = 4
CLAIMS_PER_ARTICLE = 25
BATCH = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="10000,100000,1000000")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="keep the SQLite databases here and reuse them on the next run (measure again "
        "without building again)",
    )
    parser.add_argument("--build", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--web", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        return build(args.build)
    if args.web:
        return web_export(args.web)

    # Never DATABASE_URL: the PostgreSQL database named here is emptied first.
    postgres = os.environ.get("BENCH_DATABASE_URL", "")
    print(f"database: {'PostgreSQL' if postgres else 'SQLite file'}")
    print(
        f"{'rows':>9} {'path':>8} {'seconds':>8} {'CPU s':>7} {'rows/s':>9} {'MB':>7} "
        f"{'peak RSS MB':>12}"
    )
    for rows in [int(n) for n in args.rows.split(",")]:
        with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
            env = dict(os.environ)
            database = Path(args.keep or tmp) / f"export-{rows}.sqlite3"
            built = not postgres and database.exists()
            env["DATABASE_URL"] = postgres or f"sqlite:///{database}"
            env["ALLOWED_HOSTS"] = "testserver"
            env["PYTHONWARNINGS"] = "ignore:No directory at"
            if not built:
                run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env)
                if postgres:
                    run([sys.executable, "manage.py", "flush", "--noinput"], env)
                started = time.perf_counter()
                run([sys.executable, __file__, "--build", str(rows)], env)
                print(f"{rows:>9} {'build':>8} {time.perf_counter() - started:>8.1f}")
            out = Path(tmp) / "out.csv"
            for path, command in (
                ("command", [sys.executable, "manage.py", "export_annotations"]
                 + ["--project", "bench", "-o", str(out)]),
                ("web", [sys.executable, __file__, "--web", str(out)]),
            ):  # fmt: skip
                seconds, cpu, peak_kb = measured(command, env)
                size = out.stat().st_size
                print(
                    f"{rows:>9} {path:>8} {seconds:>8.1f} {cpu:>7.1f} {rows / seconds:>9.0f} "
                    f"{size / 1e6:>7.1f} {peak_kb / 1024:>12.1f}"
                )
                out.unlink()
    return 0


def run(command: list[str], env: dict[str, str]) -> None:
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak resident memory (KB) of a child.

    The CPU time is what the export costs when the machine is not shared.
    """
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed with status {status}")
    return time.perf_counter() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    import django

    django.setup()


def build(rows: int) -> int:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from claims.models import (
        Annotation,
        AnnotationSource,
        Article,
        Claim,
        Membership,
        Project,
        Role,
        Source,
        SourceKind,
    )

    users = get_user_model()
    manager = users.objects.create_user("bench-manager")
    annotators = [users.objects.create_user(f"annotator{n}") for n in range(ANNOTATORS)]
    project = Project.objects.create(name="Bench", slug="bench", annotations_per_claim=ANNOTATORS)
    project.copy_default_labels()
    Membership.objects.create(project=project, user=manager, role=Role.MANAGER)
    Membership.objects.bulk_create(
        Membership(project=project, user=user, role=Role.ANNOTATOR) for user in annotators
    )
    kinds = list(SourceKind.values)
    sources = Source.objects.bulk_create(
        Source(project=project, name=f"Source {n} — Агентство", kind=kinds[n % len(kinds)])
        for n in range(50)
    )
    notes = [
        "",
        'He said "maybe", then, later, no.',
        "=1+1",
        "-fewer than reported",
        "Line one\nline two",
        "平壤 — KCNA, «quoted»",
        "@mention",
    ]
    claims_needed = -(-rows // ANNOTATORS)
    articles_needed = -(-claims_needed // CLAIMS_PER_ARTICLE)
    sentence = 'Officials said, "around 2,000" troops — 부대 — were deployed; {n}. '
    with transaction.atomic():
        Article.objects.bulk_create(
            (
                Article(
                    pk=a + 1,
                    project=project,
                    title=f"Article {a}, with a comma",
                    body="".join(sentence.format(n=c) for c in range(CLAIMS_PER_ARTICLE)),
                    url=f"https://example.org/{a}",
                    content_hash=f"{a:064x}",
                )
                for a in range(articles_needed)
            ),
            batch_size=BATCH,
        )
        suggestion = {
            "kind": "claim",
            "sources": [
                {"name": "Officials", "start": 0, "end": 9, "canonical": "Source 1 — Агентство"}
            ],
            "cue": {"text": "said", "start": 10, "end": 14},
            "confidence": "asserted",
        }
        claim_id = 0
        for first in range(0, claims_needed, BATCH):
            batch = []
            for claim_id in range(first + 1, min(first + BATCH, claims_needed) + 1):
                article, index = divmod(claim_id - 1, CLAIMS_PER_ARTICLE)
                text = sentence.format(n=index)
                batch.append(
                    Claim(
                        pk=claim_id,
                        project=project,
                        article_id=article + 1,
                        index=index,
                        start=index * len(text),
                        end=(index + 1) * len(text),
                        text=text,
                        suggestion=suggestion,
                        annotation_count=ANNOTATORS,
                    )
                )
            Claim.objects.bulk_create(batch)
        annotation_id = 0
        for first in range(0, rows, BATCH):
            labels, links = [], []
            for annotation_id in range(first + 1, min(first + BATCH, rows) + 1):
                claim, who = divmod(annotation_id - 1, ANNOTATORS)
                labels.append(
                    Annotation(
                        pk=annotation_id,
                        project=project,
                        claim_id=claim + 1,
                        annotator=annotators[who],
                        attribution_cue="said",
                        confidence="claimed" if annotation_id % 3 else "estimated",
                        claim_kind="claim",
                        certainty="high",
                        note=notes[annotation_id % len(notes)],
                    )
                )
                for position in range(1 + annotation_id % 2):
                    links.append(
                        AnnotationSource(
                            annotation_id=annotation_id,
                            source=sources[(annotation_id + position) % len(sources)],
                            position=position,
                        )
                    )
            Annotation.objects.bulk_create(labels)
            AnnotationSource.objects.bulk_create(links)
    return 0


def web_export(path: str) -> int:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="bench-manager"))
    response = client.get("/p/bench/export.csv")
    if response.status_code != 200:
        raise SystemExit(f"the export answered {response.status_code}")
    with open(path, "wb") as handle:
        for chunk in response.streaming_content:
            handle.write(chunk)
    return 0


if __name__ == "__main__":
    sys.exit(main())
