"""Instructions per labelling round trip, counted by valgrind, for one or two checkouts.

    .venv/bin/python bench/instructions.py [other checkout] [--db sqlite|postgres]
        [--claims 100000] [--rounds 100]

Wall and CPU times on a shared machine move by a tenth between runs minutes
apart, more than a change of a few hundred microseconds. The number of
instructions the process runs for the same work moves much less: valgrind's
callgrind counts them, whatever the machine does meanwhile (the same code
counted twice came out 2 % apart, each run labelling other claims of the
queue). It runs the process some 30 times slower, so
this counts in process, with Django's test client as ``labelling_loop.py``
does: an annotator GETs the next claim and POSTs a label (a redirect),
``--rounds`` times. Each checkout is counted twice, with 20 rounds and with
20 + ``--rounds``, and the difference divided by ``--rounds`` is what one
round trip costs, start-up and warm-up left out.

Only this process is counted: on PostgreSQL the server's work is not in the
figure (psycopg's and libpq's are). The checkouts share the synthetic
project, which each round uses up a little (as every labelling benchmark
does). Needs valgrind (Debian's package ``valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE_ROUNDS = 20
WARMUP = 30

# The process valgrind runs: the loop of labelling_loop.py, from the checkout given.
CHILD = """
import sys
sys.path.insert(0, {root!r})
from bench.build_project import setup_django
from bench.labelling_loop import Loop, least_busy_annotator
setup_django({db!r}, migrate=False)
from claims.models import Project
project = Project.objects.get(slug="bench-{claims}")
loop = Loop(project, least_busy_annotator(project))
for _ in range({warmup} + {rounds}):
    loop.post(loop.get_next(), htmx=False)
"""


def count(root: Path, db: str, claims: int, rounds: int) -> int:
    """Instructions callgrind counted for a whole run of ``rounds`` round trips."""
    with tempfile.TemporaryDirectory() as scratch:
        child = CHILD.format(root=str(root), db=db, claims=claims, warmup=WARMUP, rounds=rounds)
        done = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={scratch}/callgrind.out",
                str(ROOT / ".venv" / "bin" / "python"),
                "-c",
                child,
            ],
            cwd=root,
            env=os.environ | {"PYTHONHASHSEED": "0"},
            capture_output=True,
            text=True,
        )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise SystemExit(f"The run in {root} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_round(root: Path, db: str, claims: int, rounds: int) -> float:
    base = count(root, db, claims, BASE_ROUNDS)
    more = count(root, db, claims, BASE_ROUNDS + rounds)
    return (more - base) / rounds


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", nargs="?", type=Path, help="another checkout to count too")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed: apt-get install valgrind")
    sys.path.insert(0, str(ROOT))
    from bench.build_project import build, setup_django

    setup_django(args.db)
    build(args.claims)
    checkouts = [ROOT] + ([args.other.resolve()] if args.other else [])
    print(
        f"Instructions per round trip (GET the next claim + POST a label), in process: "
        f"{args.claims:,} claims, {args.db}, {args.rounds} rounds"
    )
    figures = {}
    for checkout in checkouts:
        figures[checkout] = per_round(checkout, args.db, args.claims, args.rounds)
        print(f"  {str(checkout):40s} {figures[checkout] / 1e6:8.2f} M")
    if args.other:
        this, other = figures[ROOT], figures[checkouts[1]]
        print(f"  this one - the other: {(this - other) / 1e6:+.2f} M ({this / other - 1:+.1%})")


if __name__ == "__main__":
    main()
