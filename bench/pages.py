"""The pages around the labelling loop, at a project's full size: time and SQL queries.

    .venv/bin/python bench/pages.py [--claims 100000] [--db sqlite|postgres] [--repeat 5]

Signed in as the synthetic project's manager (or an annotator, for their own
pages), GETs each page that exists in this version of the workbench (the home
page, the project page with its article list, the dashboard, the review queue,
one claim's review, one article, the assignments, an annotator's labels, the
source type-ahead) ``--repeat`` times and prints the median and slowest time,
the number of SQL queries and the size of the page. Run it at two sizes to see
which query counts grow with the number of rows (``run_all.py`` does). The
project's label figures are computed first, as the background worker keeps
them on a server (``figures_as_the_worker_leaves_them``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.build_project import ANNOTATOR_NAME, build, setup_django, write_json  # noqa: E402

BUDGET_MS = 500


def page_list(project: Any) -> list[tuple[str, str, str]]:
    """(name, who, path) for every page this version has."""
    from django.urls import NoReverseMatch, reverse

    from claims.models import Article, Claim

    article = Article.objects.filter(project=project).order_by("pk").first()
    claim = Claim.objects.filter(project=project, annotation_count__gt=1).order_by("pk").first()
    wanted = [
        ("home", "manager", "home", []),
        ("project page (article list)", "manager", "project", [project.slug]),
        ("dashboard", "manager", "dashboard", [project.slug]),
        ("review queue", "manager", "review_queue", [project.slug]),
        ("claim review", "manager", "claim_review", [project.slug, claim.pk]),
        ("article", "manager", "article", [project.slug, article.pk]),
        ("assignments", "manager", "assignments", [project.slug]),
        ("assignments: article type-ahead", "manager", "article_options", [project.slug]),
        ("members", "manager", "members", [project.slug]),
        ("my labels", "annotator", "my_labels", [project.slug]),
        ("source type-ahead", "annotator", "source_options", [project.slug]),
        ("annotator's home", "annotator", "home", []),
        ("annotator's project page", "annotator", "project", [project.slug]),
    ]
    pages = []
    for name, who, url_name, args in wanted:
        try:
            path = reverse(url_name, args=args)
        except NoReverseMatch:
            continue
        if url_name == "source_options":
            path += "?q=agency"
        if url_name == "article_options":
            path += "?q=agency"
        pages.append((name, who, path))
    return pages


class QueryCounter(list):
    """An execute wrapper that keeps the SQL of every statement run through it."""

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.append(sql)
        return execute(sql, params, many, context)


def run(project: Any, *, repeat: int = 5, only: str = "") -> list[dict[str, Any]]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    users = get_user_model().objects
    clients = {
        "manager": Client(),
        "annotator": Client(),
    }
    clients["manager"].force_login(users.get(username="bench-manager"))
    clients["annotator"].force_login(users.get(username=ANNOTATOR_NAME.format(1)))
    results = []
    for name, who, path in page_list(project):
        if only and only not in name:
            continue
        client = clients[who]
        # Counted by a wrapper rather than CaptureQueriesContext, whose log keeps
        # only the last 9,000 queries and would hide a page that runs more.
        queries = QueryCounter()
        try:
            with connection.execute_wrapper(queries):
                response = client.get(path)
        except Exception as error:  # a page under construction must not stop the others
            results.append(
                {"page": name, "path": path, "error": f"{type(error).__name__}: {error}"}
            )
            continue
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
        results.append(
            {
                "page": name,
                "path": path,
                "status": response.status_code,
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
                "queries": len(queries),
                "kb": len(getattr(response, "content", b"")) / 1024,
            }
        )
    return results


def figures_as_the_worker_leaves_them(project: Any) -> float:
    """Compute the project's label figures, as ``manage.py process_imports``
    does in the background on a server (README, Dashboard); their time.

    Without them the dashboard counts every label on every view (0.4-0.8 s at
    1,000,000 labels), which a server shows only until the worker's first
    pass over a new project: the page is measured as it is used.
    """
    from claims.project_stats import refresh_figures

    started = time.perf_counter()
    refresh_figures(project)
    return time.perf_counter() - started


def print_results(title: str, results: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(f"  {'page':<30} {'status':>6} {'median ms':>10} {'max ms':>8} {'queries':>8} {'KB':>7}")
    for row in results:
        if "error" in row:
            print(f"  {row['page']:<30} failed: {row['error'][:100]}")
            continue
        flag = "  over budget" if row["median_ms"] > BUDGET_MS else ""
        print(
            f"  {row['page']:<30} {row['status']:>6} {row['median_ms']:>10.1f} "
            f"{row['max_ms']:>8.1f} {row['queries']:>8} {row['kb']:>7.0f}{flag}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="", help="only pages whose name contains this")
    args = parser.parse_args(argv)
    setup_django(args.db)
    project = build(args.claims)
    seconds = figures_as_the_worker_leaves_them(project)
    print(f"label figures computed as the background worker computes them: {seconds:.1f} s")
    results = run(project, repeat=args.repeat, only=args.only)
    print_results(f"Pages at {args.claims:,} claims, {args.db} (budget {BUDGET_MS} ms)", results)
    if args.json:
        write_json(args.json, {"claims": args.claims, "db": args.db, "pages": results})


if __name__ == "__main__":
    main()
