"""Time and peak memory of a large project's agreement figures.

Synthetic project: 100,000 claims in 10,000 articles, two annotations per
claim (200,000 in all) from 20 annotators, skewed label use. Computes what
the manager's agreement page shows: nominal and ordinal alpha for
confidence, nominal alpha for claim kind, MASI alpha for sources, kappa for
every annotator pair, and per-article alpha. The budget is 5 seconds.

    .venv/bin/python bench/agreement_speed.py [--compare-library]

``--compare-library`` also times the ``krippendorff`` package on the same
data (the project-wide alphas, and the per-article loop extrapolated from
500 articles), which is how docs/agreement.md chose our own code.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script from anywhere: make the project root importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims.agreement import (  # noqa: E402
    agreement,
    agreement_by_group,
    krippendorff_alpha,
    pairwise,
)

CONFIDENCE = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]
CONFIDENCE_WEIGHTS = [0.08, 0.45, 0.22, 0.10, 0.12, 0.03]
KINDS = ["claim", "opinion", "not_a_claim"]
KIND_WEIGHTS = [0.8, 0.12, 0.08]
SOURCE_NAMES = [f"source {number}" for number in range(60)]
# Zipf-like: a few sources (KCNA, the ministry) are behind most claims.
SOURCE_WEIGHTS = [1 / (rank + 1) for rank in range(len(SOURCE_NAMES))]

CLAIMS, ARTICLES, ANNOTATORS, PER_CLAIM = 100_000, 10_000, 20, 2


def _sources(rng: random.Random) -> frozenset[str]:
    size = rng.choices([0, 1, 2, 3], weights=[0.1, 0.65, 0.17, 0.08])[0]
    return frozenset(rng.choices(SOURCE_NAMES, weights=SOURCE_WEIGHTS, k=size))


def _label(rng: random.Random, truth: str, agreeing: float, labels: list, weights: list) -> str:
    # Annotators see the same text, so most agree on what the claim "is";
    # the rest answer from the overall skew of the label set.
    return truth if rng.random() < agreeing else rng.choices(labels, weights=weights)[0]


def build_project(seed: int = 7) -> dict:
    """Records per label field, and the article of every claim."""
    rng = random.Random(seed)
    confidence, kind, sources = [], [], []
    for claim in range(CLAIMS):
        true_confidence = rng.choices(CONFIDENCE, weights=CONFIDENCE_WEIGHTS)[0]
        true_kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
        true_sources = _sources(rng)
        for annotator in rng.sample(range(ANNOTATORS), PER_CLAIM):
            label = _label(rng, true_confidence, 0.7, CONFIDENCE, CONFIDENCE_WEIGHTS)
            confidence.append((claim, annotator, label))
            kind.append((claim, annotator, _label(rng, true_kind, 0.85, KINDS, KIND_WEIGHTS)))
            # A fresh frozenset per annotation, as rows read from the database would be.
            named = frozenset(true_sources) if rng.random() < 0.6 else _sources(rng)
            sources.append((claim, annotator, named))
    article_of_claim = {claim: claim // (CLAIMS // ARTICLES) for claim in range(CLAIMS)}
    return {
        "confidence": confidence,
        "kind": kind,
        "sources": sources,
        "article_of_claim": article_of_claim,
    }


def figures(project: dict) -> list[tuple[str, Callable[[], object]]]:
    """What the manager's agreement page computes, as named steps."""
    confidence, articles = project["confidence"], project["article_of_claim"]
    return [
        ("confidence nominal alpha", lambda: agreement(confidence)),
        (
            "confidence ordinal alpha",
            lambda: krippendorff_alpha(confidence, level="ordinal", order=CONFIDENCE),
        ),
        ("kind nominal alpha", lambda: agreement(project["kind"])),
        ("sources MASI alpha", lambda: agreement(project["sources"], distance="masi")),
        ("pairwise kappa (all pairs)", lambda: pairwise(confidence)),
        (
            "per-article ordinal alpha",
            lambda: agreement_by_group(confidence, articles, level="ordinal", order=CONFIDENCE),
        ),
        (
            "per-article MASI alpha",
            lambda: agreement_by_group(project["sources"], articles, distance="masi"),
        ),
    ]


def _timed(label: str, compute: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = compute()
    elapsed = time.perf_counter() - start
    print(f"  {label:<36} {elapsed:7.3f} s")
    return elapsed, result


def run(project: dict) -> None:
    total = 0.0
    results = {}
    for label, compute in figures(project):
        elapsed, results[label] = _timed(label, compute)
        total += elapsed
    print(f"  {'total':<36} {total:7.3f} s   (budget 5 s)")

    print("figures:")
    for label in ("confidence nominal alpha", "kind nominal alpha", "sources MASI alpha"):
        print(f"  {label:<36} {results[label]}")
    print(f"  {'confidence ordinal alpha':<36} {results['confidence ordinal alpha']:.4f}")
    pairs = results["pairwise kappa (all pairs)"]
    kappas = [stats.kappa for stats in pairs.values() if stats.kappa is not None]
    print(
        f"  {'annotator pairs':<36} {len(pairs)} pairs, kappa {min(kappas):.3f}..{max(kappas):.3f}"
    )
    per_article = results["per-article ordinal alpha"]
    defined = [figure.alpha for figure in per_article.values() if figure.alpha is not None]
    print(
        f"  {'articles':<36} {len(per_article)}, alpha defined for {len(defined)}, "
        f"median {np.median(defined):.3f}"
    )


def peak_memory(project: dict) -> None:
    # A separate run: tracemalloc slows Python-level code, so it must not
    # pollute the timings. numpy reports its buffers to tracemalloc.
    tracemalloc.start()
    for _name, compute in figures(project):
        compute()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory while computing (tracemalloc): {peak / 2**20:.1f} MiB")
    # The whole process, including the 600,000 records built above.
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident size of the process: {max_rss:.0f} MiB")


def compare_library(project: dict) -> None:
    import krippendorff

    confidence = project["confidence"]
    rank = {label: position for position, label in enumerate(CONFIDENCE)}
    matrix = np.full((ANNOTATORS, CLAIMS), np.nan)
    for claim, annotator, label in confidence:
        matrix[annotator, claim] = rank[label]
    domain = list(range(len(CONFIDENCE)))
    print("krippendorff package, same data (reliability matrix already built):")
    _timed(
        "nominal alpha",
        lambda: krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="nominal", value_domain=domain
        ),
    )
    _timed(
        "ordinal alpha",
        lambda: krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=domain
        ),
    )

    sample = 500
    per_article = CLAIMS // ARTICLES

    def per_article_loop() -> None:
        for article in range(sample):
            columns = matrix[:, article * per_article : (article + 1) * per_article]
            try:
                krippendorff.alpha(
                    reliability_data=columns, level_of_measurement="ordinal", value_domain=domain
                )
            except ValueError:  # an article without pairable claims
                pass

    with np.errstate(all="ignore"):
        elapsed, _ = _timed(f"per-article ordinal, {sample} articles", per_article_loop)
    print(f"  {'  -> extrapolated to 10,000 articles':<36} {elapsed * ARTICLES / sample:7.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--compare-library", action="store_true", help="also time the krippendorff package"
    )
    arguments = parser.parse_args()

    start = time.perf_counter()
    project = build_project()
    distinct_sets = len({value for _, _, value in project["sources"]})
    print(
        f"built {CLAIMS:,} claims, {len(project['confidence']):,} annotations per field, "
        f"{ANNOTATORS} annotators, {ARTICLES:,} articles, {distinct_sets:,} distinct source "
        f"sets in {time.perf_counter() - start:.1f} s"
    )
    print("timings:")
    run(project)
    peak_memory(project)
    if arguments.compare_library:
        compare_library(project)


if __name__ == "__main__":
    main()
