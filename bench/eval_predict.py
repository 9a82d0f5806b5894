"""Write predictions for the evaluation scorer without the Django app.

    .venv/bin/python bench/eval_predict.py ../shared/eval/gum-news-dev.jsonl > /tmp/pred.jsonl
    python ../shared/eval/score.py ../shared/eval/gum-news-dev.jsonl /tmp/pred.jsonl

    .venv/bin/python bench/eval_predict.py --golden ../shared/eval/golden-rules-en.jsonl \
        > /tmp/golden.jsonl
    python ../shared/eval/score.py --golden ../shared/eval/golden-rules-en.jsonl /tmp/golden.jsonl

Reads records {"id", "text"} (other fields ignored) and prints one line per
record: {"id", "claims": [...]} as `manage.py split_claims` does, or with
--golden {"id", "sentences": [...]}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claims.attribution import analyse  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("records", type=Path, help="JSONL with {'id', 'text'} per line")
    parser.add_argument(
        "--golden", action="store_true", help="print sentence lists for the golden rules"
    )
    parser.add_argument(
        "--no-compound", action="store_true", help="keep attributed compound sentences whole"
    )
    args = parser.parse_args()
    with args.records.open(encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            record = json.loads(line)
            claims = analyse(record["text"], split_compound=not args.no_compound)
            if args.golden:
                out = {"id": record["id"], "sentences": [c.text for c in claims]}
            else:
                out = {"id": record["id"], "claims": [c.to_json() for c in claims]}
            print(json.dumps(out, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
