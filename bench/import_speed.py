"""Import throughput: 10,000 articles of about 4,000 characters through import_articles.

    .venv/bin/python bench/import_speed.py [--articles 10000] [--chars 4000]
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/wb_bench .venv/bin/python bench/import_speed.py

The articles are real news copy (the GUM news texts of ../shared/eval and the
demo articles), cut and recombined into bodies of about --chars characters,
each opened by a distinct dateline so no two bodies share a content hash. They
are written as JSON lines files of at most 15 MB (under the 20 MB upload limit),
then ``manage.py import_articles FILE... --project bench`` runs in its own
process, against a new temporary SQLite file (or the PostgreSQL database
BENCH_DATABASE_URL names, emptied first). Splitting and suggestions are included.

Prints articles, claims, MB, seconds (wall and CPU), articles/s, MB/s and the
importer's peak resident memory; with ``--refresh``, then teaches the project
an alias ("KCNA" for "Korean Central News Agency") and times
``refresh_suggestions`` over every article the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
FILE_BYTES = 15 * 1024 * 1024


def paragraphs() -> list[str]:
    texts = []
    with open(SHARED / "eval" / "gum-news-dev.jsonl", encoding="utf-8") as handle:
        texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    for path in sorted((SHARED / "articles").glob("*.txt")):
        texts.append(path.read_text(encoding="utf-8").split("\n", 1)[1])
    return [p.strip() for text in texts for p in text.split("\n") if len(p.strip()) > 40]


def articles(count: int, chars: int) -> list[dict[str, str]]:
    pool = paragraphs()
    made, cursor = [], 0
    for number in range(count):
        body = [f"SEOUL, dispatch {number}: officials said the report was under review."]
        size = len(body[0])
        while size < chars:
            paragraph = pool[cursor % len(pool)]
            cursor += 1
            body.append(paragraph)
            size += len(paragraph) + 1
        made.append(
            {
                "title": f"Dispatch {number}",
                "body": "\n".join(body),
                "url": f"https://example.org/news/{number}",
                "outlet": "Wire",
                "published": "2025-10-23",
            }
        )
    return made


def write_files(records: list[dict[str, str]], folder: Path) -> list[Path]:
    paths: list[Path] = []
    handle, written = None, FILE_BYTES
    for record in records:
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        if written + len(line) > FILE_BYTES:
            if handle:
                handle.close()
            paths.append(folder / f"articles-{len(paths):02d}.jsonl")
            handle, written = open(paths[-1], "wb"), 0
        handle.write(line)
        written += len(line)
    if handle:
        handle.close()
    return paths


def timed(command: list[str], env: dict[str, str]) -> tuple[float, Any, str]:
    """Run ``manage.py`` with ``command`` in its own process: seconds, its rusage, its output."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = child.stdout.read() if child.stdout else ""
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        print(output)
        raise SystemExit(f"{command[0]} failed with status {status}")
    return seconds, usage, output


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=4_000)
    parser.add_argument("--workers", help="passed to import_articles (default: its own)")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="then teach an alias and time refresh_suggestions over every article",
    )
    args = parser.parse_args()

    # Never DATABASE_URL: the PostgreSQL database named here is emptied first.
    postgres = os.environ.get("BENCH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory(prefix="import-bench-") as tmp:
        folder = Path(tmp)
        records = articles(args.articles, args.chars)
        paths = write_files(records, folder)
        size = sum(path.stat().st_size for path in paths)
        env = dict(os.environ)
        env["DATABASE_URL"] = postgres or f"sqlite:///{folder}/bench.sqlite3"
        env["PYTHONWARNINGS"] = "ignore:No directory at"

        def manage(*command: str) -> None:
            subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True)

        manage("migrate", "--noinput", "-v", "0")
        if postgres:
            manage("flush", "--noinput")
        manage(
            "shell",
            "-c",
            "from claims.models import Project; "
            "Project.objects.create(name='Bench', slug='bench').copy_default_labels()",
        )
        seconds, usage, output = timed(
            ["import_articles", *map(str, paths), "--project", "bench"]
            + (["--workers", args.workers] if args.workers else []),
            env,
        )
        cpu = usage.ru_utime + usage.ru_stime
        summary = output.strip().splitlines()[-1]
        print(f"database: {'PostgreSQL' if postgres else 'SQLite (temporary file)'}")
        print(f"{len(records)} articles of ~{args.chars} characters in {len(paths)} files")
        print(summary)
        print(
            f"{seconds:.1f} s wall, {cpu:.1f} s CPU; {len(records) / seconds:.0f} articles/s, "
            f"{size / 1e6 / seconds:.2f} MB/s ({size / 1e6:.1f} MB); "
            f"peak RSS {usage.ru_maxrss / 1024:.0f} MB"
        )
        if args.refresh:
            # A name the annotators taught: an alias of a source the demo articles quote.
            manage(
                "shell",
                "-c",
                "from claims.models import Project, Source, SourceAlias; "
                "source = Source.objects.create(project=Project.objects.get(slug='bench'), "
                "name='Korean Central News Agency', kind='state_media'); "
                "SourceAlias.objects.create(source=source, alias='KCNA')",
            )
            seconds, usage, output = timed(["refresh_suggestions", "--project", "bench"], env)
            print(f"refresh_suggestions: {output.strip()}")
            print(
                f"{seconds:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU; "
                f"{size / 1e6 / seconds:.2f} MB/s; peak RSS {usage.ru_maxrss / 1024:.0f} MB"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
