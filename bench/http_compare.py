"""Two checkouts' labelling round trip over HTTP, measured side by side.

    git worktree add /tmp/before <revision>
    ln -s "$PWD/.venv" /tmp/before/.venv && ln -s "$PWD/bench/.data" /tmp/before/bench/.data
    .venv/bin/python bench/http_compare.py /tmp/before [--db postgres] [--seconds 30]

On a shared machine the same code's round trip moves by a third between runs
minutes apart, more than most single changes gain (README, Benchmarks). Here
both checkouts serve at once, each from its own gunicorn (one worker unless
``--workers`` says more, the benchmark settings, the same secret key), on the
same synthetic project, and one client alternates between them round by
round: GET the next claim, POST a label, save a label as the page does (an
htmx POST answered with the next claim, ``htmx``), GET /bench/ping/, on this
checkout then on the other. Whatever the machine does meanwhile, both get
their share of it. The four annotators with the most claims left label, two
in the plain loop and two with htmx, and the checkouts swap them, and which
goes first, every round (an annotator's queue has its own cost); a new
connection per request, as ``http_load.py`` does.

Prints p50 and p95 of each request for both, and this checkout's p50s as a
difference from the other's. Both checkouts must share the database schema
(the sessions are made by this one).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build_project import (  # noqa: E402
    ANNOTATOR_NAME,
    build,
    setup_django,
)
from bench.http_load import (  # noqa: E402
    Recorder,
    Server,
    describe,
    next_form,
    post_label,
    request,
    signed_in_cookies,
)

KINDS = ("ping", "get", "post", "round", "htmx")


def freest_annotators(project: object, count: int) -> list[str]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count, Q

    return list(
        get_user_model()
        .objects.filter(username__startswith=ANNOTATOR_NAME.split("{")[0])
        .annotate(labels=Count("annotations", filter=Q(annotations__project=project)))
        .order_by("labels", "username")
        .values_list("username", flat=True)[:count]
    )


def compare(
    roots: Sequence[Path], db: str, claims: int, seconds: float, secret: str, workers: int = 1
) -> list[Recorder]:
    project = build(claims)
    # Two annotators for the plain loop and two for htmx; the checkouts swap
    # them every round, so that neither is measured on one annotator's queue.
    users = freest_annotators(project, 2 * len(roots))
    plain, htmx = users[: len(roots)], users[len(roots) :]
    cookies = signed_in_cookies(users)
    path = f"/p/{project.slug}/label/"
    with ExitStack() as running:
        servers = [
            running.enter_context(Server(db, workers, root=root, env={"SECRET_KEY": secret}))
            for root in roots
        ]
        records = [Recorder() for _ in roots]
        # The page as annotators use it: each htmx POST answers with the next form.
        pages = {
            user: request(servers[0].port, "GET", path, cookies=cookies[user][0])[1]
            for user in htmx
        }
        until = time.monotonic() + seconds
        number = 0
        while time.monotonic() < until:
            # Which checkout goes first changes every round too.
            order = range(len(roots)) if number % 2 == 0 else reversed(range(len(roots)))
            for at in order:
                port, record = servers[at].port, records[at]
                annotator, saver = (
                    plain[(at + number) % len(roots)],
                    htmx[(at + number) % len(roots)],
                )
                cookie = cookies[annotator]
                status, content, got = request(port, "GET", path, cookies=cookie[0])
                form = next_form(status, content, number, record, "GET label")
                if form is None:
                    raise SystemExit(f"{annotator}: {record.errors or 'no claim left'}; rebuild.")
                status, content, posted = post_label(port, path, cookie, form)
                if status != 302:
                    raise SystemExit(f"POST label answered {status}: {content[:200]!r}")
                form = next_form(200, pages[saver], number, record, "htmx POST")
                if form is None:
                    raise SystemExit(f"{saver}: {record.errors or 'no claim left'}; rebuild.")
                status, pages[saver], saved = post_label(
                    port, path, cookies[saver], form, htmx=True
                )
                if status != 200 or b'class="errors conflict"' in pages[saver]:
                    raise SystemExit(f"htmx POST answered {status}: {pages[saver][:200]!r}")
                _, _, ping = request(port, "GET", "/bench/ping/")
                for kind, value in zip(
                    KINDS, (ping, got, posted, got + posted, saved), strict=True
                ):
                    record.add(kind, value)
            number += 1
        return records


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the checkout to compare this one with")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers of each")
    args = parser.parse_args(argv)
    other = args.other.resolve()
    if not (other / "manage.py").exists() or not (other / ".venv" / "bin" / "gunicorn").exists():
        raise SystemExit(f"{other} needs the workbench's files and a .venv with gunicorn.")
    secret = secrets.token_urlsafe(48)
    os.environ["SECRET_KEY"] = secret  # the sessions made here must be valid for both
    setup_django(args.db)
    records = compare([ROOT, other], args.db, args.claims, args.seconds, secret, args.workers)
    figures = [{kind: describe(record.times[kind]) for kind in KINDS} for record in records]
    print(
        f"\nSide by side over HTTP: {args.claims:,} claims, {args.db}, "
        f"{figures[0]['round']['n']} rounds each, a new connection per request"
    )
    print(f"  {'checkout':<40} " + " ".join(f"{kind + ' p50/p95':>16}" for kind in KINDS))
    for root, figure in zip((ROOT, other), figures, strict=True):
        cells = " ".join(f"{figure[k]['p50']:>7.2f} /{figure[k]['p95']:>7.2f}" for k in KINDS)
        print(f"  {str(root):<40} {cells}")
    change = " ".join(f"{figures[0][k]['p50'] - figures[1][k]['p50']:>+16.2f}" for k in KINDS)
    print(f"  {'this one - the other, p50 ms':<40} {change}")


if __name__ == "__main__":
    main()
