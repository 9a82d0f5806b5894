"""Every benchmark, one summary: ``make bench`` runs this.

    .venv/bin/python bench/run_all.py [--sizes 1000,100000] [--db sqlite,postgres]
        [--rounds 200] [--seconds 10] [--clients 1,20] [--quick] [--only web|others]

For each database and each project size (claims; ten labels per claim by 20
annotators, so 100,000 claims come with 1,000,000 annotations), it builds the
synthetic project (once; small sizes are rebuilt every run so their queue
never runs dry), then runs, each in its own process:

- labelling_loop.py: the round trip in process, time and SQL queries per request;
- http_load.py: the same over HTTP under gunicorn, 1 and 20 clients, against
  a minimal view;
- pages.py at every size: dashboard, review, article list and the rest;

and then the other benchmarks (text engine, agreement, import, export) with
their own defaults (smaller with ``--quick``). It prints one summary with
the targets, and the machine and its load.

``--quick`` is for trying the scripts: 1,000 and 10,000 claims, short runs.
PostgreSQL is skipped with a note when the server at 127.0.0.1:5432 does not answer.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PYTHON = sys.executable

TARGETS = {
    "round_p50_ms": 10,
    "round_p95_ms": 20,
    "queries_per_request": 10,
    "page_ms": 500,
}

# Other benchmarks: (script, full-run arguments, --quick arguments, what it measures).
OTHERS = [
    ("split_speed.py", [], ["--mb", "1"], "text engine: splitting and suggestions"),
    ("agreement_speed.py", [], [], "agreement figures, in memory"),
    ("agreement_db.py", [], ["--claims", "10000"], "agreement figures, from the database"),
    ("import_speed.py", [], ["--articles", "1000"], "import_articles throughput"),
    ("export_speed.py", [], ["--rows", "10000"], "CSV export, command and web"),
]


def run(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float = 3600
) -> tuple[int, str, float]:
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return -1, f"timed out after {timeout:.0f} s", time.perf_counter() - started
    output = done.stdout + (("\n" + done.stderr) if done.returncode else "")
    return done.returncode, output, time.perf_counter() - started


def postgres_answers() -> bool:
    try:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", connect_timeout=3):
            return True
    except Exception:
        return False


def script(name: str, *args: str, json_path: Path, timeout: float = 3600) -> dict[str, Any] | None:
    code, output, seconds = run(
        [PYTHON, str(BENCH / name), *args, "--json", str(json_path)], timeout=timeout
    )
    print(output.rstrip())
    print(f"  ({name} {' '.join(args)}: {seconds:.0f} s)", flush=True)
    if code != 0 or not json_path.exists():
        print(f"  {name} failed (exit {code})")
        return None
    return json.loads(json_path.read_text())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="1000,100000", help="claims per project, comma-separated"
    )
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", default="1,20")
    parser.add_argument("--quick", action="store_true", help="small sizes and short runs")
    parser.add_argument("--only", choices=["web", "others"], help="run only these benchmarks")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds, args.seconds = "1000,10000", 50, 3
    sizes = [int(size) for size in args.sizes.split(",")]
    databases = args.db.split(",")
    if "postgres" in databases and not postgres_answers():
        print("PostgreSQL at 127.0.0.1:5432 does not answer: skipping it.")
        databases.remove("postgres")

    started = time.perf_counter()
    load_before = os.getloadavg()
    collected: dict[tuple[str, int], dict[str, Any]] = {}
    others: list[tuple[str, str, int, float, str]] = []
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        if args.only != "others":
            for db in databases:
                for size in sizes:
                    print(f"\n=== {db}, {size:,} claims", flush=True)
                    build = [
                        PYTHON,
                        str(BENCH / "build_project.py"),
                        "--claims",
                        str(size),
                        "--db",
                        db,
                    ]
                    if size <= 10_000:
                        build.append("--rebuild")
                    code, output, seconds = run(build)
                    print(output.rstrip(), f"({seconds:.0f} s)")
                    if code != 0:
                        continue
                    common = ["--claims", str(size), "--db", db]
                    figures = collected.setdefault((db, size), {})
                    loop = script(
                        "labelling_loop.py",
                        *common,
                        "--rounds",
                        str(args.rounds),
                        json_path=out / f"loop-{db}-{size}.json",
                    )
                    if size <= 10_000:  # the loop used up part of the small queue
                        run(build)
                    http = script(
                        "http_load.py",
                        *common,
                        "--clients",
                        args.clients,
                        "--seconds",
                        str(args.seconds),
                        json_path=out / f"http-{db}-{size}.json",
                    )
                    pages = script(
                        "pages.py",
                        *common,
                        "--repeat",
                        # The slowest pages take a minute at the largest sizes.
                        "3" if size <= 10_000 else "1",
                        json_path=out / f"pages-{db}-{size}.json",
                    )
                    figures.update(
                        loop=loop and loop["loop"],
                        http=http and http["http"],
                        pages=pages and pages["pages"],
                        machine=(loop or http or pages or {}).get("machine"),
                    )
        if args.only != "web":
            for name, full, quick, what in OTHERS:
                if not (BENCH / name).exists():
                    others.append((name, what, -2, 0.0, "not in this version"))
                    continue
                print(f"\n=== {name}: {what}", flush=True)
                code, output, seconds = run(
                    [PYTHON, str(BENCH / name), *(quick if args.quick else full)]
                )
                print(output.rstrip())
                others.append(
                    (
                        name,
                        what,
                        code,
                        seconds,
                        output.strip().splitlines()[-1] if output.strip() else "",
                    )
                )

    summary(collected, others, sizes, databases, load_before, time.perf_counter() - started)


def _mark(value: float, limit: float) -> str:
    return "ok" if value <= limit else "OVER"


def summary(
    collected: dict[tuple[str, int], dict[str, Any]],
    others: list[tuple[str, str, int, float, str]],
    sizes: list[int],
    databases: list[str],
    load_before: tuple[float, float, float],
    seconds: float,
) -> None:
    print("\n" + "=" * 100)
    print("SUMMARY")
    machine = next((f["machine"] for f in collected.values() if f.get("machine")), None)
    if machine:
        print(
            f"machine: {machine['cpu']}, {machine['memory']}, Python {machine['python']}; "
            f"load average before {' '.join(f'{v:.2f}' for v in load_before)}, "
            f"after {' '.join(f'{v:.2f}' for v in os.getloadavg())}; {seconds / 60:.0f} min"
        )
    if collected:
        print(
            f"\nLabelling round trip (GET next claim + POST label). Targets: p50 <= "
            f"{TARGETS['round_p50_ms']} ms, p95 <= {TARGETS['round_p95_ms']} ms over HTTP, "
            f"<= {TARGETS['queries_per_request']} queries per request"
        )
        print(
            f"  {'db':<9} {'claims':>8} {'where':<22} {'GET p50':>8} {'POST p50':>9} "
            f"{'round p50':>10} {'round p95':>10} {'q GET':>6} {'q POST':>7} {'x floor':>8}"
        )
        for (db, size), figures in collected.items():
            loop = figures.get("loop")
            if loop:
                print(
                    f"  {db:<9} {size:>8,} {'in process':<22} {loop['get']['p50']:>8.1f} "
                    f"{loop['post']['p50']:>9.1f} {loop['round']['p50']:>10.1f} "
                    f"{loop['round']['p95']:>10.1f} {loop['get']['queries']:>6} "
                    f"{loop['post']['queries']:>7} {'':>8}"
                )
            for row in figures.get("http") or []:
                where = f"HTTP, {row['clients']} client" + ("s" if row["clients"] > 1 else "")
                print(
                    f"  {db:<9} {size:>8,} {where:<22} {row['get']['p50']:>8.1f} "
                    f"{row['post']['p50']:>9.1f} {row['round']['p50']:>10.1f} "
                    f"{row['round']['p95']:>10.1f} {'':>6} {'':>7} {row['ratio_p50']:>7.1f}x"
                    f"  {_mark(row['round']['p50'], TARGETS['round_p50_ms'])}"
                    f"/{_mark(row['round']['p95'], TARGETS['round_p95_ms'])}"
                    f"  {row['round']['per_second']:.0f} rounds/s"
                    + (f", {row['error_count']} errors" if row["error_count"] else "")
                    + (f", {row['finished']} ran out of claims" if row.get("finished") else "")
                )
                if "htmx" in row:
                    saves = row["htmx"]
                    print(
                        f"  {db:<9} {size:>8,} {where + ', htmx':<22} {'save + next claim':>18} "
                        f"{saves['p50']:>10.1f} {saves['p95']:>10.1f}"
                        f"  {saves['per_second']:.0f} saves/s"
                    )
        print(
            f"\nPages (median ms / queries). Target: <= {TARGETS['page_ms']} ms at the largest size"
        )
        for db in databases:
            by_size = {size: collected.get((db, size), {}).get("pages") or [] for size in sizes}
            names = [row["page"] for row in by_size[sizes[-1]]] or [
                row["page"] for rows in by_size.values() for row in rows
            ]
            header = "".join(f"{f'{size:,} claims':>22}" for size in sizes)
            print(f"  {db:<32}{header}")
            for name in dict.fromkeys(names):
                cells, counts = [], []
                for size in sizes:
                    row = next((r for r in by_size[size] if r["page"] == name), None)
                    if row is None or "error" in row:
                        cells.append(f"{'failed' if row else '-':>22}")
                        continue
                    counts.append(row["queries"])
                    cells.append(f"{row['median_ms']:>12.0f} ms / {row['queries']:>4}")
                notes = []
                if len(set(counts)) > 1:
                    notes.append("queries grow with rows")
                last = next((r for r in by_size[sizes[-1]] if r["page"] == name), None)
                if last and "error" not in last and last["median_ms"] > TARGETS["page_ms"]:
                    notes.append("over budget")
                print(f"  {name:<32}{''.join(cells)}  {', '.join(notes)}")
    if others:
        print("\nOther benchmarks")
        for name, what, code, seconds, last in others:
            state = {0: "ok", -2: "missing", -1: "timed out"}.get(code, f"failed ({code})")
            print(f"  {name:<20} {what:<42} {state:<10} {seconds:>5.0f} s  {last[:80]}")


if __name__ == "__main__":
    main()
