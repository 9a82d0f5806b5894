"""A project's figures for its dashboard: progress, label use and agreement.

Everything is read with aggregates or ``values_list`` (plain tuples, never one
model object per row), so the number of queries does not grow with the
project and 200,000 labels are read and measured in about a second (see
``bench/agreement_db.py``). The statistics themselves are ``claims.agreement``.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Least, TruncHour
from django.utils import timezone

from claims import agreement
from claims.acceptance import Acceptance
from claims.models import Annotation, AnnotationSource, Claim, Label, Project, Role, Skip

T = TypeVar("T")

# Labels per hour: the rate over this many of the annotator's latest hours
# with at least one label, within RATE_WINDOW. Idle hours do not dilute it.
ACTIVE_HOURS = 8
RATE_WINDOW = timedelta(days=14)
AGREEMENT_CACHE_SECONDS = 600


@dataclass(frozen=True)
class LabelRows:
    """A project's labels as parallel columns, one entry per annotation."""

    claim: list[int]
    annotator: list[int]
    article: list[int]
    confidence: list[str]
    claim_kind: list[str]
    sources: list[frozenset[int]]

    def records(self, dimension: str) -> list[tuple[Hashable, Hashable, Hashable]]:
        """``(claim, annotator, value)`` for ``claims.agreement``; a blank value is missing."""
        values = getattr(self, dimension)
        if dimension == "sources":
            return list(zip(self.claim, self.annotator, values, strict=True))
        return [
            (claim, annotator, value or None)
            for claim, annotator, value in zip(self.claim, self.annotator, values, strict=True)
        ]

    @classmethod
    def read(cls, project: Project, *, article_id: int | None = None) -> LabelRows:
        """Two queries: the labels, then which sources each names."""
        annotations = Annotation.objects.filter(project=project)
        links = AnnotationSource.objects.filter(annotation__project=project)
        if article_id is not None:
            annotations = annotations.filter(claim__article_id=article_id)
            links = links.filter(annotation__claim__article_id=article_id)
        sources_of: dict[int, set[int]] = defaultdict(set)
        for annotation_id, source_id in links.order_by().values_list("annotation_id", "source_id"):
            sources_of[annotation_id].add(source_id)
        rows = list(
            annotations.order_by().values_list(
                "pk", "claim_id", "annotator_id", "claim__article_id", "confidence", "claim_kind"
            )
        )
        empty: frozenset[int] = frozenset()
        return cls(
            claim=[row[1] for row in rows],
            annotator=[row[2] for row in rows],
            article=[row[3] for row in rows],
            confidence=[row[4] for row in rows],
            claim_kind=[row[5] for row in rows],
            sources=[
                frozenset(sources_of[row[0]]) if row[0] in sources_of else empty for row in rows
            ],
        )


@dataclass(frozen=True)
class PairAgreement:
    first: str
    second: str
    units: int
    confidence: agreement.PairStats | None
    claim_kind: agreement.PairStats | None
    sources: agreement.PairStats | None


@dataclass(frozen=True)
class AgreementFigures:
    """What the dashboard shows about agreement, for a project or one article."""

    confidence: agreement.Agreement
    confidence_ordinal: agreement.Agreement
    claim_kind: agreement.Agreement
    sources: agreement.Agreement
    by_article: dict[int, dict[str, agreement.Agreement]] = field(default_factory=dict)
    pairs: list[PairAgreement] = field(default_factory=list)


def confidence_order(project: Project) -> list[str]:
    """The project's confidence values, lowest rank first (Label.position)."""
    return list(
        Label.objects.filter(project=project, dimension=Label.Dimension.CONFIDENCE)
        .order_by("position", "id")
        .values_list("value", flat=True)
    )


def measure(rows: LabelRows, order: list[str], usernames: dict[int, str]) -> AgreementFigures:
    """Agreement figures from label rows: per project, per article, per annotator pair."""
    confidence = rows.records("confidence")
    # A value no longer in the label set has no rank: missing for the ordinal figure.
    ranked = set(order)
    ordinal = [(u, c, v if v in ranked else None) for u, c, v in confidence]
    claim_kind = rows.records("claim_kind")
    sources = rows.records("sources")
    article_of = dict(zip(rows.claim, rows.article, strict=True))

    by_article: dict[int, dict[str, agreement.Agreement]] = defaultdict(dict)
    for name, records, options in (
        ("confidence", confidence, {}),
        ("claim_kind", claim_kind, {}),
        ("sources", sources, {"distance": "masi"}),
    ):
        for article_id, figure in agreement.agreement_by_group(
            records, article_of, **options
        ).items():
            by_article[article_id][name] = figure

    pair_figures = {
        name: agreement.pairwise(records)
        for name, records in (
            ("confidence", confidence),
            ("claim_kind", claim_kind),
            ("sources", sources),
        )
    }
    pair_keys = sorted(set().union(*(figures.keys() for figures in pair_figures.values())))
    pairs = []
    for first, second in pair_keys:
        stats = {name: figures.get((first, second)) for name, figures in pair_figures.items()}
        pairs.append(
            PairAgreement(
                first=usernames.get(first, str(first)),
                second=usernames.get(second, str(second)),
                units=max(s.units for s in stats.values() if s is not None),
                **stats,
            )
        )
    return AgreementFigures(
        confidence=agreement.agreement(confidence),
        confidence_ordinal=agreement.agreement(ordinal, level="ordinal", order=order),
        claim_kind=agreement.agreement(claim_kind),
        sources=agreement.agreement(sources, distance="masi"),
        by_article=dict(by_article),
        pairs=pairs,
    )


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while reading and measuring many rows.

    200,000 labels make several hundred thousand tuples and frozensets, none
    of them in a reference cycle; the collector would still rescan them over
    and over as they are made, which cost a third of the time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def project_agreement(project: Project, order: list[str] | None = None) -> AgreementFigures:
    with collector_paused():
        rows = LabelRows.read(project)
        usernames = dict(
            get_user_model()
            .objects.filter(pk__in=set(rows.annotator))
            .values_list("pk", "username")
        )
        return measure(rows, confidence_order(project) if order is None else order, usernames)


def cached_while_labels_unchanged(project: Project, name: str, compute: Callable[[], T]) -> T:
    """``compute()``, remembered until a label of the project changes.

    A large project takes seconds to measure; the dashboard is opened far more
    often than labels change. Every change of a label saves its annotation (new
    pk or later ``updated_at``), so those make the key; the timeout bounds
    anything that slips past them.
    """
    stamp = Annotation.objects.filter(project=project).aggregate(
        n=Count("pk"), top=Max("pk"), last=Max("updated_at")
    )
    key = ":".join(
        str(part)
        for part in (
            name,
            project.pk,
            project.created_at.timestamp(),
            stamp["n"],
            stamp["top"],
            stamp["last"] and stamp["last"].timestamp(),
        )
    )
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, AGREEMENT_CACHE_SECONDS)
    return value


def cached_project_agreement(project: Project) -> AgreementFigures:
    """``project_agreement``, remembered until a label or the label set's order changes."""
    order = confidence_order(project)
    return cached_while_labels_unchanged(
        project, "agreement:" + ",".join(order), lambda: project_agreement(project, order)
    )


@dataclass(frozen=True)
class LabelFigures:
    """What the dashboard derives from the labels alone, so it changes only when a label does."""

    agreement: AgreementFigures
    acceptance: Acceptance
    confidence_use: list[tuple[str, int]]
    source_use: list[tuple[str, int]]


def cached_label_figures(project: Project) -> LabelFigures:
    """Agreement, suggestion acceptance and label use, remembered until a label changes.

    Counting labels per confidence value and per source reads every label of
    the project (about a second at a million labels), like the agreement
    figures; one stamp of the labels serves all of them.
    """
    order = confidence_order(project)
    stats = ProjectStats(project)
    return cached_while_labels_unchanged(
        project,
        "label-figures:" + ",".join(order),
        lambda: LabelFigures(
            agreement=project_agreement(project, order),
            acceptance=project.suggestion_acceptance(),
            confidence_use=stats.confidence_use(),
            source_use=stats.source_use(),
        ),
    )


# --- Progress and label use ----------------------------------------------------------------


@dataclass
class ArticleProgress:
    article_id: int
    title: str
    claims: int
    complete: int
    labels: int
    remaining: int
    flagged: int

    @property
    def share_complete(self) -> float:
        return self.complete / self.claims if self.claims else 0.0


@dataclass
class AnnotatorProgress:
    username: str
    done: int
    remaining: int
    per_hour: float | None
    last_label: Any


class ProjectStats:
    """The dashboard's numbers for one project, each from one aggregate query."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.k = project.annotations_per_claim

    def totals(self) -> dict[str, int]:
        claims = Claim.objects.filter(project=self.project).aggregate(
            claims=Count("pk"),
            complete=Count("pk", filter=Q(annotation_count__gte=self.k)),
            labels=Sum("annotation_count", default=0),
            useful=Sum(Least("annotation_count", self.k), default=0),
            flagged=Count("pk", filter=Q(needs_review=True)),
            settled=Count("gold"),
        )
        claims["remaining"] = claims["claims"] * self.k - claims.pop("useful")
        claims["to_review"] = Claim.objects.for_review(self.project).count()
        return claims

    def articles(self, limit: int = 200) -> list[ArticleProgress]:
        rows = (
            Claim.objects.filter(project=self.project)
            .order_by()
            .values("article_id", "article__title")
            .annotate(
                claims=Count("pk"),
                complete=Count("pk", filter=Q(annotation_count__gte=self.k)),
                labels=Sum("annotation_count"),
                useful=Sum(Least("annotation_count", self.k)),
                flagged=Count("pk", filter=Q(needs_review=True)),
            )
            .order_by("article_id")[:limit]
        )
        return [
            ArticleProgress(
                article_id=row["article_id"],
                title=row["article__title"],
                claims=row["claims"],
                complete=row["complete"],
                labels=row["labels"] or 0,
                remaining=row["claims"] * self.k - (row["useful"] or 0),
                flagged=row["flagged"],
            )
            for row in rows
        ]

    def annotators(self) -> list[AnnotatorProgress]:
        """Every annotator of the project, and anyone else who labelled in it."""
        project, k = self.project, self.k
        done, last = {}, {}
        for username, n, latest in (
            Annotation.objects.filter(project=project)
            .order_by()
            .values("annotator__username")
            .annotate(n=Count("pk"), last=Max("created_at"))
            .values_list("annotator__username", "n", "last")
        ):
            done[username], last[username] = n, latest
        # Claims still open to someone: not full, minus the open ones they
        # labelled or skipped (assignments aside).
        open_claims = Claim.objects.filter(project=project, annotation_count__lt=k).count()
        done_open = dict(
            Annotation.objects.filter(project=project, claim__annotation_count__lt=k)
            .order_by()
            .values("annotator__username")
            .annotate(n=Count("pk"))
            .values_list("annotator__username", "n")
        )
        skipped_open = dict(
            Skip.objects.filter(claim__project=project, claim__annotation_count__lt=k)
            .order_by()
            .values("user__username")
            .annotate(n=Count("pk"))
            .values_list("user__username", "n")
        )
        members = set(
            project.memberships.filter(role=Role.ANNOTATOR).values_list("user__username", flat=True)
        )
        rates = self._rates()
        return [
            AnnotatorProgress(
                username=username,
                done=done.get(username, 0),
                remaining=max(
                    open_claims - done_open.get(username, 0) - skipped_open.get(username, 0), 0
                ),
                per_hour=rates.get(username),
                last_label=last.get(username),
            )
            for username in sorted(members | set(done))
        ]

    def _rates(self) -> dict[str, float]:
        hours = (
            Annotation.objects.filter(
                project=self.project, created_at__gte=timezone.now() - RATE_WINDOW
            )
            .annotate(hour=TruncHour("created_at"))
            .order_by()
            .values("annotator__username", "hour")
            .annotate(n=Count("pk"))
            .values_list("annotator__username", "hour", "n")
        )
        per_user: dict[str, list[tuple[Any, int]]] = defaultdict(list)
        for username, hour, n in hours:
            per_user[username].append((hour, n))
        rates = {}
        for username, counts in per_user.items():
            latest = sorted(counts, reverse=True)[:ACTIVE_HOURS]
            rates[username] = sum(n for _, n in latest) / len(latest)
        return rates

    def confidence_use(self) -> list[tuple[str, int]]:
        """(confidence label name, labels) in the label set's order, then unknown values."""
        counts = dict(
            Annotation.objects.filter(project=self.project)
            .order_by()
            .values("confidence")
            .annotate(n=Count("pk"))
            .values_list("confidence", "n")
        )
        names = Label.objects.filter(
            project=self.project, dimension=Label.Dimension.CONFIDENCE
        ).order_by("position", "id")
        rows = [(label.name, counts.pop(label.value, 0)) for label in names]
        rows += [(value or "(none)", n) for value, n in sorted(counts.items())]
        return rows

    def source_use(self, limit: int = 15) -> list[tuple[str, int]]:
        """The most named sources and how many labels name each."""
        return list(
            AnnotationSource.objects.filter(annotation__project=self.project)
            .order_by()
            .values("source__name")
            .annotate(n=Count("pk"))
            .order_by("-n", "source__name")
            .values_list("source__name", "n")[:limit]
        )
