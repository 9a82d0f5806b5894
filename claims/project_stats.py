"""A project's figures for its dashboard: progress, label use and agreement.

Two kinds of figures, so that the dashboard answers in a fraction of a second
at a million labels while annotators keep labelling:

- **live**, read on every view: totals and progress per article from the
  claims (each carries its label count), and each annotator's labels and last
  label as counted by the stored figures plus the labels created since (an
  index range on ``Annotation.updated_at``);
- **from every label** (``LabelFigures``): agreement, suggestion acceptance,
  labels per confidence value and per source, the review queue's size, the
  claims still open to each annotator and their labels per hour. They take
  seconds at a million labels, so they are computed off the request path and
  kept in ``ProjectFigures`` with the time they are as of, shared by every
  process. ``refresh_due_figures`` (the background worker, ``manage.py
  process_imports``) computes them again when the labels changed and they are
  older than ``REFRESH_SECONDS``; a project of at most ``SYNC_LABELS`` labels
  is computed again by the view itself as soon as its labels change.

Labels are read with aggregates or ``values_list`` (plain tuples, never one
model object per row), so the number of queries does not grow with the
project. The statistics themselves are ``claims.agreement`` and
``claims.acceptance``.
"""

from __future__ import annotations

import gc
import pickle
import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, Sum
from django.db.models.functions import Least, TruncHour
from django.utils import timezone

from claims import acceptance, agreement
from claims.models import (
    Annotation,
    AnnotationSource,
    Article,
    Claim,
    Label,
    Project,
    ProjectFigures,
    Role,
    Skip,
    Source,
)

# Labels per hour: the rate over this many of the annotator's latest hours
# with at least one label, within RATE_WINDOW. Idle hours do not dilute it.
ACTIVE_HOURS = 8
RATE_WINDOW = timedelta(days=14)

# Figures from every label are computed again when the labels changed and they
# are older than this (seconds)...
REFRESH_SECONDS = 60
# ...by the background worker, which compares a project's labels with its
# figures at most this often (seconds)...
CHECK_SECONDS = 15
# ...or at once, by the dashboard view, for a project of at most this many labels
# (about a tenth of a second to compute).
SYNC_LABELS = 10_000
# Each annotator's label count in the stored figures stops this long before the
# labels were read; the dashboard counts the labels created after it. A label
# saved just before the read but committed after it is then counted once.
COUNT_MARGIN = timedelta(seconds=60)
# Figures stored in another format are computed again (bump when LabelFigures changes).
FIGURES_VERSION = 1
# The dashboard lists the progress of this many articles, the first ones; the
# stored figures keep the agreement of these articles only.
ARTICLE_ROWS = 200


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
        return _agreement(rows, confidence_order(project) if order is None else order)


def _agreement(rows: LabelRows, order: list[str]) -> AgreementFigures:
    usernames = dict(
        get_user_model().objects.filter(pk__in=set(rows.annotator)).values_list("pk", "username")
    )
    return measure(rows, order, usernames)


# --- Figures from every label ----------------------------------------------------------------


@dataclass(frozen=True)
class AnnotatorTotals:
    """One annotator's figures from every label, as of the figures' time."""

    username: str
    labels: int
    """Labels created up to ``LabelFigures.counted_until``."""
    last_label: datetime | None
    """Their latest label created up to ``LabelFigures.counted_until``."""
    open_to_them: int
    per_hour: float | None


@dataclass(frozen=True)
class LabelFigures:
    """What the dashboard derives from every label of the project, computed together."""

    labels: int
    agreement: AgreementFigures
    acceptance: acceptance.Acceptance
    confidence_use: list[tuple[str, int]]
    source_use: list[tuple[str, int]]
    to_review: int
    open_claims: int
    """Claims without their K labels."""
    annotators: dict[int, AnnotatorTotals]
    """By user id: every annotator of the project, and anyone else who labelled in it."""
    counted_until: datetime


def compute_label_figures(project: Project) -> LabelFigures:
    """Every figure of the dashboard that reads all the project's labels.

    The labels are read once (``LabelRows``) for agreement, acceptance and label
    use: at a million labels that is seconds of work, meant for the background
    worker (``refresh_due_figures``), not for a request. Agreement per article
    is kept for the ``ARTICLE_ROWS`` articles the dashboard lists: the figures
    of 10,000 articles would take longer to load than the rest of the page.
    """
    counted_until = timezone.now() - COUNT_MARGIN
    order = confidence_order(project)
    listed = set(
        Article.objects.filter(project=project)
        .order_by("pk")
        .values_list("pk", flat=True)[:ARTICLE_ROWS]
    )
    with collector_paused():
        rows = LabelRows.read(project)
        source_names = dict(Source.objects.filter(project=project).values_list("pk", "name"))
        figures = _agreement(rows, order)
        figures = replace(
            figures,
            by_article={
                pk: by_label for pk, by_label in figures.by_article.items() if pk in listed
            },
        )
        accepted = suggestion_acceptance(project, rows, source_names)
        confidence_use = _confidence_use(project, rows)
        source_use = _source_use(rows, source_names)
    stats = ProjectStats(project)
    open_claims, annotators = stats.annotator_totals(counted_until)
    return LabelFigures(
        labels=len(rows.claim),
        agreement=figures,
        acceptance=accepted,
        confidence_use=confidence_use,
        source_use=source_use,
        to_review=Claim.objects.for_review(project).count(),
        open_claims=open_claims,
        annotators=annotators,
        counted_until=counted_until,
    )


def suggestion_acceptance(
    project: Project, rows: LabelRows, source_names: dict[int, str]
) -> acceptance.Acceptance:
    """``Project.suggestion_acceptance`` from labels already read.

    Each claim's suggestion is decoded once and each distinct set of sources
    named once, not once per label: a tenth of the time at a million labels.
    """
    suggested: dict[int, tuple[str, frozenset[str]]] = {}
    for claim_id, suggestion in (
        Claim.objects.filter(project=project).values_list("pk", "suggestion").iterator()
    ):
        suggestion = suggestion or {}
        suggested[claim_id] = (
            suggestion.get("confidence") or "",
            acceptance.name_set(
                source.get("canonical") or source["name"]
                for source in suggestion.get("sources", [])
            ),
        )
    names: dict[frozenset[int], frozenset[str]] = {}
    for source_ids in set(rows.sources):
        names[source_ids] = acceptance.name_set(source_names[pk] for pk in source_ids)
    empty: tuple[str, frozenset[str]] = ("", frozenset())
    return acceptance.measure_name_sets(
        (confidence or "", names[source_ids], *suggested.get(claim_id, empty))
        for claim_id, confidence, source_ids in zip(
            rows.claim, rows.confidence, rows.sources, strict=True
        )
    )


def _confidence_use(project: Project, rows: LabelRows) -> list[tuple[str, int]]:
    """(confidence label name, labels) in the label set's order, then unknown values."""
    counts = Counter(rows.confidence)
    names = Label.objects.filter(project=project, dimension=Label.Dimension.CONFIDENCE).order_by(
        "position", "id"
    )
    use = [(label.name, counts.pop(label.value, 0)) for label in names]
    use += [(value or "(none)", n) for value, n in sorted(counts.items())]
    return use


def _source_use(
    rows: LabelRows, source_names: dict[int, str], limit: int = 15
) -> list[tuple[str, int]]:
    """The most named sources and how many labels name each."""
    labels_per_source: Counter[str] = Counter()
    for source_ids, n in Counter(rows.sources).items():
        for pk in source_ids:
            labels_per_source[source_names[pk]] += n
    return sorted(labels_per_source.items(), key=lambda item: (-item[1], item[0]))[:limit]


@dataclass(frozen=True)
class LabelStamp:
    """What tells whether figures computed from the labels are still those of the labels.

    Every label saved or edited gets a later ``updated_at`` (an index gives the
    latest at once); a merge deletes a claim; a split or a boundary change flags
    claims; a gold label settles one (the review queue's size). Moving labels
    to another claim goes with one of these.
    """

    claims: int
    flagged: int
    settled: int
    last_change: datetime | None

    @classmethod
    def read(cls, project: Project, totals: dict[str, int] | None = None) -> LabelStamp:
        """Two queries, or one when the dashboard's ``totals`` were read already."""
        if totals is None:
            totals = Claim.objects.filter(project=project).aggregate(
                claims=Count("pk"),
                flagged=Count("pk", filter=Q(needs_review=True)),
                settled=Count("gold"),
            )
        last_change = Annotation.objects.filter(project=project).aggregate(last=Max("updated_at"))
        return cls(totals["claims"], totals["flagged"], totals["settled"], last_change["last"])

    @classmethod
    def of(cls, stored: ProjectFigures) -> LabelStamp:
        return cls(stored.claims, stored.flagged, stored.settled, stored.last_change)


@dataclass(frozen=True)
class StoredFigures:
    """The label figures last computed for a project, and how they stand against its labels."""

    figures: LabelFigures | None
    """None until they are computed for the first time."""
    computed_at: datetime | None = None
    """The time the labels were read: the figures are as of then."""
    seconds: float | None = None
    labels_changed: bool = False
    """Whether the labels changed since the figures were computed."""

    @property
    def age_seconds(self) -> int | None:
        if self.computed_at is None:
            return None
        return max(int((timezone.now() - self.computed_at).total_seconds()), 0)


def refresh_figures(project: Project, stamp: LabelStamp | None = None) -> StoredFigures:
    """Compute the project's label figures and store them for every process.

    ``stamp`` is the labels' stamp if just read; it must be read before the labels,
    so that a change while they are read shows as a change after.
    """
    computed_at = timezone.now()
    started = time.perf_counter()
    if stamp is None:
        stamp = LabelStamp.read(project)
    figures = compute_label_figures(project)
    seconds = time.perf_counter() - started
    values = {
        "computed_at": computed_at,
        "checked_at": computed_at,
        "seconds": seconds,
        "labels": figures.labels,
        "claims": stamp.claims,
        "flagged": stamp.flagged,
        "settled": stamp.settled,
        "last_change": stamp.last_change,
        "version": FIGURES_VERSION,
        "data": pickle.dumps(figures, protocol=pickle.HIGHEST_PROTOCOL),
    }
    # Several processes may compute at once (web workers, the background worker):
    # the figures of the latest read stay.
    stored = ProjectFigures.objects.filter(project=project, computed_at__lte=computed_at)
    if not stored.update(**values):
        try:
            with transaction.atomic():
                ProjectFigures.objects.create(project=project, **values)
        except IntegrityError:
            pass  # newer figures were stored meanwhile
    return StoredFigures(figures, computed_at, seconds)


def _loaded(stored: ProjectFigures | None) -> LabelFigures | None:
    if stored is None or stored.version != FIGURES_VERSION:
        return None
    try:
        # Only ever written by refresh_figures, like Django's own database cache.
        return pickle.loads(stored.data)
    except Exception:  # a class renamed or moved since: compute them again
        return None


def figures_for_dashboard(project: Project, totals: dict[str, int]) -> StoredFigures:
    """The stored label figures, computed now if they must be and that is quick.

    A project of at most ``SYNC_LABELS`` labels gets its figures computed again
    as soon as its labels change; a larger one keeps the stored figures (the
    page shows their time) until the background worker computes new ones.
    """
    stamp = LabelStamp.read(project, totals)
    stored = ProjectFigures.objects.filter(project=project).first()
    figures = _loaded(stored)
    changed = stored is None or LabelStamp.of(stored) != stamp
    if (figures is None or changed) and totals["labels"] <= SYNC_LABELS:
        return refresh_figures(project, stamp)
    if stored is None or figures is None:
        if stored is not None and stored.version == FIGURES_VERSION:
            # Unreadable in this version of the code: let the worker compute them again.
            ProjectFigures.objects.filter(pk=stored.pk).update(version=0)
        return StoredFigures(None)
    return StoredFigures(figures, stored.computed_at, stored.seconds, changed)


def refresh_due_figures(now: datetime | None = None) -> Project | None:
    """Compute the label figures of one project that needs them; None when none does.

    A project needs them when it has none yet, or when they are older than
    ``REFRESH_SECONDS`` and its labels changed since (compared at most every
    ``CHECK_SECONDS``). Oldest figures first; one project per call, so the
    background worker looks at its import queue in between.
    """
    now = timezone.now() if now is None else now
    missing = Project.objects.filter(figures__isnull=True).order_by("pk").first()
    if missing is not None:
        refresh_figures(missing)
        return missing
    due = (
        ProjectFigures.objects.filter(
            ~Q(version=FIGURES_VERSION)
            | Q(
                computed_at__lte=now - timedelta(seconds=REFRESH_SECONDS),
                checked_at__lte=now - timedelta(seconds=CHECK_SECONDS),
            )
        )
        .select_related("project")
        .defer("data")
        .order_by("computed_at")
    )
    for stored in due:
        if stored.version == FIGURES_VERSION and LabelStamp.of(stored) == LabelStamp.read(
            stored.project
        ):
            ProjectFigures.objects.filter(pk=stored.pk).update(checked_at=now)
            continue
        refresh_figures(stored.project)
        return stored.project
    return None


# --- Progress --------------------------------------------------------------------------------


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
    remaining: int | None
    """Claims still open to them, as of the label figures; None before those exist."""
    per_hour: float | None
    last_label: Any


class ProjectStats:
    """The dashboard's live numbers for one project, each from one query over claims or
    an index range, and the per-annotator totals of the label figures."""

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
        return claims

    def articles(self, limit: int = ARTICLE_ROWS) -> list[ArticleProgress]:
        """The first ``limit`` articles: only their claims are read."""
        first = Article.objects.filter(project=self.project).order_by("pk").values("pk")[:limit]
        rows = (
            Claim.objects.filter(project=self.project, article_id__in=first)
            .order_by()
            .values("article_id", "article__title")
            .annotate(
                claims=Count("pk"),
                complete=Count("pk", filter=Q(annotation_count__gte=self.k)),
                labels=Sum("annotation_count"),
                useful=Sum(Least("annotation_count", self.k)),
                flagged=Count("pk", filter=Q(needs_review=True)),
            )
            .order_by("article_id")
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

    def annotators(self, figures: LabelFigures | None) -> list[AnnotatorProgress]:
        """Every annotator of the project, and anyone else who labelled in it.

        Labels and last label are live: the label figures' counts plus the
        labels created since they stop, read through the index on
        ``updated_at`` (a label created later was also updated later). Claims
        still open and labels per hour are the label figures'. Without label
        figures every label is counted, once.
        """
        members = dict(
            self.project.memberships.filter(role=Role.ANNOTATOR).values_list(
                "user_id", "user__username"
            )
        )
        recent = Annotation.objects.filter(project=self.project)
        if figures is not None:
            since = figures.counted_until
            recent = recent.filter(updated_at__gt=since, created_at__gt=since)
        counted = {
            user_id: (username, n, latest)
            for user_id, username, n, latest in recent.order_by()
            .values("annotator_id")
            .annotate(n=Count("pk"), last=Max("created_at"))
            .values_list("annotator_id", "annotator__username", "n", "last")
        }
        totals = figures.annotators if figures is not None else {}
        people = []
        for user_id in set(members) | set(totals) | set(counted):
            before = totals.get(user_id)
            username, since_then, latest = counted.get(user_id, ("", 0, None))
            done = since_then + (before.labels if before else 0)
            if user_id not in members and not done:
                continue  # no longer a member, and never labelled
            remaining = figures.open_claims if figures is not None else None
            per_hour = None
            if before is not None:
                username, remaining, per_hour = (
                    before.username,
                    before.open_to_them,
                    before.per_hour,
                )
                latest = max(filter(None, (latest, before.last_label)), default=None)
            people.append(
                AnnotatorProgress(
                    username=members.get(user_id, username),
                    done=done,
                    remaining=remaining,
                    per_hour=per_hour,
                    last_label=latest,
                )
            )
        return sorted(people, key=lambda person: person.username)

    def annotator_totals(self, counted_until: datetime) -> tuple[int, dict[int, AnnotatorTotals]]:
        """Claims not yet full, and per user id the figures of ``AnnotatorTotals``.

        Reads every label (counts, and the open claims each has labelled): for
        ``compute_label_figures``, not for a request.
        """
        project, k = self.project, self.k
        labelled = {
            user_id: (username, n, latest)
            for user_id, username, n, latest in Annotation.objects.filter(
                project=project, created_at__lte=counted_until
            )
            .order_by()
            .values("annotator_id")
            .annotate(n=Count("pk"), last=Max("created_at"))
            .values_list("annotator_id", "annotator__username", "n", "last")
        }
        # Claims still open to someone: not full, minus the open ones they
        # labelled or skipped (assignments aside).
        open_claims = Claim.objects.filter(project=project, annotation_count__lt=k).count()
        done_open = dict(
            Annotation.objects.filter(project=project, claim__annotation_count__lt=k)
            .order_by()
            .values("annotator_id")
            .annotate(n=Count("pk"))
            .values_list("annotator_id", "n")
        )
        skipped_open = dict(
            Skip.objects.filter(claim__project=project, claim__annotation_count__lt=k)
            .order_by()
            .values("user_id")
            .annotate(n=Count("pk"))
            .values_list("user_id", "n")
        )
        members = dict(
            project.memberships.filter(role=Role.ANNOTATOR).values_list("user_id", "user__username")
        )
        rates = self._rates()
        totals = {}
        for user_id in set(members) | set(labelled):
            username, n, latest = labelled.get(user_id, (members.get(user_id, ""), 0, None))
            totals[user_id] = AnnotatorTotals(
                username=username,
                labels=n,
                last_label=latest,
                open_to_them=max(
                    open_claims - done_open.get(user_id, 0) - skipped_open.get(user_id, 0), 0
                ),
                per_hour=rates.get(user_id),
            )
        return open_claims, totals

    def _rates(self) -> dict[int, float]:
        """Labels per hour by user id, over each annotator's latest ACTIVE_HOURS active hours."""
        hours = (
            Annotation.objects.filter(
                project=self.project, created_at__gte=timezone.now() - RATE_WINDOW
            )
            .annotate(hour=TruncHour("created_at"))
            .order_by()
            .values("annotator_id", "hour")
            .annotate(n=Count("pk"))
            .values_list("annotator_id", "hour", "n")
        )
        per_user: dict[int, list[tuple[Any, int]]] = defaultdict(list)
        for user_id, hour, n in hours:
            per_user[user_id].append((hour, n))
        rates = {}
        for user_id, counts in per_user.items():
            latest = sorted(counts, reverse=True)[:ACTIVE_HOURS]
            rates[user_id] = sum(n for _, n in latest) / len(latest)
        return rates
