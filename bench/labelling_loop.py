"""The labelling round trip, in process: time and SQL queries per request.

    .venv/bin/python bench/labelling_loop.py [--claims 1000] [--db sqlite|postgres] [--rounds 200]

An annotator of the synthetic project ``bench-<claims>`` (built first when
missing) labels ``--rounds`` claims through Django's test client, the whole
middleware stack included (session, user, CSRF, messages):

- plain: GET /p/<slug>/label/ (the next claim), POST the label (a redirect);
- htmx: POST the label with ``HX-Request``, which answers with the next claim.

Prints p50/p95/p99 of the time per request and the number of SQL queries per
request (counted separately, so counting costs no time in the timings), and
with ``--show-queries`` the SQL of one round.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import urllib.parse
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.build_project import ANNOTATOR_NAME, build, setup_django, write_json  # noqa: E402

CLAIM_FIELD = re.compile(rb'name="claim" value="(\d+)"')
REVISION_FIELD = re.compile(rb'name="revision" value="(\d*)"')
SPAN_FIELD = re.compile(rb'name="span" value="(\d+-\d+)"')
HTMX = {"HTTP_HX_REQUEST": "true"}


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported time was measured)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(samples: Sequence[tuple[float, float]]) -> dict[str, float]:
    """Percentiles of wall time and the mean CPU time, in milliseconds."""
    wall = [sample[0] for sample in samples]
    cpu = [sample[1] for sample in samples]
    return {
        "n": len(samples),
        "p50": percentile(wall, 0.50) * 1000,
        "p95": percentile(wall, 0.95) * 1000,
        "p99": percentile(wall, 0.99) * 1000,
        "cpu": sum(cpu) / len(cpu) * 1000 if cpu else float("nan"),
    }


def label_form(shown: tuple[int, str, str], round_number: int) -> dict[str, Any]:
    """What an annotator sends for the claim the page ``shown`` (``claim_on``):
    a confidence, a kind, a certainty, one source, and the page's hidden fields."""
    claim_id, revision, span = shown
    return {
        "claim": claim_id,
        "span": span,
        "revision": revision,
        "token": str(uuid.uuid4()),
        "confidence": ("asserted", "claimed", "estimated")[round_number % 3],
        "claim_kind": "claim",
        "certainty": "high",
        "attribution_cue": "said",
        "note": "",
        "source": ["KCNA", ""],
        "source_kind": ["", ""],
        "source_wording": ["KCNA", ""],
        "action": "save",
    }


def claim_on(content: bytes) -> tuple[int, str, str] | None:
    """The claim a label page shows, as its form sends it: id, revision, span
    (None when the page shows no claim)."""
    found = CLAIM_FIELD.search(content)
    if found is None:
        return None
    revision = REVISION_FIELD.search(content)
    span = SPAN_FIELD.search(content)
    return (
        int(found.group(1)),
        revision.group(1).decode() if revision else "0",
        span.group(1).decode() if span else "",
    )


def least_busy_annotator(project: Any) -> str:
    """The synthetic annotator with the fewest labels here: the most claims left to label."""
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Q

    return (
        get_user_model()
        .objects.filter(username__startswith=ANNOTATOR_NAME.split("{")[0])
        .annotate(labels=Count("annotations", filter=Q(annotations__project=project)))
        .order_by("labels", "username")
        .values_list("username", flat=True)
        .first()
    )


class Loop:
    """One annotator working through the queue with a signed-in test client."""

    def __init__(self, project: Any, username: str) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        self.url = f"/p/{project.slug}/label/"
        self.client = Client()
        self.client.force_login(get_user_model().objects.get(username=username))
        self.rounds = 0

    def get_next(self) -> tuple[int, str, str]:
        response = self.client.get(self.url)
        assert response.status_code == 200, response.status_code
        claim = claim_on(response.content)
        if claim is None:
            raise SystemExit("The queue is empty for this annotator: rebuild the project.")
        return claim

    def post(self, claim: tuple[int, str, str], *, htmx: bool) -> tuple[int, str, str] | None:
        self.rounds += 1
        form = label_form(claim, self.rounds)
        # URL-encoded, as the page's form and htmx send it (the test client's
        # default, multipart, took 0.5 ms more to parse).
        response = self.client.post(
            self.url,
            urllib.parse.urlencode(form, doseq=True),
            content_type="application/x-www-form-urlencoded",
            **(HTMX if htmx else {}),
        )
        expected = 200 if htmx else 302
        assert response.status_code == expected, (response.status_code, response.content[:500])
        return claim_on(response.content) if htmx else None


def timed(call: Callable[[], Any], into: list[tuple[float, float]]) -> Any:
    """Run ``call``; append (wall seconds, CPU seconds) to ``into``.

    CPU time is this process's (with SQLite, the database's work too): on a
    machine others are using it moves much less than wall time does.
    """
    cpu = time.process_time()
    started = time.perf_counter()
    result = call()
    into.append((time.perf_counter() - started, time.process_time() - cpu))
    return result


def counted(call: Callable[[], Any], into: list[list[str]]) -> Any:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        result = call()
    into.append([query["sql"] for query in queries.captured_queries])
    return result


def run(project: Any, *, rounds: int = 200, warmup: int = 20, username: str = "") -> dict:
    """Time ``rounds`` plain and ``rounds`` htmx round trips; count queries on a few more."""
    loop = Loop(project, username or least_busy_annotator(project))
    get_times: list[tuple[float, float]] = []
    post_times: list[tuple[float, float]] = []
    round_times: list[tuple[float, float]] = []
    htmx_times: list[tuple[float, float]] = []
    for number in range(warmup + rounds):
        got: list[tuple[float, float]] = []
        claim = timed(loop.get_next, got)
        posted: list[tuple[float, float]] = []
        timed(lambda c=claim: loop.post(c, htmx=False), posted)
        if number >= warmup:
            get_times += got
            post_times += posted
            round_times.append((got[0][0] + posted[0][0], got[0][1] + posted[0][1]))
    claim = loop.get_next()
    for number in range(warmup + rounds):
        into: list[tuple[float, float]] = [] if number < warmup else htmx_times
        claim = timed(lambda c=claim: loop.post(c, htmx=True), into)
        if claim is None:
            raise SystemExit("The queue ran dry during the htmx loop: rebuild the project.")
    # Query counts, on a few rounds of each kind.
    get_sql: list[list[str]] = []
    post_sql: list[list[str]] = []
    htmx_sql: list[list[str]] = []
    for _ in range(5):
        claim = counted(loop.get_next, get_sql)
        counted(lambda c=claim: loop.post(c, htmx=False), post_sql)
    claim = loop.get_next()
    for _ in range(5):
        claim = counted(lambda c=claim: loop.post(c, htmx=True), htmx_sql)
    return {
        "get": summary_ms(get_times) | {"queries": max(len(q) for q in get_sql)},
        "post": summary_ms(post_times) | {"queries": max(len(q) for q in post_sql)},
        "round": summary_ms(round_times)
        | {"queries": max(len(a) + len(b) for a, b in zip(get_sql, post_sql, strict=True))},
        "htmx": summary_ms(htmx_times) | {"queries": max(len(q) for q in htmx_sql)},
        "sql": {"get": get_sql[-1], "post": post_sql[-1], "htmx": htmx_sql[-1]},
    }


def print_results(title: str, results: dict) -> None:
    print(f"\n{title}")
    print(
        f"  {'request':<36} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU ms':>8} {'queries':>8}"
    )
    names = {
        "get": "GET next claim",
        "post": "POST label (redirect)",
        "round": "round trip: GET + POST",
        "htmx": "htmx POST, answered with next claim",
    }
    for key, name in names.items():
        row = results[key]
        print(
            f"  {name:<36} {row['p50']:>8.2f} {row['p95']:>8.2f} {row['p99']:>8.2f} "
            f"{row['cpu']:>8.2f} {row['queries']:>8}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--show-queries", action="store_true")
    args = parser.parse_args(argv)
    setup_django(args.db)
    project = build(args.claims)
    results = run(project, rounds=args.rounds)
    print_results(f"Labelling round trip, in process: {args.claims:,} claims, {args.db}", results)
    if args.json:
        figures = {key: value for key, value in results.items() if key != "sql"}
        write_json(args.json, {"claims": args.claims, "db": args.db, "loop": figures})
    if args.show_queries:
        for key, queries in results["sql"].items():
            print(f"\n-- {key}: {len(queries)} queries")
            for sql in queries:
                print("  ", sql[:400])


if __name__ == "__main__":
    main()
