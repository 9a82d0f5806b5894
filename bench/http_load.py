"""The labelling round trip over HTTP, under gunicorn, against a minimal Django view.

    .venv/bin/python bench/http_load.py [--claims 1000] [--db sqlite|postgres]
        [--clients 1,20] [--seconds 10] [--workers 4]

Starts gunicorn (``--workers`` sync workers, the benchmark settings) on a free
loopback port, then for each number of ``--clients``:

- the floor: every client GETs /bench/ping/, a view that does nothing (it is
  served only by the benchmark's URLconf, never by the product);
- the loop: every client is a different annotator of ``bench-<claims>`` and
  GETs /p/<slug>/label/, POSTs a label (a redirect), and again;
- the page as annotators use it: each client POSTs a label with htmx's
  header, which saves it and answers with the next claim's form, and posts
  that one the same way.

Each client is a thread opening a new connection per request (http.client),
and stops after ``--seconds``, or when its annotator has no claim left (at
1,000 claims each has 500, which one client uses up in seconds; reported
apart from errors). Prints throughput and
client-side latency percentiles, and the round trip as a multiple of the floor.
The clients share the machine with the server: on a 2-core machine they take
part of the CPU the workers could use, for the floor and the loop alike.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.build_project import (  # noqa: E402
    ANNOTATOR_NAME,
    POSTGRES_URL,
    build,
    setup_django,
    write_json,
)
from bench.labelling_loop import claim_on, label_form, percentile  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn serving the workbench with the benchmark settings, within a with-block."""

    def __init__(
        self, db: str, workers: int, *, root: Path = ROOT, env: dict[str, str] | None = None
    ) -> None:
        self.port = free_port()
        self.db = db
        self.workers = workers
        self.root = root  # the checkout served (bench/http_compare.py serves two)
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        env = os.environ | {
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "PYTHONPATH": str(self.root),
        }
        env |= self.extra_env
        if self.db == "postgres":
            env["BENCH_DATABASE_URL"] = POSTGRES_URL
        else:
            env.pop("BENCH_DATABASE_URL", None)
        self.process = subprocess.Popen(
            [
                str(
                    Path(sys.executable).parent / "gunicorn"
                    if self.root == ROOT
                    else self.root / ".venv" / "bin" / "gunicorn"
                ),
                "workbench.wsgi:application",
                f"--bind=127.0.0.1:{self.port}",
                f"--workers={self.workers}",
                f"--worker-class={worker_class(self.root)}",
                "--log-level=warning",
                "--backlog=256",
            ],
            cwd=self.root,
            env=env,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _, _ = request(self.port, "GET", "/bench/ping/")
                if status == 200:
                    # Warm every worker (imports, templates, first connection).
                    for _ in range(self.workers * 10):
                        request(self.port, "GET", "/bench/ping/")
                    return self
            except OSError:
                time.sleep(0.2)
        self.__exit__()
        raise SystemExit("gunicorn did not answer within 30 seconds.")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def worker_class(root: Path) -> str:
    """The worker the product deploys with (``workbench/serving.py``), or, for a
    checkout from before it, gunicorn's sync worker; ``BENCH_WORKER_CLASS``
    overrides both (``sync`` measures gunicorn's own)."""
    if os.environ.get("BENCH_WORKER_CLASS"):
        return os.environ["BENCH_WORKER_CLASS"]
    if (root / "workbench" / "serving.py").exists():
        return "workbench.serving.SyncWorker"
    return "sync"


def request(
    port: int,
    method: str,
    path: str,
    *,
    cookies: str = "",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, float]:
    """One request on a new connection: status, body, seconds from connect to last byte."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        all_headers = {"Cookie": cookies} if cookies else {}
        if body is not None:
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        all_headers |= headers or {}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    return response.status, content, time.perf_counter() - started


def signed_in_cookies(usernames: Sequence[str]) -> dict[str, tuple[str, str]]:
    """A session cookie and a CSRF secret for each user, made as a login would make them."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.utils.crypto import get_random_string

    store = import_module(settings.SESSION_ENGINE).SessionStore
    cookies = {}
    for user in get_user_model().objects.filter(username__in=usernames):
        session = store()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        csrf = get_random_string(32)
        cookie = (
            f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={csrf}"
        )
        cookies[user.username] = (cookie, csrf)
    return cookies


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.finished = 0  # clients whose annotator had no claim left

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times.setdefault(kind, []).append(seconds)

    def error(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)

    def finish(self) -> None:
        with self.lock:
            self.finished += 1


def ping_client(port: int, until: float, max_requests: int, record: Recorder) -> None:
    for _ in range(max_requests):
        if time.monotonic() >= until:
            return
        status, _, seconds = request(port, "GET", "/bench/ping/")
        if status != 200:
            record.error(f"ping answered {status}")
            return
        record.add("ping", seconds)


def next_form(
    status: int, content: bytes, number: int, record: Recorder, page: str
) -> dict[str, Any] | None:
    """What an annotator sends for the claim on the label page just received
    (``labelling_loop.label_form``); None, recorded, when the page was an error
    or their queue was done."""
    if status != 200:
        record.error(f"{page} answered {status}")
        return None
    shown = claim_on(content)
    if shown is None:
        record.finish()
        return None
    return label_form(shown, number)


def post_label(
    port: int, path: str, cookie: tuple[str, str], form: dict[str, Any], *, htmx: bool = False
) -> tuple[int, bytes, float]:
    cookies, csrf = cookie
    return request(
        port,
        "POST",
        path,
        cookies=cookies,
        body=urllib.parse.urlencode(form, doseq=True).encode(),
        headers={"X-CSRFToken": csrf} | ({"HX-Request": "true"} if htmx else {}),
    )


def label_client(
    port: int,
    slug: str,
    cookie: tuple[str, str],
    until: float,
    max_requests: int,
    record: Recorder,
) -> None:
    path = f"/p/{slug}/label/"
    for number in range(max_requests // 2):
        if time.monotonic() >= until:
            return
        status, content, got = request(port, "GET", path, cookies=cookie[0])
        form = next_form(status, content, number, record, "GET label")
        if form is None:
            return
        status, content, posted = post_label(port, path, cookie, form)
        if status != 302:
            record.error(f"POST label answered {status}: {content[:200]!r}")
            return
        record.add("get", got)
        record.add("post", posted)
        record.add("round", got + posted)


def htmx_client(
    port: int,
    slug: str,
    cookie: tuple[str, str],
    until: float,
    max_requests: int,
    record: Recorder,
) -> None:
    """The labelling page as annotators use it: one htmx POST saves the label and
    answers with the next claim's form, which the next POST sends."""
    path = f"/p/{slug}/label/"
    status, content, _ = request(port, "GET", path, cookies=cookie[0])
    for number in range(max_requests):
        if time.monotonic() >= until:
            return
        form = next_form(status, content, number, record, "label page")
        if form is None:
            return
        status, content, seconds = post_label(port, path, cookie, form, htmx=True)
        record.add("htmx", seconds)


def run_phase(target: Any, clients: int, seconds: float, args_for: Any) -> tuple[Recorder, float]:
    record = Recorder()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=target, args=(*args_for(n), until, 1_000_000, record))
        for n in range(clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return record, time.perf_counter() - started


def describe(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(seconds),
        "p50": percentile(seconds, 0.5) * 1000,
        "p95": percentile(seconds, 0.95) * 1000,
        "p99": percentile(seconds, 0.99) * 1000,
    }


def run(
    project: Any,
    *,
    db: str,
    clients: Sequence[int] = (1, 20),
    seconds: float = 10,
    workers: int = 4,
) -> list[dict[str, Any]]:
    """For each client count: the floor and the round trip, throughput and latency."""
    prefix = ANNOTATOR_NAME.split("{")[0]
    members = sorted(
        project.memberships.filter(user__username__startswith=prefix).values_list(
            "user__username", flat=True
        )
    )
    if not members:
        raise SystemExit("The project has no benchmark annotators: rebuild it.")
    # Each client is another annotator (more clients than annotators share them).
    annotators = [members[n % len(members)] for n in range(max(*clients, len(members)))]
    cookies = signed_in_cookies(annotators)
    if len(cookies) < len(set(annotators)):
        raise SystemExit("Some benchmark annotators are missing: rebuild the project.")
    results = []
    with Server(db, workers) as server:
        for count in clients:
            floor, floor_elapsed = run_phase(ping_client, count, seconds, lambda n: (server.port,))
            loop, loop_elapsed = run_phase(
                label_client,
                count,
                seconds,
                lambda n: (server.port, project.slug, cookies[annotators[n]]),
            )
            # The other end of the annotators: at 1,000 claims one annotator
            # has 500 claims left, which one client's loop can use up.
            htmx, htmx_elapsed = run_phase(
                htmx_client,
                count,
                seconds,
                lambda n: (server.port, project.slug, cookies[annotators[-1 - n]]),
            )
            errors = floor.errors + loop.errors + htmx.errors
            ping = describe(floor.times.get("ping", []))
            saves = describe(htmx.times.get("htmx", []))
            round_trip = describe(loop.times.get("round", []))
            results.append(
                {
                    "clients": count,
                    "workers": workers,
                    "ping": ping | {"per_second": ping["n"] / floor_elapsed},
                    "get": describe(loop.times.get("get", [])),
                    "post": describe(loop.times.get("post", [])),
                    "round": round_trip | {"per_second": round_trip["n"] / loop_elapsed},
                    "htmx": saves | {"per_second": saves["n"] / htmx_elapsed},
                    "ratio_p50": round_trip["p50"] / ping["p50"] if ping["n"] else float("nan"),
                    "errors": errors[:5],
                    "error_count": len(errors),
                    "finished": loop.finished + htmx.finished,
                }
            )
    return results


def print_results(title: str, results: list[dict[str, Any]]) -> None:
    print(f"\n{title}")
    print(
        f"  {'clients':>7} {'request':<24} {'n':>6} {'per s':>7} "
        f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
    )
    for row in results:
        for key, name in (
            ("ping", "floor: /bench/ping/"),
            ("get", "GET next claim"),
            ("post", "POST label"),
            ("round", "round trip GET+POST"),
            ("htmx", "htmx save + next claim"),
        ):
            figures = row[key]
            rate = f"{figures['per_second']:.0f}" if "per_second" in figures else ""
            print(
                f"  {row['clients']:>7} {name:<24} {figures['n']:>6} {rate:>7} "
                f"{figures['p50']:>8.2f} {figures['p95']:>8.2f} {figures['p99']:>8.2f}"
            )
        print(f"  {row['clients']:>7} round trip p50 / floor p50 = {row['ratio_p50']:.1f}x")
        if row["error_count"]:
            print(f"  {row['error_count']} errors, e.g. {row['errors']}")
        if row["finished"]:
            print(f"  {row['finished']} clients stopped early: their annotator had no claim left")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--clients", default="1,20", help="comma-separated client counts")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    setup_django(args.db)
    project = build(args.claims)
    clients = [int(n) for n in args.clients.split(",")]
    results = run(project, db=args.db, clients=clients, seconds=args.seconds, workers=args.workers)
    print_results(
        f"Labelling over HTTP: {args.claims:,} claims, {args.db}, gunicorn {args.workers} workers, "
        "a new connection per request",
        results,
    )
    if args.json:
        write_json(args.json, {"claims": args.claims, "db": args.db, "http": results})


if __name__ == "__main__":
    main()
