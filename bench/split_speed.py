"""Measure splitting plus suggestions (claims.attribution.analyse) on one core.

    .venv/bin/python bench/split_speed.py [--mb 4] [--eval-dir ../shared/eval]

The text is realistic news copy: the GUM dev articles and the demo articles,
repeated until --mb megabytes of UTF-8. Two runs:

- "articles": analyse() once per article, as an import does;
- "one body": everything joined into a single body of --mb megabytes, the
  worst case for an upload, with its peak Python memory (tracemalloc).

Prints MB/s for each run; the target is >= 1 MB/s.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claims.attribution import analyse  # noqa: E402


def load_articles(eval_dir: Path, articles_dir: Path) -> list[str]:
    texts = []
    with open(eval_dir / "gum-news-dev.jsonl", encoding="utf-8") as fh:
        texts.extend(json.loads(line)["text"] for line in fh if line.strip())
    for path in sorted(articles_dir.glob("*.txt")):
        texts.append(path.read_text(encoding="utf-8").split("\n", 1)[1])
    return texts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = Path(__file__).resolve().parents[2] / "shared"
    parser.add_argument("--eval-dir", type=Path, default=shared / "eval")
    parser.add_argument("--articles-dir", type=Path, default=shared / "articles")
    parser.add_argument("--mb", type=float, default=4.0, help="megabytes of text per run")
    args = parser.parse_args()

    articles = load_articles(args.eval_dir, args.articles_dir)
    one_pass = sum(len(t.encode("utf-8")) for t in articles)
    copies = max(1, round(args.mb * 1_000_000 / one_pass))
    corpus = articles * copies
    size_mb = one_pass * copies / 1_000_000

    started = time.perf_counter()
    claims = sum(len(analyse(text)) for text in corpus)
    elapsed = time.perf_counter() - started
    print(
        f"articles: {len(corpus)} articles, {size_mb:.2f} MB, {claims} claims "
        f"in {elapsed:.2f} s = {size_mb / elapsed:.2f} MB/s"
    )

    body = "\n\n".join(corpus)
    body_mb = len(body.encode("utf-8")) / 1_000_000
    started = time.perf_counter()
    claims = len(analyse(body))
    elapsed = time.perf_counter() - started
    # Memory in a second run: tracemalloc slows the code it watches.
    tracemalloc.start()
    analyse(body)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"one body: {body_mb:.2f} MB, {claims} claims in {elapsed:.2f} s "
        f"= {body_mb / elapsed:.2f} MB/s; peak Python memory {peak / 1_000_000:.1f} MB "
        f"({peak / 1_000_000 / body_mb:.1f}x the text)"
    )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
    print(f"process peak RSS {rss:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
