"""Articles as imported, and the import of article files (directly or as a background job)."""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone

from claims import attribution
from claims.importing import ArticleRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from django.contrib.auth.models import AbstractBaseUser

    from claims.models.claim import Claim
from claims.models.projects import (
    Project,
)

logger = logging.getLogger(__name__)


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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


@dataclass
class SuggestionRefresh:
    """What ``ArticleQuerySet.refresh_suggestions`` did."""

    articles: int = 0
    changed: int = 0
    unchanged: int = 0
    kept: int = 0  # labelled, settled or held by an annotator: not suggested again

    def __str__(self) -> str:
        return (
            f"{self.articles} articles read: {self.changed} claims with a new suggestion, "
            f"{self.unchanged} unchanged, {self.kept} labelled, settled or open in a form "
            "kept as they were"
        )


class ArticleQuerySet(models.QuerySet["Article"]):
    def refresh_suggestions(self, *, batch_size: int = 200) -> SuggestionRefresh:
        """Suggest again, with each project's sources and aliases as they are now,
        for the claims of these articles that nobody has labelled yet.

        Aliases learned from labels reach the next import's suggestions; this
        brings them to the articles imported before. A claim with a label or a
        gold label, or handed to an annotator whose form may be open, keeps
        the suggestion it was shown with: the acceptance figures compare
        labels with it. Each article is read by the text engine once (a claim
        a manager split, merged or adjusted is read as those edits read it),
        and each batch of ``batch_size`` articles is written in one statement
        per 500 claims; a claim labelled meanwhile is not written.
        """
        from claims.models.claim import Claim  # later in the package: it builds on Article
        from claims.span_suggestion import suggest_for_span

        refresh = SuggestionRefresh()
        now = timezone.now()
        open_claims = Claim.objects.filter(annotation_count=0, gold__isnull=True).exclude(
            reservations__expires_at__gt=now
        )
        aliases: dict[int, dict[str, str]] = {}
        articles = self.select_related("project").only("body", "project__split_compound")
        for batch in _chunks(articles.order_by("pk").iterator(chunk_size=batch_size), batch_size):
            claims_of: dict[int, list[Claim]] = {article.pk: [] for article in batch}
            for claim in open_claims.filter(article__in=batch).only(
                "article", "start", "end", "suggestion"
            ):
                claims_of[claim.article_id].append(claim)
            changed = []
            for article in batch:
                if not claims_of[article.pk]:
                    continue
                project = article.project
                if project.pk not in aliases:
                    aliases[project.pk] = project.alias_map()
                options = {"split_compound": project.split_compound, "aliases": aliases[project.pk]}
                found = {
                    (suggestion.start, suggestion.end): suggestion
                    for suggestion in attribution.analyse(article.body, **options)
                }
                for claim in claims_of[article.pk]:
                    suggestion = found.get((claim.start, claim.end)) or suggest_for_span(
                        article.body, claim.start, claim.end, **options
                    )
                    fresh = suggestion_to_json(suggestion)
                    if fresh == claim.suggestion:
                        refresh.unchanged += 1
                    else:
                        claim.suggestion = fresh
                        changed.append(claim)
            # The filter holds for the writes too: a claim labelled, settled or
            # handed out since it was read is left as it is.
            refresh.changed += open_claims.bulk_update(changed, ["suggestion"], batch_size=500)
            refresh.articles += len(batch)
        refresh.kept = Claim.objects.filter(article__in=self).count() - (
            refresh.changed + refresh.unchanged
        )
        return refresh

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
        from claims.models.claim import Claim  # later in the package: it builds on Article

        summary = ImportSummary()
        aliases = project.alias_map()
        analyse = functools.partial(
            attribution.analyse, split_compound=project.split_compound, aliases=aliases
        )

        def write(articles: list[Article], suggestions: Iterable[Any] | None, read: int) -> None:
            self.bulk_create(articles)
            if suggestions is None:
                suggestions = [analyse(article.body) for article in articles]
            claims = Claim.objects.insert_suggested(
                zip(articles, suggestions, strict=True), using=self.db
            )
            summary.articles += len(articles)
            summary.claims += claims
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
        from claims.models.claim import Claim  # later in the package: it builds on Article

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
