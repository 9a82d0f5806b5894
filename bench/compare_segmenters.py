"""Score candidate sentence segmenters on the evaluation set and print a table.

    .venv/bin/python bench/compare_segmenters.py [--eval-dir ../shared/eval] [--mb 2]

Every candidate sees the same input: the article cut at line breaks into
paragraphs (all of them split there anyway), then its sentence splitter on
each paragraph. Rows:

- pysbd, sentencex, blingfire, syntok: the library alone on each paragraph;
- "<library> + news rules": our furniture rules (headlines, datelines,
  credits, link lists) from claims.segment, with the library in place of our
  sentence rules;
- "own rules": claims.segment.split as shipped (split_compound=False, since
  the gold has no compound cuts).

Columns: GUM dev boundary F1 (with P/R), golden rules (exact lists), and speed
in MB/s on one core over the dev texts repeated to --mb megabytes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from claims import segment  # noqa: E402

Spans = list[tuple[int, int]]
ParagraphSplitter = Callable[[str], Spans]


def _pysbd() -> ParagraphSplitter:
    import pysbd

    seg = pysbd.Segmenter(language="en", clean=False, char_span=True)
    return lambda para: [(s.start, s.end) for s in seg.segment(para)]


def _sentencex() -> ParagraphSplitter:
    import sentencex

    def run(para: str) -> Spans:
        spans = []
        for b in sentencex.get_sentence_boundaries("en", para):
            spans.append((b["start_index"], b["end_index"]))
        return spans

    return run


def _blingfire() -> ParagraphSplitter:
    import blingfire

    def run(para: str) -> Spans:
        # blingfire reports UTF-8 byte offsets; map them back to characters.
        raw = para.encode("utf-8")
        _, offsets = blingfire.text_to_sentences_and_offsets(para)
        char_at = {}
        pos = 0
        for index, ch in enumerate(para):
            char_at[pos] = index
            pos += len(ch.encode("utf-8"))
        char_at[len(raw)] = len(para)
        return [(char_at.get(s, 0), char_at.get(e, len(para))) for s, e in offsets]

    return run


def _syntok() -> ParagraphSplitter:
    from syntok import segmenter as syntok_segmenter

    def run(para: str) -> Spans:
        spans = []
        for paragraph in syntok_segmenter.analyze(para):
            for sentence in paragraph:
                first, last = sentence[0], sentence[-1]
                spans.append((first.offset, last.offset + len(last.value)))
        return spans

    return run


LIBRARIES: dict[str, Callable[[], ParagraphSplitter]] = {
    "pysbd 0.3.4": _pysbd,
    "sentencex 1.0.32": _sentencex,
    "blingfire 0.1.8": _blingfire,
    "syntok 1.4.4": _syntok,
}


def _trimmed(text: str, offset: int, spans: Spans) -> Spans:
    out = []
    for start, end in spans:
        piece = text[offset + start : offset + end]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        out.append((offset + start + lead, offset + start + lead + len(stripped)))
    return out


def library_alone(splitter: ParagraphSplitter) -> Callable[[str], Spans]:
    def run(text: str) -> Spans:
        spans: Spans = []
        offset = 0
        for line in text.split("\n"):
            if line.strip():
                spans.extend(_trimmed(text, offset, splitter(line)))
            offset += len(line) + 1
        return spans

    return run


def library_with_news_rules(splitter: ParagraphSplitter) -> Callable[[str], Spans]:
    def sentence_spans(text: str, start: int, end: int) -> Spans:
        return _trimmed(text, start, splitter(text[start:end]))

    def run(text: str) -> Spans:
        original = segment.sentence_spans
        segment.sentence_spans = sentence_spans
        try:
            return [(s.start, s.end) for s in segment.split(text, split_compound=False)]
        finally:
            segment.sentence_spans = original

    return run


def own_rules(text: str) -> Spans:
    return [(s.start, s.end) for s in segment.split(text, split_compound=False)]


def load_scorer(eval_dir: Path):
    spec = importlib.util.spec_from_file_location("score", eval_dir / "score.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["score"] = module  # dataclasses look the module up by name
    spec.loader.exec_module(module)
    return module


def boundary_scores(scorer, gold_docs, run: Callable[[str], Spans]) -> tuple[float, float, float]:
    tp = fp = fn = 0
    for doc in gold_docs:
        claims = [scorer.PredClaim(s, e) for s, e in run(doc.text)]
        tally = scorer.score_doc(doc, claims)
        tp, fp, fn = tp + tally.b_tp, fp + tally.b_fp, fn + tally.b_fn
    return scorer.prf(tp, fp, fn)


def golden_score(cases: list[dict], run: Callable[[str], Spans]) -> tuple[int, int]:
    right = total = 0
    for case in cases:
        if case["xfail"]:
            continue
        got = [case["text"][s:e].strip() for s, e in run(case["text"])]
        total += 1
        right += [g for g in got if g] == [s.strip() for s in case["sentences"]]
    return right, total


def speed(texts: list[str], run: Callable[[str], Spans], megabytes: float) -> float:
    corpus = "\n\n".join(texts)
    copies = max(1, int(megabytes * 1_000_000 / len(corpus.encode("utf-8"))))
    size = len(corpus.encode("utf-8")) * copies
    started = time.perf_counter()
    for _ in range(copies):
        for text in texts:
            run(text)
    return size / 1_000_000 / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default_eval = Path(__file__).resolve().parents[2] / "shared" / "eval"
    parser.add_argument("--eval-dir", type=Path, default=default_eval)
    parser.add_argument("--mb", type=float, default=1.0, help="text volume for the speed run")
    args = parser.parse_args()

    scorer = load_scorer(args.eval_dir)
    gold_docs = scorer.load_gold(str(args.eval_dir / "gum-news-dev.jsonl"))
    with open(args.eval_dir / "golden-rules-en.jsonl", encoding="utf-8") as fh:
        golden = [json.loads(line) for line in fh if line.strip()]
    texts = [doc.text for doc in gold_docs]

    candidates: list[tuple[str, Callable[[str], Spans]]] = []
    for name, factory in LIBRARIES.items():
        splitter = factory()
        candidates.append((name, library_alone(splitter)))
        candidates.append((f"{name} + news rules", library_with_news_rules(splitter)))
    candidates.append(("own rules (claims.segment)", own_rules))

    print(f"| {'segmenter':34} | bnd P | bnd R | bnd F1 | golden | MB/s |")
    print(f"|{'-' * 36}|------:|------:|-------:|-------:|-----:|")
    for name, run in candidates:
        p, r, f = boundary_scores(scorer, gold_docs, run)
        right, total = golden_score(golden, run)
        mbps = speed(texts, run, args.mb)
        print(f"| {name:34} | {p:.3f} | {r:.3f} | {f:.3f} | {right:2d}/{total} | {mbps:5.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
