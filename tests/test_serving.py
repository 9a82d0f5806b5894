"""The gunicorn worker the workbench deploys with (workbench/serving.py).

Each test starts gunicorn with 4 workers on a free loopback port, serving a
WSGI application of a few lines (tests/serving_app.py): what is tested is the
worker's wait for connections, not the workbench.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bench.http_load import free_port

ROOT = Path(__file__).resolve().parent.parent
WORKER = "workbench.serving.SyncWorker"
WORKERS = 4

pytestmark = pytest.mark.skipif(
    sys.platform != "linux", reason="the worker's exclusive wake-up is Linux's (epoll)"
)


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextmanager
def gunicorn(worker_class: str) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.serving_app:application",
            f"--bind=127.0.0.1:{port}",
            f"--workers={WORKERS}",
            f"--worker-class={worker_class}",
            "--no-control-socket",
            "--log-level=warning",
        ],  # fmt: skip
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while len(workers(process)) < WORKERS or not answers(port):
            assert process.poll() is None, "gunicorn stopped"
            assert time.monotonic() < deadline, "gunicorn did not start within 30 s"
            time.sleep(0.1)
        time.sleep(0.5)  # every worker booted and waiting
        yield process, port
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def answers(port: int) -> bool:
    try:
        return get(port, "/up")[0] == 200
    except OSError:
        return False


def workers(process: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def sleeps(pid: int) -> int:
    """How often the process has gone to sleep (its voluntary context switches)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("voluntary_ctxt_switches"):
            return int(line.split()[1])
    raise AssertionError(f"no context switch count for {pid}")


def test_every_request_is_answered_one_at_a_time_and_many_at_once():
    with gunicorn(WORKER) as (_, port):
        for number in range(50):
            assert get(port, f"/one/{number}") == (200, f"/one/{number}".encode())
        replies: list[tuple[int, bytes]] = []

        def client(number: int) -> None:
            for round_ in range(5):
                replies.append(get(port, f"/many/{number}/{round_}"))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(replies) == sorted(
            (200, f"/many/{n}/{r}".encode()) for n in range(20) for r in range(5)
        )


def wake_ups_per_request(worker_class: str, requests: int = 200) -> float:
    with gunicorn(worker_class) as (process, port):
        pids = workers(process)
        before = {pid: sleeps(pid) for pid in pids}
        for number in range(requests):
            assert get(port, f"/{number}")[0] == 200
        return sum(sleeps(pid) - before[pid] for pid in pids) / requests


def test_idle_workers_sleep_through_a_connection_another_takes():
    """gunicorn's sync worker wakes all four for each connection; this one, one.

    The worker that takes a connection sleeps about twice in it (waiting for
    the request, then for the client to close); the sync worker's measure
    shows the three others woken as well, so the count does see them."""
    ours = wake_ups_per_request(WORKER)
    theirs = wake_ups_per_request("sync")
    assert ours < 3, ours
    assert theirs > ours + 2, (theirs, ours)


def test_a_stop_ends_idle_workers_at_once():
    """SIGTERM reaches workers waiting for a connection (their wait lasts 15 s)."""
    with gunicorn(WORKER) as (process, _):
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert time.monotonic() - started < 5
