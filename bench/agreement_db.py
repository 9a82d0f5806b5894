"""Agreement figures of a large project, read from the database: time and results.

Builds, in a temporary SQLite file (never the developer's database), a project
of 100,000 claims in 10,000 articles with 200,000 annotations by 20
annotators (two per claim, skewed label use, 60 sources), with ``bulk_create``.
Then times what the dashboard does: reading the labels with ``values_list``
(``claims.project_stats.LabelRows``) and computing every agreement figure
(``project_agreement``: confidence nominal and ordinal, claim kind, sources
MASI, per article, per annotator pair). The budget is 5 seconds for both.

    .venv/bin/python bench/agreement_db.py [--claims 100000] [--keep] [--reuse FILE]

``--keep`` leaves the database file and prints its path; ``--reuse FILE``
times again on it without building.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONFIDENCE = ["confirmed", "asserted", "claimed", "estimated", "speculative", "unclear"]
CONFIDENCE_WEIGHTS = [0.08, 0.45, 0.22, 0.10, 0.12, 0.03]
KINDS = ["claim", "opinion", "not_a_claim"]
KIND_WEIGHTS = [0.8, 0.12, 0.08]
SOURCE_COUNT = 60
# Zipf-like: a few sources are behind most claims.
SOURCE_WEIGHTS = [1 / (rank + 1) for rank in range(SOURCE_COUNT)]
ANNOTATORS, PER_CLAIM, CLAIMS_PER_ARTICLE = 20, 2, 10
BATCH = 5000


def _setup_django(database: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "workbench.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _pick(rng: random.Random, truth, agreeing: float, values: list, weights: list):
    # Annotators read the same text: most agree, the rest answer from the skew.
    return truth if rng.random() < agreeing else rng.choices(values, weights=weights)[0]


def _source_set(rng: random.Random, sources: list) -> list:
    size = rng.choices([0, 1, 2, 3], weights=[0.1, 0.65, 0.17, 0.08])[0]
    return list({s.pk: s for s in rng.choices(sources, SOURCE_WEIGHTS, k=size)}.values())


def build(claims: int, seed: int = 7):
    """The project, built with bulk_create in batches; returns it."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from claims.models import (
        Annotation,
        AnnotationSource,
        Article,
        Claim,
        Project,
        Source,
        SourceKind,
        content_hash,
    )

    rng = random.Random(seed)
    with transaction.atomic():
        project = Project.objects.create(
            name="Agreement bench", slug="agreement-bench", annotations_per_claim=PER_CLAIM
        )
        project.copy_default_labels()
        users = get_user_model().objects.bulk_create(
            get_user_model()(username=f"bench-annotator-{n:02d}") for n in range(ANNOTATORS)
        )
        sources = Source.objects.bulk_create(
            Source(project=project, name=f"Source {n}", kind=SourceKind.GOVERNMENT)
            for n in range(SOURCE_COUNT)
        )
        articles = []
        for number in range(claims // CLAIMS_PER_ARTICLE):
            body = " ".join(f"Article {number} says thing {index} happened." for index in range(10))
            articles.append(
                Article(
                    project=project,
                    title=f"Article {number}",
                    body=body,
                    content_hash=content_hash(body),
                )
            )
        articles = Article.objects.bulk_create(articles, batch_size=BATCH)
        claim_rows = []
        for article in articles:
            position = 0
            for index in range(CLAIMS_PER_ARTICLE):
                text = article.body.split(". ")[index].rstrip(".") + "."
                start = article.body.index(text, position)
                position = start + len(text)
                claim_rows.append(
                    Claim(
                        project=project,
                        article=article,
                        index=index,
                        start=start,
                        end=position,
                        text=text,
                        annotation_count=PER_CLAIM,
                    )
                )
        claim_rows = Claim.objects.bulk_create(claim_rows, batch_size=BATCH)

        annotations, chosen_sources = [], []
        for claim in claim_rows:
            confidence = rng.choices(CONFIDENCE, weights=CONFIDENCE_WEIGHTS)[0]
            kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
            named = _source_set(rng, sources)
            for user in rng.sample(users, PER_CLAIM):
                annotations.append(
                    Annotation(
                        project=project,
                        claim=claim,
                        annotator=user,
                        confidence=_pick(rng, confidence, 0.7, CONFIDENCE, CONFIDENCE_WEIGHTS),
                        claim_kind=_pick(rng, kind, 0.85, KINDS, KIND_WEIGHTS),
                    )
                )
                chosen_sources.append(named if rng.random() < 0.6 else _source_set(rng, sources))
        annotations = Annotation.objects.bulk_create(annotations, batch_size=BATCH)
        AnnotationSource.objects.bulk_create(
            (
                AnnotationSource(annotation=annotation, source=source, position=position)
                for annotation, named in zip(annotations, chosen_sources, strict=True)
                for position, source in enumerate(named)
            ),
            batch_size=BATCH,
        )
    return project


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="Keep the database file.")
    parser.add_argument(
        "--reuse", metavar="FILE", type=Path, help="Time again on a database kept with --keep."
    )
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="agreement-bench-"))
    try:
        _setup_django(options.reuse or folder / "bench.sqlite3")
        from claims.models import Annotation, AnnotationSource, Claim, Project
        from claims.project_stats import LabelRows, collector_paused, confidence_order, measure

        start = time.perf_counter()
        project = Project.objects.filter(slug="agreement-bench").first() or build(options.claims)
        print(
            f"built in {time.perf_counter() - start:.1f} s: "
            f"{Claim.objects.filter(project=project).count():,} claims, "
            f"{Annotation.objects.filter(project=project).count():,} annotations, "
            f"{AnnotationSource.objects.filter(annotation__project=project).count():,} "
            "source links"
        )

        from django.contrib.auth import get_user_model

        # Wall clock and this process's CPU time: on a busy machine the first
        # includes waiting for a core, the second does not.
        with collector_paused():
            start, start_cpu = time.perf_counter(), time.process_time()
            rows = LabelRows.read(project)
            usernames = dict(get_user_model().objects.values_list("pk", "username"))
            order = confidence_order(project)
            read = time.perf_counter() - start, time.process_time() - start_cpu
            start, start_cpu = time.perf_counter(), time.process_time()
            figures = measure(rows, order, usernames)
            computed = time.perf_counter() - start, time.process_time() - start_cpu
        print("                                   wall      cpu")
        print(f"  database read (values_list)  {read[0]:6.2f} s {read[1]:6.2f} s")
        print(f"  agreement figures            {computed[0]:6.2f} s {computed[1]:6.2f} s")
        print(
            f"  total                        {read[0] + computed[0]:6.2f} s "
            f"{read[1] + computed[1]:6.2f} s   (budget 5 s)"
        )

        print("figures:")
        for name in ("confidence", "confidence_ordinal", "claim_kind", "sources"):
            figure = getattr(figures, name)
            print(
                f"  {name:<20} alpha {figure.alpha:.4f}  all agree {figure.percent_agreement:.3f}"
                f"  claims {figure.units:,}"
            )
        kappas = [p.confidence.kappa for p in figures.pairs if p.confidence and p.confidence.kappa]
        print(
            f"  annotator pairs      {len(figures.pairs)}, confidence kappa "
            f"{min(kappas):.3f}..{max(kappas):.3f}"
        )
        defined = [
            f["confidence"].alpha
            for f in figures.by_article.values()
            if f["confidence"].alpha is not None
        ]
        print(
            f"  articles             {len(figures.by_article):,}, "
            f"confidence alpha defined for {len(defined):,}"
        )
        if options.keep and not options.reuse:
            print(f"database kept at {folder / 'bench.sqlite3'}; time again with --reuse")
    finally:
        if not options.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
