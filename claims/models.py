"""The workbench's data: projects, articles cut into claims, and the labels people give them.

Invariants kept here, whoever calls:
- an article body is stored exactly as imported, and every claim is a slice of it
  (``article.body[claim.start:claim.end] == claim.text``);
- an acknowledged label is never lost: annotations are protected from deletion,
  and every change of one is kept as an ``AnnotationRevision``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import re
import uuid
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from claims import acceptance, attribution, lexicon
from claims.importing import ArticleRecord
from claims.span_suggestion import suggest_for_span

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)


def normalise_alias(wording: str) -> str:
    """The form aliases are compared in: case and runs of white space do not matter."""
    return " ".join(wording.split()).casefold()


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _learnable_wording(normalized: str, normalized_text: str) -> bool:
    """Whether a source's wording may become an alias: whole words of the claim, not a pronoun.

    "he" names whoever spoke last, not one source; "nis" inside "diminishing"
    names no one.
    """
    if not normalized or normalized in lexicon.PERSONAL_PRONOUNS:
        return False
    return re.search(rf"(?<!\w){re.escape(normalized)}(?!\w)", normalized_text) is not None


@contextmanager
def _analysis_pool(workers: int) -> Iterator[ProcessPoolExecutor | None]:
    """Processes for the text engine, or None to analyse in this one.

    forkserver, not fork: a forked child would share this process's database
    connection and could close it under us.
    """
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    ) as pool:
        yield pool


def _chunks(rows: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items (the last may be shorter), read lazily."""
    chunk: list[Any] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


CLAIM_TOTAL_SECONDS = 60

# --- Projects and who may do what in them ------------------------------------------


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_user(self, user: AbstractBaseUser) -> ProjectQuerySet:
        if user.is_superuser:
            return self.all()
        return self.filter(memberships__user=user)

    def with_role_of(self, user: AbstractBaseUser) -> ProjectQuerySet:
        """Projects carrying ``user``'s role, so ``role_of`` needs no query of its own."""
        if not user.is_authenticated or user.is_superuser:
            return self.all()
        role = Membership.objects.filter(project=OuterRef("pk"), user=user).order_by()
        return self.annotate(member_role=Subquery(role.values("role")[:1]))


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    guidelines = models.TextField(blank=True)
    annotations_per_claim = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="How many annotators label each claim (K).",
    )
    split_compound = models.BooleanField(
        default=True,
        help_text="Split a sentence that gives two claims to two sources into two claims.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="projects"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(annotations_per_claim__gte=1), name="project_k_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("project", args=[self.slug])

    def role_of(self, user: AbstractBaseUser) -> str | None:
        """The user's role here; superusers act as managers of every project."""
        if not user.is_authenticated:
            return None
        if user.is_superuser:
            return Role.MANAGER
        if "member_role" in self.__dict__:
            # Read with the project by ProjectQuerySet.with_role_of, saving a query a page.
            return self.member_role
        return self.memberships.filter(user=user).values_list("role", flat=True).first()

    def copy_default_labels(self) -> None:
        Label.objects.bulk_create(
            Label(
                project=self,
                dimension=label.dimension,
                value=label.value,
                name=label.name,
                description=label.description,
                position=label.position,
            )
            for label in Label.objects.filter(project=None)
        )

    def label_choices(self) -> dict[str, list[Label]]:
        """The project's label set, by dimension, in the project's order.

        Read once per project instance (so once per request): a label save
        builds the form twice, to check the post and for the next claim.
        """
        if "_label_choices" not in self.__dict__:
            choices: dict[str, list[Label]] = {d: [] for d in Label.Dimension.values}
            for label in self.labels.all():
                choices[label.dimension].append(label)
            self._label_choices = choices
        return self._label_choices

    def cached_claim_total(self) -> int | None:
        """How many claims the project has, if counted in the last minute.

        The labelling page shows it with every claim, and counting grows with
        the project (6 ms at 100,000 claims on SQLite). An import forgets it at
        once; a split or merge shows within the minute.
        """
        return cache.get(self._claim_total_key())

    def remember_claim_total(self, total: int) -> None:
        cache.set(self._claim_total_key(), total, CLAIM_TOTAL_SECONDS)

    def forget_claim_total(self) -> None:
        cache.delete(self._claim_total_key())

    def _claim_total_key(self) -> str:
        # With the creation time: a project created under a reused id starts afresh.
        return f"claim-total:{self.pk}:{self.created_at.timestamp()}"

    def alias_map(self) -> dict[str, str]:
        """Normalised alias wording -> canonical source name, for the suggester."""
        return dict(
            SourceAlias.objects.filter(source__project=self).values_list(
                "normalized", "source__name"
            )
        )

    def suggestion_acceptance(self) -> acceptance.Acceptance:
        """How many of the project's labels kept the suggested confidence and sources."""
        names: dict[int, list[str]] = {}
        for annotation_id, name in (
            AnnotationSource.objects.filter(annotation__project=self)
            .order_by("annotation_id", "position")
            .values_list("annotation_id", "source__name")
            .iterator()
        ):
            names.setdefault(annotation_id, []).append(name)
        rows = (
            Annotation.objects.filter(project=self)
            .values_list("pk", "confidence", "claim__suggestion")
            .iterator()
        )
        return acceptance.measure(
            acceptance.LabelAgainstSuggestion(
                confidence=confidence,
                sources=names.get(pk, []),
                suggested_confidence=(suggestion or {}).get("confidence") or "",
                suggested_sources=[
                    source.get("canonical") or source["name"]
                    for source in (suggestion or {}).get("sources", [])
                ],
            )
            for pk, confidence, suggestion in rows
        )


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ANNOTATOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="one_membership_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class Label(models.Model):
    """One value of a project's label set; rows without a project are the default set."""

    class Dimension(models.TextChoices):
        CONFIDENCE = "confidence", "Confidence"
        CLAIM_KIND = "claim_kind", "Claim kind"
        CERTAINTY = "certainty", "Annotator certainty"

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="labels", null=True, blank=True
    )
    dimension = models.CharField(max_length=20, choices=Dimension.choices)
    value = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    description = models.CharField(max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["dimension", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "dimension", "value"], name="unique_label_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()}: {self.name}"


# --- Articles and claims --------------------------------------------------------------


@dataclass
class ImportSummary:
    articles: int = 0
    claims: int = 0
    skipped_duplicates: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.articles} articles, {self.claims} claims, "
            f"{len(self.skipped_duplicates)} skipped duplicates"
        )


class ArticleQuerySet(models.QuerySet["Article"]):
    def import_records(
        self,
        project: Project,
        records: Iterable[Any],
        *,
        imported_by: AbstractBaseUser | None = None,
        batch_size: int = 200,
        progress: Callable[[int], None] | None = None,
        workers: int = 1,
    ) -> ImportSummary:
        """Store articles and their claims, all or nothing.

        ``records`` are ``claims.importing.ArticleRecord``s. A body already in the
        project (same content hash), or twice in this batch, is skipped and named
        in the summary. Articles and their claims are written ``batch_size``
        articles at a time, a few statements per batch instead of one per row;
        ``progress`` hears how many records were read after each batch. With
        ``workers`` > 1, splitting and suggestions (half the work) run in that
        many other processes, a batch ahead of the writes.
        """
        summary = ImportSummary()
        aliases = project.alias_map()
        analyse = functools.partial(
            attribution.analyse, split_compound=project.split_compound, aliases=aliases
        )

        def write(articles: list[Article], suggestions: Iterable[Any] | None, read: int) -> None:
            self.bulk_create(articles)
            found = suggestions if suggestions is not None else [None] * len(articles)
            claims = [
                claim
                for article, suggested in zip(articles, found, strict=True)
                for claim in article.build_claims(aliases, suggested)
            ]
            Claim.objects.bulk_create(claims)
            summary.articles += len(articles)
            summary.claims += len(claims)
            if progress is not None:
                progress(read)

        read = 0
        pending: tuple[list[Article], Iterable[Any] | None, int] | None = None
        with transaction.atomic(), _analysis_pool(workers) as pool:
            seen = set(self.filter(project=project).values_list("content_hash", flat=True))
            for batch in _chunks(iter(records), batch_size):
                articles = []
                for record in batch:
                    digest = content_hash(record.body)
                    if digest in seen:
                        summary.skipped_duplicates.append(record.title)
                        continue
                    seen.add(digest)
                    articles.append(
                        Article(
                            project=project,
                            title=record.title,
                            body=record.body,
                            outlet=record.outlet,
                            url=record.url,
                            published=record.published,
                            content_hash=digest,
                            imported_by=imported_by,
                        )
                    )
                read += len(batch)
                suggestions = None
                if pool is not None:
                    # Sent off now, read while the previous batch is written.
                    suggestions = pool.map(analyse, [a.body for a in articles], chunksize=4)
                if pending is not None:
                    write(*pending)
                pending = (articles, suggestions, read)
            if pending is not None:
                write(*pending)
            if summary.claims:
                # Now, and again once committed: a page counting meanwhile
                # would remember the total from before the import.
                project.forget_claim_total()
                transaction.on_commit(project.forget_claim_total)
        return summary


class Article(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="articles")
    title = models.CharField(max_length=500)
    body = models.TextField(help_text="Exactly as imported; claims are offsets into it.")
    outlet = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    published = models.DateField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, editable=False)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "content_hash"], name="article_once_per_project"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.content_hash = content_hash(self.body)
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("article", args=[self.project.slug, self.pk])

    def build_claims(
        self,
        aliases: dict[str, str] | None = None,
        suggestions: list[attribution.ClaimSuggestion] | None = None,
    ) -> list[Claim]:
        """Unsaved claims for this article's body, with their suggestions.

        ``suggestions`` are ``attribution.analyse``'s result when it already ran
        (an import analyses bodies in other processes).
        """
        if suggestions is None:
            suggestions = attribution.analyse(
                self.body, split_compound=self.project.split_compound, aliases=aliases or {}
            )
        return [
            Claim(
                project_id=self.project_id,
                article=self,
                index=index,
                start=suggestion.start,
                end=suggestion.end,
                text=suggestion.text,
                suggestion=suggestion_to_json(suggestion),
            )
            for index, suggestion in enumerate(suggestions)
        ]


def suggestion_to_json(suggestion: attribution.ClaimSuggestion) -> dict[str, Any]:
    """What is stored with a claim: the split_claims record plus matched source names and kinds."""
    stored = suggestion.to_json()
    stored["sources"] = [
        {
            "name": mention.name,
            "start": mention.start,
            "end": mention.end,
            "canonical": mention.canonical,
            "kind": mention.kind,
            # The full phrase ("the state-run news agency KCNA"), learned as an
            # alias when the annotator accepts the source.
            "wording": mention.wording or mention.name,
        }
        for mention in suggestion.sources
    ]
    del stored["text"]
    return stored


class ImportJobQuerySet(models.QuerySet["ImportJob"]):
    def enqueue(
        self,
        project: Project,
        filename: str,
        records: Sequence[Any],
        *,
        created_by: AbstractBaseUser | None,
    ) -> ImportJob:
        """Keep already-checked ``ArticleRecord``s for the worker (``process_imports``)."""
        payload = "".join(
            # ASCII JSON: no character in a body can pass for a line break.
            json.dumps(
                {
                    "title": record.title,
                    "body": record.body,
                    "url": record.url,
                    "outlet": record.outlet,
                    "published": record.published.isoformat() if record.published else None,
                }
            )
            + "\n"
            for record in records
        )
        return self.create(
            project=project,
            filename=filename,
            payload=payload,
            articles_total=len(records),
            created_by=created_by,
        )

    def run_next(self, *, workers: int = 1) -> ImportJob | None:
        """Import the oldest queued file; None when nothing is queued."""
        for job in self.filter(status=ImportJob.Status.QUEUED).order_by("created_at", "pk")[:10]:
            # The conditional UPDATE decides which worker runs a job when several look at once.
            taken = self.filter(pk=job.pk, status=ImportJob.Status.QUEUED).update(
                status=ImportJob.Status.RUNNING, started_at=timezone.now()
            )
            if taken:
                job.refresh_from_db()
                job.run(workers=workers)
                return job
        return None

    def requeue_stale(self, *, older_than: timedelta) -> int:
        """Put back jobs whose worker stopped mid-way (their import was rolled back)."""
        return self.filter(
            status=ImportJob.Status.RUNNING, started_at__lt=timezone.now() - older_than
        ).update(status=ImportJob.Status.QUEUED, started_at=None)


class ImportJob(models.Model):
    """An uploaded file with more text than one web request should import.

    The upload is checked at once (every problem is shown on the form), then
    ``manage.py process_imports`` imports it, still all or nothing, and the
    project page shows how it went.
    """

    # Bigger uploads are queued: at the import's measured ~0.5-1 MB of text per
    # second on a small server, 2 MB keeps a request to a few seconds.
    INLINE_CHARS = 2_000_000

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="import_jobs")
    filename = models.CharField(max_length=255)
    payload = models.TextField(help_text="The checked articles as JSON lines; emptied once run.")
    articles_total = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    result = models.TextField(blank=True, help_text="The summary, or why nothing was imported.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="import_job_queue")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @classmethod
    def too_big_for_a_request(cls, records: Sequence[Any]) -> bool:
        return sum(len(record.body) for record in records) > cls.INLINE_CHARS

    def run(self, *, workers: int = 1) -> None:
        records = []
        for line in self.payload.splitlines():
            fields = json.loads(line)
            published = fields.pop("published")
            records.append(
                ArticleRecord(
                    **fields, published=date.fromisoformat(published) if published else None
                )
            )
        try:
            summary = Article.objects.import_records(
                self.project, records, imported_by=self.created_by, workers=workers
            )
        except Exception as error:  # recorded for the manager; the transaction kept nothing
            logger.exception("Import job %s failed", self.pk)
            self.status = self.Status.FAILED
            self.result = f"Nothing was imported: {error}"
        else:
            self.status = self.Status.DONE
            self.result = str(summary)
            if summary.skipped_duplicates:
                self.result += "; already in the project, skipped: " + "; ".join(
                    summary.skipped_duplicates[:20]
                )
        self.payload = ""
        self.finished_at = timezone.now()
        self.save()


class ClaimFull(Exception):
    """The claim already has the labels the project wants from annotators."""


class StaleLabel(Exception):
    """The annotation changed since the form was rendered."""

    def __init__(self, annotation: Annotation) -> None:
        super().__init__("This label was changed since you opened it.")
        self.annotation = annotation


class ClaimEditError(ValueError):
    """A split, merge or boundary change that cannot be made; the message says what to do."""


class ClaimQuerySet(models.QuerySet["Claim"]):
    def suggested_labels(self, claim_ids: Iterable[int]) -> dict[int, tuple[list[str], str]]:
        """Claim id -> (suggested source names, suggested confidence), as exported."""
        labels: dict[int, tuple[list[str], str]] = {}
        for pk, suggestion in self.filter(pk__in=list(claim_ids)).values_list("pk", "suggestion"):
            suggestion = suggestion or {}
            labels[pk] = (
                [s.get("canonical") or s["name"] for s in suggestion.get("sources", [])],
                suggestion.get("confidence") or "",
            )
        return labels

    def for_review(self, project: Project, *, every_labelled: bool = False) -> ClaimQuerySet:
        """The reviewer's queue, in article and claim order.

        By default the claims without a gold label that were split or merged
        after labelling (``needs_review``), or that have their K labels and the
        labels differ in confidence, claim kind or sources. ``every_labelled``
        gives every claim with a label or a gold label instead, settled or not.
        """
        claims = self.filter(project=project).order_by("article_id", "index", "pk")
        if every_labelled:
            return claims.filter(Q(annotation_count__gt=0) | Q(gold__isnull=False))
        # Sources differ unless every label holds every source named on the
        # claim: links == sources x labels (a label names a source at most once).
        disagreeing = (
            Annotation.objects.filter(
                project=project, claim__annotation_count__gte=project.annotations_per_claim
            )
            .order_by()
            .values("claim")
            .annotate(
                confidences=Count("confidence", distinct=True),
                kinds=Count("claim_kind", distinct=True),
                labels=Count("pk", distinct=True),
                links=Count("source_links", distinct=True),
                sources=Count("source_links__source", distinct=True),
            )
            .filter(
                Q(confidences__gt=1) | Q(kinds__gt=1) | Q(links__lt=F("sources") * F("labels"))
            )
            .values("claim")
        )
        return claims.filter(gold__isnull=True).filter(
            Q(needs_review=True) | Q(pk__in=disagreeing)
        )

    def gold_rows(self, *, chunk_size: int = 1000) -> Iterator[dict[str, Any]]:
        """One dict per claim with its gold label and its annotators' agreement, in chunks.

        The gold label is the reviewer's when there is one ("reviewed"); else,
        when the claim has its K labels and they agree on confidence, kind and
        sources, the label they agree on ("unanimous"); else none ("undecided").
        Agreement per dimension is the share of labels giving the most common
        value. Rows are read as plain tuples, four queries per chunk of claims.
        """
        columns = (
            "pk", "article_id", "article__title", "index", "start", "end", "text",
            "needs_review", "project__slug", "project__annotations_per_claim",
        )  # fmt: skip
        chunk: list[tuple[Any, ...]] = []
        for claim in self.order_by("article_id", "index", "pk").values_list(*columns).iterator(
            chunk_size=chunk_size
        ):
            chunk.append(claim)
            if len(chunk) >= chunk_size:
                yield from _gold_chunk(chunk)
                chunk = []
        if chunk:
            yield from _gold_chunk(chunk)

    def next_for(self, user: AbstractBaseUser, project: Project) -> Claim | None:
        """Hand the annotator the next claim that still needs labels, and reserve it.

        Rules: a claim the user holds an unexpired reservation on comes first;
        then claims the user has neither labelled nor skipped and whose
        labels plus others' live reservations stay under the project's K,
        in the article the user last worked in, then article and claim order.
        The reservation keeps two annotators asking at once from both taking
        the last slot; it expires by itself.
        """
        now = timezone.now()
        with transaction.atomic():
            # Serialise hand-outs per project: the slot count below must not
            # change between reading it and reserving (SQLite's IMMEDIATE
            # transactions already serialise; this is for PostgreSQL).
            # NO KEY UPDATE, not UPDATE: a label being saved meanwhile inserts
            # rows referencing the project (a KEY SHARE lock) while holding its
            # claim, and our reservation insert waits on that claim; a full
            # UPDATE lock here would make the two wait on each other (deadlock).
            if connections[self.db].features.has_select_for_update:
                Project.objects.select_for_update(no_key=True).filter(pk=project.pk).first()
            held = (
                self.filter(
                    project=project,
                    reservations__user=user,
                    reservations__expires_at__gt=now,
                    # K may have been lowered since the claim was handed out.
                    annotation_count__lt=project.annotations_per_claim,
                )
                .exclude(annotations__annotator=user)
                .select_related("article")
                .order_by("article_id", "index")
                .first()
            )
            if held is not None:
                held.project = project
                return held
            candidate = self._first_open(user, project, now)
            if candidate is None:
                return None
            candidate.project = project
            Reservation.objects.bulk_create(
                [Reservation(claim=candidate, user=user, expires_at=now + _reservation_span())],
                update_conflicts=True,
                unique_fields=["claim", "user"],
                update_fields=["expires_at"],
            )
            return candidate

    def _open_for(self, user: AbstractBaseUser, project: Project, now: Any) -> ClaimQuerySet:
        live_reservations = (
            Reservation.objects.filter(claim=OuterRef("pk"), expires_at__gt=now)
            .exclude(user=user)
            .values("claim")
            .annotate(n=Count("pk"))
            .values("n")
        )
        open_claims = (
            self.filter(project=project, annotation_count__lt=project.annotations_per_claim)
            .exclude(annotations__annotator=user)
            .exclude(skips__user=user)
            .annotate(reserved=Coalesce(Subquery(live_reservations), 0))
            .filter(annotation_count__lt=project.annotations_per_claim - F("reserved"))
        )
        # Where a manager assigned articles to this user, only those.
        has_assignments = Exists(Assignment.objects.filter(article__project=project, user=user))
        assigned_here = Exists(Assignment.objects.filter(article=OuterRef("article"), user=user))
        return open_claims.filter(~has_assignments | assigned_here)

    def _first_open(self, user: AbstractBaseUser, project: Project, now: Any) -> Claim | None:
        """The first open claim: in the current article, else in article and claim order.

        Two look-ups that each stop at the first open claim: one sort on "is it
        the current article" made the database visit every open claim of the
        project first (310 ms at 100,000 claims, see docs/readme-bench.md).
        """
        open_claims = self._open_for(user, project, now).select_related("article")
        # Keep the annotator in the article they last labelled in, until it is
        # done. By creation, not by change: editing an old label (via Back or
        # My labels) must not pull the annotator back into that article.
        current_article = Subquery(
            Annotation.objects.filter(project=project, annotator=user)
            .order_by("-created_at", "-pk")
            .values("claim__article_id")[:1]
        )
        in_current = open_claims.filter(article_id=current_article).order_by("index").first()
        return in_current or open_claims.order_by("article_id", "index").first()


def _reservation_span() -> timedelta:
    return timedelta(minutes=settings.CLAIM_RESERVATION_MINUTES)


def _gold_chunk(claims: list[tuple[Any, ...]]) -> Iterator[dict[str, Any]]:
    """The gold export's rows for a chunk of claims read by ``ClaimQuerySet.gold_rows``."""
    claim_ids = [claim[0] for claim in claims]
    labels: dict[int, list[tuple[Any, ...]]] = {}
    annotations = (
        Annotation.objects.filter(claim_id__in=claim_ids)
        .order_by("claim_id", "annotator__username")
        .values_list(
            "pk", "claim_id", "annotator__username", "confidence", "claim_kind",
            "attribution_cue", "updated_at",
        )
    )  # fmt: skip
    for annotation in annotations:
        labels.setdefault(annotation[1], []).append(annotation)
    sources = AnnotationSource.objects.by_annotation(
        [annotation[0] for rows in labels.values() for annotation in rows]
    )
    golds = {
        gold[0]: gold
        for gold in GoldLabel.objects.filter(claim_id__in=claim_ids).values_list(
            "claim_id", "pk", "confidence", "claim_kind", "attribution_cue", "note",
            "reviewer__username", "updated_at",
        )
    }  # fmt: skip
    gold_sources: dict[int, tuple[list[str], list[str]]] = {}
    for gold_id, name, kind in (
        GoldLabel.sources.through.objects.filter(goldlabel_id__in=[g[1] for g in golds.values()])
        .order_by("goldlabel_id", "source__name")
        .values_list("goldlabel_id", "source__name", "source__kind")
    ):
        names, kinds = gold_sources.setdefault(gold_id, ([], []))
        names.append(name)
        kinds.append(kind)
    no_sources: tuple[list[str], list[str]] = ([], [])
    for pk, article_id, title, index, start, end, text, flagged, slug, k in claims:
        rows = labels.get(pk, [])
        named = [sources.get(row[0], no_sources) for row in rows]
        shares = {
            "confidence_agreement": _modal_share([row[3] for row in rows]),
            "claim_kind_agreement": _modal_share([row[4] for row in rows]),
            "sources_agreement": _modal_share([frozenset(names) for names, _ in named]),
        }
        record: dict[str, Any] = {
            "project": slug,
            "article_id": article_id,
            "article_title": title,
            "claim_id": pk,
            "claim_index": index,
            "claim_start": start,
            "claim_end": end,
            "claim_text": text,
            "annotators": [row[2] for row in rows],
            "n_annotations": len(rows),
            "labels": [
                f"{row[2]}: {row[3] or '-'} / {row[4] or '-'} / {', '.join(names) or 'no source'}"
                for row, (names, _) in zip(rows, named, strict=True)
            ],
            "needs_review": flagged,
            **{name: "" if share is None else round(share, 4) for name, share in shares.items()},
        }
        gold = golds.get(pk)
        if gold is not None:
            names, kinds = gold_sources.get(gold[1], no_sources)
            record |= {
                "gold_status": "reviewed",
                "gold_confidence": gold[2],
                "gold_claim_kind": gold[3],
                "gold_attribution_cue": gold[4],
                "gold_note": gold[5],
                "reviewer": gold[6],
                "decided_at": gold[7],
            }
        elif rows and len(rows) >= k and all(share == 1.0 for share in shares.values()):
            names, kinds = named[0]
            record |= {
                "gold_status": "unanimous",
                "gold_confidence": rows[0][3],
                "gold_claim_kind": rows[0][4],
                "gold_attribution_cue": rows[0][5],
                "decided_at": max(row[6] for row in rows),
            }
        else:
            names, kinds = no_sources
            record["gold_status"] = "undecided"
        record["gold_sources"], record["gold_source_kinds"] = names, kinds
        yield record


def _modal_share(values: Sequence[Any]) -> float | None:
    """Share of values equal to the most common one; None below two values."""
    if len(values) < 2:
        return None
    counts: dict[Any, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return max(counts.values()) / len(values)


class Claim(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="claims")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="claims")
    index = models.PositiveIntegerField(help_text="Position of the claim in its article.")
    start = models.PositiveIntegerField()
    end = models.PositiveIntegerField()
    text = models.TextField(help_text="Always the body slice [start:end].")
    suggestion = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the suggester proposed: kind, sources, cue, confidence.",
    )
    annotation_count = models.PositiveIntegerField(default=0)
    needs_review = models.BooleanField(
        default=False,
        help_text="Set when the claim was split, merged or given new boundaries after labelling.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["article", "index"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="claim_not_empty"),
        ]
        indexes = [
            models.Index(fields=["article", "index"], name="claim_article_order"),
            # The queue walks a project's claims in article and claim order and
            # stops at the first open one; with the label count first, the
            # database sorted every open claim instead (200 ms at 100,000 claims).
            models.Index(
                fields=["project", "article", "index", "annotation_count"],
                name="claim_queue_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article_id}#{self.index}: {self.text[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("label", args=[self.article.project.slug]) + f"?claim={self.pk}"

    @property
    def suggested_kind(self) -> str:
        return self.suggestion.get("kind") or "claim"

    @property
    def suggested_confidence(self) -> str:
        return self.suggestion.get("confidence") or ""

    @property
    def suggested_cue(self) -> str:
        cue = self.suggestion.get("cue")
        return cue["text"] if cue else ""

    def suggested_sources(self) -> list[dict[str, Any]]:
        """Suggested sources, each with the name to show (canonical when matched)."""
        return [
            {**source, "label": source.get("canonical") or source["name"]}
            for source in self.suggestion.get("sources", [])
        ]

    def record_label(
        self,
        *,
        annotator: AbstractBaseUser,
        values: LabelValues,
        form_token: uuid.UUID | None = None,
        base_revision: int | None = None,
    ) -> Annotation:
        """Save the annotator's label on this claim, keeping every earlier version.

        A form token seen before (double click, retried request) returns the
        annotation it created or changed without saving again. ``base_revision``
        is the revision the form was rendered from: if the annotation moved on
        since, nothing is saved and ``StaleLabel`` carries the current version.
        A new label on a claim that has its K labels, from an annotator who
        holds no reservation on it, raises ``ClaimFull``.
        """
        try:
            with transaction.atomic():
                return self._record_label(annotator, values, form_token, base_revision)
        except IntegrityError:
            # A concurrent request with the same token or for the same
            # claim and annotator won the race: report what it saved.
            replay = AnnotationRevision.objects.filter(form_token=form_token).first()
            if form_token is not None and replay is not None:
                return replay.annotation
            raise

    def _record_label(
        self,
        annotator: AbstractBaseUser,
        values: LabelValues,
        form_token: uuid.UUID | None,
        base_revision: int | None,
    ) -> Annotation:
        # Lock the claim row: the count of labels must not move until we have
        # added ours. NO KEY UPDATE lets the queue insert reservations that
        # reference this claim meanwhile (see ClaimQuerySet.next_for).
        # Everything the decision needs comes with the lock, in one query
        # (it was five: docs/readme-bench.md).
        now = timezone.now()
        live = Reservation.objects.filter(claim=OuterRef("pk"), expires_at__gt=now)
        replayed = AnnotationRevision.objects.filter(form_token=form_token)
        state = (
            Claim.objects.select_for_update(no_key=True)
            .filter(pk=self.pk)
            .annotate(
                # Under the lock: a twin request (double click) that held it
                # may have committed this very token while we waited.
                replayed=Subquery(replayed.values("annotation_id")[:1])
                if form_token is not None
                else models.Value(None, output_field=models.BigIntegerField()),
                mine=Subquery(
                    Annotation.objects.filter(claim=OuterRef("pk"), annotator=annotator)
                    .order_by()
                    .values("pk")[:1]
                ),
                reserved_by_me=Exists(live.filter(user=annotator)),
                reserved_by_others=Coalesce(
                    Subquery(
                        live.exclude(user=annotator)
                        .order_by()
                        .values("claim")
                        .annotate(n=Count("pk"))
                        .values("n")
                    ),
                    0,
                ),
                skipped=Exists(Skip.objects.filter(claim=OuterRef("pk"), user=annotator)),
                reservations_to_drop=Exists(
                    Reservation.objects.filter(
                        Q(claim=OuterRef("pk")) | Q(expires_at__lte=now), user=annotator
                    )
                ),
            )
            .values(
                "annotation_count",
                "replayed",
                "mine",
                "reserved_by_me",
                "reserved_by_others",
                "skipped",
                "reservations_to_drop",
            )
            .get()
        )
        if state["replayed"] is not None:
            return Annotation.objects.get(pk=state["replayed"])
        count = state["annotation_count"]
        annotation = (
            None
            if state["mine"] is None
            else Annotation.objects.select_for_update().get(pk=state["mine"])
        )
        if annotation is None:
            reserved_by_me = state["reserved_by_me"]
            others = state["reserved_by_others"]
            k = self.project.annotations_per_claim
            if count >= k or (not reserved_by_me and count + others >= k):
                raise ClaimFull("This claim already has all the labels it needs.")
            annotation = Annotation(
                project=self.project, claim=self, annotator=annotator, revision=1
            )
            values.apply_to(annotation)
            annotation.save()
            Claim.objects.filter(pk=self.pk).update(annotation_count=F("annotation_count") + 1)
            # The reservation is used up; expired ones of this user only take room.
            if state["reservations_to_drop"]:
                Reservation.objects.filter(
                    Q(claim=self) | Q(expires_at__lte=timezone.now()), user=annotator
                ).delete()
            self.annotation_count = count + 1
            reason = AnnotationRevision.Reason.CREATED
        else:
            if base_revision is not None and base_revision != annotation.revision:
                raise StaleLabel(annotation)
            annotation.project = self.project
            values.apply_to(annotation)
            annotation.revision += 1
            annotation.save()
            annotation.source_links.all().delete()
            reason = AnnotationRevision.Reason.EDITED
        sources = annotation.link_sources(values.sources, self.text)
        AnnotationRevision.objects.create(
            annotation=annotation,
            number=annotation.revision,
            editor=annotator,
            reason=reason,
            data=annotation.snapshot([source.name for source in sources]),
            form_token=form_token,
        )
        if state["skipped"]:
            Skip.objects.filter(claim=self, user=annotator).delete()
        return annotation

    def skip(self, user: AbstractBaseUser) -> None:
        Skip.objects.get_or_create(claim=self, user=user)
        self.reservations.filter(user=user).delete()

    # --- A manager's edits of the claim boundaries -----------------------------------
    #
    # All three keep the article's claims true slices of the body, never
    # overlapping, numbered 0..n-1 in text order; labels are never dropped:
    # they follow the text, get a revision saying what happened, and are
    # flagged for review together with their claim.

    def split_at(
        self,
        offset: int,
        *,
        by: AbstractBaseUser,
        expect_span: tuple[int, int] | None = None,
    ) -> tuple[Claim, Claim]:
        """Cut the claim in two before body offset ``offset``; return both parts.

        Each part is trimmed of surrounding white space and must keep some
        text. Labels stay on the first part and are copied, with their
        sources, to the second (a settled gold label too).
        """
        with transaction.atomic():
            claim, _ordered = self._lock_for_edit(expect_span)
            body = self.article.body
            if not claim.start < offset < claim.end:
                raise ClaimEditError(
                    "The split point must lie inside the claim, after its first character "
                    "and before its last, so that both parts keep some text."
                )
            first = _trimmed_span(body, claim.start, offset)
            second = _trimmed_span(body, offset, claim.end)
            if first is None or second is None:
                raise ClaimEditError(
                    "Both parts need some text: choose a split point with words on either side."
                )
            labelled = claim._is_labelled()
            change = {"claim_span": list(first), "split_from": [claim.start, claim.end]}
            aliases = self.project.alias_map()
            claim._set_span(first, aliases, flag=labelled)
            part = Claim(project=self.project, article=self.article, index=claim.index + 1)
            part._set_span(second, aliases, flag=labelled, save=False)
            part.save()
            copies: dict[int, Annotation] = {}
            second_change = change | {"claim_span": list(second)}
            for annotation in claim.annotations.prefetch_related("source_links__source"):
                annotation.record_claim_change(by, AnnotationRevision.Reason.SPLIT, change)
                copies[annotation.pk] = annotation.copy_to(part, by, second_change)
            if copies:
                part.annotation_count = len(copies)
                part.save(update_fields=["annotation_count"])
            gold = GoldLabel.objects.filter(claim=claim).first()
            if gold is not None:
                sources = list(gold.sources.all())
                picked = copies.get(gold.picked_from_id) if gold.picked_from_id else None
                gold.pk = None
                gold.claim = part
                gold.picked_from = picked
                gold.save(force_insert=True)
                gold.sources.set(sources)
            _renumber_claims(claim.article_id)
        self.refresh_from_db()
        part.refresh_from_db()
        return self, part

    def merge_with_next(
        self,
        *,
        by: AbstractBaseUser,
        expect_span: tuple[int, int] | None = None,
        expect_next_span: tuple[int, int] | None = None,
    ) -> Claim:
        """Join this claim and the one after it into this one; the next claim goes.

        Labels of the next claim move here. Where one annotator labelled
        both, their label of this claim stays and their label of the next is
        kept whole (with its history) in a "merged" revision of it.
        """
        with transaction.atomic():
            claim, ordered = self._lock_for_edit(expect_span)
            position = ordered.index(claim)
            if position == len(ordered) - 1:
                raise ClaimEditError("This is the article's last claim: there is none after it.")
            following = ordered[position + 1]
            if expect_next_span is not None and (following.start, following.end) != tuple(
                expect_next_span
            ):
                raise ClaimEditError(
                    "The claim after this one was changed meanwhile; reload the article and "
                    "check before merging."
                )
            golds = list(GoldLabel.objects.filter(claim__in=[claim, following]))
            if len(golds) == 2:
                raise ClaimEditError(
                    "Both claims have a settled gold label and a claim holds only one; "
                    "clear one of them before merging."
                )
            labelled = bool(golds) or claim._is_labelled() or following._is_labelled()
            change = {
                "claim_span": [claim.start, following.end],
                "merged_from": [[claim.start, claim.end], [following.start, following.end]],
            }
            kept = {a.annotator_id: a for a in claim.annotations.all()}
            merged_labels: dict[int, dict[str, Any]] = {}
            for annotation in following.annotations.all():
                mine = kept.get(annotation.annotator_id)
                if mine is None:
                    annotation.claim = claim
                    annotation.record_claim_change(by, AnnotationRevision.Reason.MERGED, change)
                    continue
                # One annotator, two labels, one claim: the first claim's label
                # stands and the other is kept whole inside its history.
                merged_labels[mine.pk] = annotation.history()
                GoldLabel.objects.filter(picked_from=annotation).update(picked_from=mine)
                annotation.delete()
            for annotation in kept.values():
                extra = {}
                if annotation.pk in merged_labels:
                    extra = {"merged_label": merged_labels[annotation.pk]}
                annotation.record_claim_change(by, AnnotationRevision.Reason.MERGED, change | extra)
            GoldLabel.objects.filter(claim=following).update(claim=claim)
            try:
                following.delete()
            except models.ProtectedError:
                raise ClaimEditError(
                    "The next claim still has records that cannot be moved to this one; "
                    "nothing was merged."
                ) from None
            claim.annotation_count = claim.annotations.count()
            claim._set_span((claim.start, following.end), self.project.alias_map(), flag=labelled)
            _renumber_claims(claim.article_id)
        self.refresh_from_db()
        return self

    def adjust(
        self,
        start: int,
        end: int,
        *,
        by: AbstractBaseUser,
        expect_span: tuple[int, int] | None = None,
    ) -> Claim:
        """Move the claim's boundaries to ``body[start:end]`` (trimmed of white space).

        The span must stay clear of the neighbouring claims; labels stay and
        are flagged for review.
        """
        with transaction.atomic():
            claim, ordered = self._lock_for_edit(expect_span)
            body = self.article.body
            if not 0 <= start < end <= len(body):
                raise ClaimEditError(
                    f"Offsets must satisfy 0 ≤ start < end ≤ {len(body)} "
                    "(the article body's length)."
                )
            span = _trimmed_span(body, start, end)
            if span is None:
                raise ClaimEditError("That span holds only white space; a claim needs text.")
            position = ordered.index(claim)
            before = ordered[position - 1] if position > 0 else None
            after = ordered[position + 1] if position + 1 < len(ordered) else None
            if before is not None and span[0] < before.end:
                raise ClaimEditError(
                    f"The claim would overlap claim {before.index + 1}, which ends at "
                    f"{before.end}: start at {before.end} or later, or merge the two claims."
                )
            if after is not None and span[1] > after.start:
                raise ClaimEditError(
                    f"The claim would overlap claim {after.index + 1}, which starts at "
                    f"{after.start}: end at {after.start} or earlier, or merge the two claims."
                )
            if span == (claim.start, claim.end):
                raise ClaimEditError("Those are the claim's boundaries already; nothing changed.")
            labelled = claim._is_labelled()
            change = {"claim_span": list(span), "adjusted_from": [claim.start, claim.end]}
            for annotation in claim.annotations.all():
                annotation.record_claim_change(by, AnnotationRevision.Reason.ADJUSTED, change)
            claim._set_span(span, self.project.alias_map(), flag=labelled)
        self.refresh_from_db()
        return self

    def _lock_for_edit(self, expect_span: tuple[int, int] | None) -> tuple[Claim, list[Claim]]:
        """This claim as stored now, and all claims of its article in text order, locked.

        Locking the whole article's claims keeps two managers' edits, and
        labels being saved, from interleaving with the overlap checks.
        """
        locked = list(
            Claim.objects.select_for_update().filter(article_id=self.article_id).order_by("pk")
        )
        ordered = sorted(locked, key=lambda claim: (claim.start, claim.pk))
        claim = next((claim for claim in ordered if claim.pk == self.pk), None)
        if claim is None:
            raise ClaimEditError(
                "This claim no longer exists (it was merged meanwhile); reload the article."
            )
        if expect_span is not None and (claim.start, claim.end) != tuple(expect_span):
            raise ClaimEditError(
                f"This claim was changed meanwhile (it now spans {claim.start}–{claim.end}); "
                "reload the article and check before editing it."
            )
        claim.article = self.article
        claim.project = self.project
        return claim, ordered

    def _is_labelled(self) -> bool:
        return self.annotations.exists() or GoldLabel.objects.filter(claim_id=self.pk).exists()

    def _set_span(
        self, span: tuple[int, int], aliases: dict[str, str], *, flag: bool, save: bool = True
    ) -> None:
        """Point the claim at ``body[start:end]`` with a fresh suggestion for that text."""
        body = self.article.body
        self.start, self.end = span
        self.text = body[self.start : self.end]
        self.suggestion = suggestion_to_json(
            suggest_for_span(
                body,
                self.start,
                self.end,
                split_compound=self.project.split_compound,
                aliases=aliases,
            )
        )
        self.needs_review = self.needs_review or flag
        if save:
            self.save(
                update_fields=[
                    "start",
                    "end",
                    "text",
                    "suggestion",
                    "needs_review",
                    "annotation_count",
                ]
            )


def _trimmed_span(body: str, start: int, end: int) -> tuple[int, int] | None:
    """``body[start:end]`` without surrounding white space, or None if nothing else is left."""
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _renumber_claims(article_id: int) -> None:
    """Number an article's claims 0..n-1 in text order after one was split or merged."""
    changed = []
    claims = Claim.objects.filter(article_id=article_id).order_by("start", "pk").only("index")
    for index, claim in enumerate(claims):
        if claim.index != index:
            claim.index = index
            changed.append(claim)
    Claim.objects.bulk_update(changed, ["index"])


class Reservation(models.Model):
    """A claim handed to an annotator by the queue, held for them for a while."""

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="reservations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["claim", "user"], name="one_reservation_per_user"),
        ]
        indexes = [models.Index(fields=["claim", "expires_at"], name="reservation_live")]

    def __str__(self) -> str:
        return f"{self.claim_id} held by {self.user_id} until {self.expires_at:%H:%M}"


class Skip(models.Model):
    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="skips")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["claim", "user"], name="one_skip_per_user")]

    def __str__(self) -> str:
        return f"{self.claim_id} skipped by {self.user_id}"


class Assignment(models.Model):
    """A manager's choice of who labels an article; the queue honours it when present."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="assignments"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "user"], name="one_assignment_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.article_id} -> {self.user}"


# --- Sources ---------------------------------------------------------------------------


class SourceKind(models.TextChoices):
    STATE_MEDIA = "state_media", "State media"
    GOVERNMENT = "government", "Government"
    MILITARY = "military", "Military"
    INTELLIGENCE = "intelligence", "Intelligence agency"
    INTERNATIONAL_ORG = "international_org", "International organisation"
    EXPERT = "expert", "Analyst / expert"
    OFFICIAL = "official", "Official"
    ANONYMOUS = "anonymous", "Anonymous"
    UNATTRIBUTED = "unattributed", "Unattributed (the article's own voice)"


class SourceQuerySet(models.QuerySet["Source"]):
    def resolve(
        self, project: Project, wording: str, kind: str, created_by: AbstractBaseUser | None
    ) -> Source:
        """The project's source for this name or alias, created when new."""
        alias = (
            SourceAlias.objects.filter(source__project=project, normalized=normalise_alias(wording))
            .select_related("source")
            .first()
        )
        if alias is not None:
            return alias.source
        name = " ".join(wording.split())
        source, created = self.get_or_create(
            project=project,
            name=name,
            defaults={"kind": kind or SourceKind.UNATTRIBUTED, "created_by": created_by},
        )
        if created:
            source.aliases.create(alias=name, normalized=normalise_alias(name))
        return source


class Source(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=300, help_text="The canonical name.")
    kind = models.CharField(max_length=30, choices=SourceKind.choices)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SourceQuerySet.as_manager()

    class Meta:
        ordering = ["project", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="unique_source_name"),
        ]

    def __str__(self) -> str:
        return self.name


class SourceAlias(models.Model):
    """A wording that names a source ("Korean Central News Agency" for KCNA).

    The canonical name is an alias too, so look-ups search one table.
    """

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=300)
    normalized = models.CharField(max_length=300, editable=False)

    class Meta:
        ordering = ["source", "alias"]
        constraints = [
            models.UniqueConstraint(fields=["source", "normalized"], name="unique_alias"),
        ]
        indexes = [models.Index(fields=["normalized"], name="alias_lookup")]
        verbose_name_plural = "source aliases"

    def __str__(self) -> str:
        return self.alias

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.normalized = normalise_alias(self.alias)
        super().save(*args, **kwargs)


# --- Labels ----------------------------------------------------------------------------


@dataclass
class SourceChoice:
    """A source as the annotator gave it: a name or alias, the kind for a new one,
    and the words of the claim that name it (learned as an alias)."""

    name: str
    kind: str = ""
    wording: str = ""


@dataclass
class LabelValues:
    confidence: str = ""
    claim_kind: str = ""
    certainty: str = ""
    attribution_cue: str = ""
    note: str = ""
    sources: Sequence[SourceChoice] = ()

    def apply_to(self, label: Annotation | GoldLabel) -> None:
        label.confidence = self.confidence
        label.claim_kind = self.claim_kind
        label.attribution_cue = self.attribution_cue
        label.note = self.note
        if isinstance(label, Annotation):
            label.certainty = self.certainty


_EXPORT_FIELDS = (
    "pk", "project__slug", "claim__article_id", "claim__article__title", "claim__article__url",
    "claim_id", "claim__index", "claim__start", "claim__end", "claim__text", "annotator__username",
    "attribution_cue", "confidence", "claim_kind", "certainty", "note", "created_at", "updated_at",
    "revision", "needs_review",
)  # fmt: skip


class AnnotationQuerySet(models.QuerySet["Annotation"]):
    def export_rows(self, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
        """One dict per annotation with the export columns, read in chunks.

        Plain values, not model instances; article bodies are never loaded; the
        sources of a chunk's annotations come in one extra query. Memory stays
        flat however many rows, and a million rows stream in well under a minute.
        """
        rows = (
            self.order_by("claim__article_id", "claim__index", "claim_id", "annotator_id")
            .values_list(*_EXPORT_FIELDS)
            .iterator(chunk_size=chunk_size)
        )
        for chunk in _chunks(rows, chunk_size):
            sources = AnnotationSource.objects.by_annotation([row[0] for row in chunk])
            # Several annotations share a claim: read each claim's suggestion once.
            suggestions = Claim.objects.suggested_labels({row[5] for row in chunk})
            for (
                pk, slug, article_id, title, url, claim_id, index, start, end, text,
                username, cue, confidence, kind, certainty, note,
                created_at, updated_at, revision, needs_review,
            ) in chunk:  # fmt: skip
                suggested_sources, suggested_confidence = suggestions[claim_id]
                names, kinds = sources.get(pk, ((), ()))
                yield {
                    "project": slug,
                    "article_id": article_id,
                    "article_title": title,
                    "article_url": url,
                    "claim_id": claim_id,
                    "claim_index": index,
                    "claim_start": start,
                    "claim_end": end,
                    "claim_text": text,
                    "annotator": username,
                    "sources": names,
                    "source_kinds": kinds,
                    "attribution_cue": cue,
                    "confidence": confidence,
                    "claim_kind": kind,
                    "annotator_certainty": certainty,
                    "note": note,
                    "suggested_sources": suggested_sources,
                    "suggested_confidence": suggested_confidence,
                    "created_at": created_at,
                    "updated_at": updated_at,
                    "revision": revision,
                    "needs_review": needs_review,
                }


class Annotation(models.Model):
    """One annotator's labels on one claim."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="annotations")
    # PROTECT: a claim is only deleted after its labels have been moved
    # (split, merge); an acknowledged label is never lost by a cascade.
    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="annotations")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    sources = models.ManyToManyField(Source, through="AnnotationSource", related_name="+")
    attribution_cue = models.CharField(max_length=500, blank=True)
    confidence = models.CharField(max_length=40, blank=True)
    claim_kind = models.CharField(max_length=40, blank=True)
    certainty = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)
    needs_review = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AnnotationQuerySet.as_manager()

    class Meta:
        ordering = ["claim", "annotator"]
        constraints = [
            models.UniqueConstraint(
                fields=["claim", "annotator"], name="one_annotation_per_annotator"
            ),
        ]
        indexes = [
            models.Index(fields=["project", "annotator", "updated_at"], name="annotation_by_user"),
            # The queue's current article and the Back link take the annotator's
            # latest label by creation (60 ms at 50,000 labels without it).
            models.Index(
                fields=["project", "annotator", "created_at"], name="annotation_by_user_created"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.claim_id}: {self.confidence}"

    def source_names(self) -> list[str]:
        return [link.source.name for link in self.source_links.all()]

    def link_sources(self, choices: Sequence[SourceChoice], claim_text: str) -> list[Source]:
        """Attach the chosen sources, creating new ones, and learn the claim's wording of each.

        A wording that occurs in the claim's text and is not yet an alias of the
        source becomes one, so the next article's suggestions find it.
        """
        sources = [
            Source.objects.resolve(
                self.project, choice.name, choice.kind, created_by=self.annotator
            )
            for choice in choices
        ]
        if not sources:
            return []
        AnnotationSource.objects.bulk_create(
            AnnotationSource(
                annotation=self, source=source, position=position, wording=choice.wording
            )
            for position, (choice, source) in enumerate(zip(choices, sources, strict=True))
        )
        text = normalise_alias(claim_text)
        for choice, source in zip(choices, sources, strict=True):
            wording = " ".join(choice.wording.split())
            normalized = normalise_alias(wording)
            if not _learnable_wording(normalized, text):
                continue
            # A wording that already names a source of the project (this one
            # or another) stays as it is: one alias, one source, or the
            # suggester and the type-ahead would disagree on what it means.
            if SourceAlias.objects.filter(
                source__project_id=source.project_id, normalized=normalized
            ).exists():
                continue
            SourceAlias.objects.get_or_create(
                source=source, normalized=normalized, defaults={"alias": wording}
            )
        return sources

    def snapshot(self, source_names: list[str] | None = None) -> dict[str, Any]:
        return {
            "sources": self.source_names() if source_names is None else source_names,
            "attribution_cue": self.attribution_cue,
            "confidence": self.confidence,
            "claim_kind": self.claim_kind,
            "certainty": self.certainty,
            "note": self.note,
        }

    def record_claim_change(
        self, editor: AbstractBaseUser, reason: str, change: dict[str, Any]
    ) -> None:
        """Flag this label for review because its claim was split, merged or re-bounded.

        The labels stay as they are; a revision records the change, so the
        history shows why the label's claim no longer reads as it did.
        ``updated_at`` keeps meaning "the annotator last changed the label".
        """
        self.revision += 1
        self.needs_review = True
        self.save(update_fields=["claim", "revision", "needs_review"])
        AnnotationRevision.objects.create(
            annotation=self,
            number=self.revision,
            editor=editor,
            reason=reason,
            data=self.snapshot() | change,
        )

    def copy_to(self, claim: Claim, editor: AbstractBaseUser, change: dict[str, Any]) -> Annotation:
        """The same labels and sources on another claim (the second part of a split)."""
        copy = Annotation.objects.create(
            project_id=self.project_id,
            claim=claim,
            annotator_id=self.annotator_id,
            attribution_cue=self.attribution_cue,
            confidence=self.confidence,
            claim_kind=self.claim_kind,
            certainty=self.certainty,
            note=self.note,
            revision=1,
            needs_review=True,
        )
        links = list(self.source_links.all())
        AnnotationSource.objects.bulk_create(
            AnnotationSource(
                annotation=copy,
                source_id=link.source_id,
                position=link.position,
                wording=link.wording,
            )
            for link in links
        )
        AnnotationRevision.objects.create(
            annotation=copy,
            number=1,
            editor=editor,
            reason=AnnotationRevision.Reason.SPLIT,
            data=copy.snapshot(self.source_names()) | change | {"copied_from": self.pk},
        )
        return copy

    def history(self) -> dict[str, Any]:
        """This label and all its versions, kept in another label's revision when merged away."""
        return {
            "annotation_id": self.pk,
            "claim_id": self.claim_id,
            "labels": self.snapshot(),
            "revisions": [
                {
                    "number": revision.number,
                    "reason": revision.reason,
                    "editor": revision.editor.get_username(),
                    "created_at": revision.created_at.isoformat(),
                    "data": revision.data,
                }
                for revision in self.revisions.select_related("editor").order_by("number")
            ],
        }


class AnnotationSourceQuerySet(models.QuerySet["AnnotationSource"]):
    def by_annotation(self, annotation_ids: list[int]) -> dict[int, tuple[list[str], list[str]]]:
        """Annotation id -> (source names, source kinds), in the annotator's order."""
        sources: dict[int, tuple[list[str], list[str]]] = {}
        if not annotation_ids:
            return sources
        # Plain SQL: the ORM prepares each of a chunk's thousands of ids as its
        # own parameter, which made this look-up a quarter of a large export.
        connection = connections[self.db]
        link = connection.ops.quote_name(AnnotationSource._meta.db_table)
        source = connection.ops.quote_name(Source._meta.db_table)
        placeholders = ", ".join(["%s"] * len(annotation_ids))
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT l.annotation_id, s.name, s.kind FROM {link} l "
                f"JOIN {source} s ON s.id = l.source_id "
                f"WHERE l.annotation_id IN ({placeholders}) ORDER BY l.annotation_id, l.position",
                annotation_ids,
            )
            rows = cursor.fetchall()
        for annotation_id, name, kind in rows:
            names, kinds = sources.setdefault(annotation_id, ([], []))
            names.append(name)
            kinds.append(kind)
        return sources


class AnnotationSource(models.Model):
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="source_links"
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    wording = models.CharField(
        max_length=300, blank=True, help_text="How the claim's text names the source."
    )

    objects = AnnotationSourceQuerySet.as_manager()

    class Meta:
        ordering = ["annotation", "position"]
        constraints = [
            models.UniqueConstraint(fields=["annotation", "source"], name="source_once_per_label"),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_id}: {self.source_id}"


class AnnotationRevision(models.Model):
    """One saved version of an annotation: who, when, and the labels after the change."""

    class Reason(models.TextChoices):
        CREATED = "created", "Created"
        EDITED = "edited", "Edited"
        SPLIT = "split", "Claim split"
        MERGED = "merged", "Claim merged"
        ADJUSTED = "adjusted", "Claim boundaries changed"

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    editor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=20, choices=Reason.choices)
    data = models.JSONField()
    form_token = models.UUIDField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation", "number"]
        constraints = [
            models.UniqueConstraint(fields=["annotation", "number"], name="unique_revision"),
        ]

    def __str__(self) -> str:
        return f"{self.annotation_id} r{self.number}"

    def summary(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, sort_keys=True)

    def changes_since(self, previous: AnnotationRevision | None) -> list[dict[str, str]]:
        """What this revision changed: ``{"field", "before", "after"}`` per changed value.

        The first revision (``previous`` None) lists every value it set.
        """

        def shown(value: Any) -> str:
            if isinstance(value, list):
                return ", ".join(str(item) for item in value)
            return "" if value is None else str(value)

        before = previous.data if previous is not None else {}
        return [
            {"field": name, "before": shown(before.get(name)), "after": shown(value)}
            for name, value in self.data.items()
            if before.get(name) != value and (previous is not None or value not in ("", [], None))
        ]


class GoldLabelQuerySet(models.QuerySet["GoldLabel"]):
    def settle(
        self, claim: Claim, *, reviewer: AbstractBaseUser, values: LabelValues
    ) -> GoldLabel:
        """Store the reviewer's own label for the claim, replacing an earlier gold label."""
        with transaction.atomic():
            sources = [
                Source.objects.resolve(claim.project, choice.name, choice.kind, created_by=reviewer)
                for choice in values.sources
            ]
            return self._store(claim, reviewer, values, sources, picked_from=None)

    def settle_from(
        self, annotation: Annotation, *, reviewer: AbstractBaseUser, note: str = ""
    ) -> GoldLabel:
        """Take one annotator's label as the claim's gold label, with the reviewer's note."""
        values = LabelValues(
            confidence=annotation.confidence,
            claim_kind=annotation.claim_kind,
            attribution_cue=annotation.attribution_cue,
            note=note,
        )
        sources = [link.source for link in annotation.source_links.select_related("source")]
        with transaction.atomic():
            return self._store(annotation.claim, reviewer, values, sources, picked_from=annotation)

    def _store(
        self,
        claim: Claim,
        reviewer: AbstractBaseUser,
        values: LabelValues,
        sources: list[Source],
        picked_from: Annotation | None,
    ) -> GoldLabel:
        # Lock the claim: two reviewers deciding at once each replace the
        # other's label whole, never mix sources of one with values of the other.
        Claim.objects.select_for_update(no_key=True).filter(pk=claim.pk).first()
        gold = self.filter(claim=claim).first() or GoldLabel(claim=claim)
        gold.reviewer = reviewer
        gold.picked_from = picked_from
        values.apply_to(gold)
        gold.save()
        gold.sources.set(sources)
        return gold


class GoldLabel(models.Model):
    """The reviewer's settled label for a claim."""

    claim = models.OneToOneField(Claim, on_delete=models.PROTECT, related_name="gold")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    sources = models.ManyToManyField(Source, related_name="+", blank=True)
    attribution_cue = models.CharField(max_length=500, blank=True)
    confidence = models.CharField(max_length=40, blank=True)
    claim_kind = models.CharField(max_length=40, blank=True)
    note = models.TextField(blank=True)
    picked_from = models.ForeignKey(
        Annotation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = GoldLabelQuerySet.as_manager()

    def __str__(self) -> str:
        return f"gold {self.claim_id}: {self.confidence}"
