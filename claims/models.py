"""The workbench's data: projects, articles cut into claims, and the labels people give them.

Invariants kept here, whoever calls:
- an article body is stored exactly as imported, and every claim is a slice of it
  (``article.body[claim.start:claim.end] == claim.text``);
- an acknowledged label is never lost: annotations are protected from deletion,
  and every change of one is kept as an ``AnnotationRevision``.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from claims import attribution

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from django.contrib.auth.models import AbstractBaseUser


def normalise_alias(wording: str) -> str:
    """The form aliases are compared in: case and runs of white space do not matter."""
    return " ".join(wording.split()).casefold()


def content_hash(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


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
        """The project's label set, by dimension, in the project's order."""
        choices: dict[str, list[Label]] = {dimension: [] for dimension in Label.Dimension.values}
        for label in self.labels.all():
            choices[label.dimension].append(label)
        return choices

    def alias_map(self) -> dict[str, str]:
        """Normalised alias wording -> canonical source name, for the suggester."""
        return dict(
            SourceAlias.objects.filter(source__project=self).values_list(
                "normalized", "source__name"
            )
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
        batch_size: int = 500,
    ) -> ImportSummary:
        """Store articles and their claims, all or nothing.

        ``records`` are ``claims.importing.ArticleRecord``s. A body already in the
        project (same content hash), or twice in this batch, is skipped and named
        in the summary.
        """
        summary = ImportSummary()
        aliases = project.alias_map()
        with transaction.atomic():
            seen = set(self.filter(project=project).values_list("content_hash", flat=True))
            for record in records:
                digest = content_hash(record.body)
                if digest in seen:
                    summary.skipped_duplicates.append(record.title)
                    continue
                seen.add(digest)
                article = self.create(
                    project=project,
                    title=record.title,
                    body=record.body,
                    outlet=record.outlet,
                    url=record.url,
                    published=record.published,
                    content_hash=digest,
                    imported_by=imported_by,
                )
                claims = article.build_claims(aliases)
                Claim.objects.bulk_create(claims, batch_size=batch_size)
                summary.articles += 1
                summary.claims += len(claims)
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

    def build_claims(self, aliases: dict[str, str] | None = None) -> list[Claim]:
        """Unsaved claims for this article's body, with their suggestions."""
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


class ClaimFull(Exception):
    """The claim already has the labels the project wants from annotators."""


class StaleLabel(Exception):
    """The annotation changed since the form was rendered."""

    def __init__(self, annotation: Annotation) -> None:
        super().__init__("This label was changed since you opened it.")
        self.annotation = annotation


class ClaimQuerySet(models.QuerySet["Claim"]):
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
            Project.objects.select_for_update().filter(pk=project.pk).first()
            held = (
                self.filter(
                    project=project,
                    reservations__user=user,
                    reservations__expires_at__gt=now,
                )
                .exclude(annotations__annotator=user)
                .select_related("article")
                .order_by("article_id", "index")
                .first()
            )
            if held is not None:
                held.project = project
                return held
            candidate = self._open_for(user, project, now).select_related("article").first()
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
        open_claims = open_claims.filter(~has_assignments | assigned_here)
        # Keep the annotator in the article they last labelled in, until it is done.
        current_article = Subquery(
            Annotation.objects.filter(project=project, annotator=user)
            .order_by("-updated_at")
            .values("claim__article_id")[:1]
        )
        return open_claims.order_by(
            models.Case(models.When(article_id=current_article, then=0), default=1),
            "article_id",
            "index",
        )


def _reservation_span() -> timedelta:
    return timedelta(minutes=settings.CLAIM_RESERVATION_MINUTES)


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
        default=False, help_text="Set when the claim was split or merged after labelling."
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
            models.Index(
                fields=["project", "annotation_count", "article", "index"], name="claim_queue"
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
        if form_token is not None:
            replay = (
                AnnotationRevision.objects.filter(form_token=form_token)
                .select_related("annotation")
                .first()
            )
            if replay is not None:
                return replay.annotation
        # Lock the claim row: the count of labels must not move until we have added ours.
        count = (
            Claim.objects.select_for_update()
            .filter(pk=self.pk)
            .values_list("annotation_count", flat=True)
            .get()
        )
        annotation = (
            Annotation.objects.select_for_update().filter(claim=self, annotator=annotator).first()
        )
        if annotation is None:
            holders = list(
                self.reservations.filter(expires_at__gt=timezone.now()).values_list(
                    "user_id", flat=True
                )
            )
            reserved_by_me = annotator.pk in holders
            others = len(holders) - reserved_by_me
            k = self.project.annotations_per_claim
            if count >= k or (not reserved_by_me and count + others >= k):
                raise ClaimFull("This claim already has all the labels it needs.")
            annotation = Annotation(
                project=self.project, claim=self, annotator=annotator, revision=1
            )
            values.apply_to(annotation)
            annotation.save()
            Claim.objects.filter(pk=self.pk).update(annotation_count=F("annotation_count") + 1)
            if holders:
                self.reservations.filter(user=annotator).delete()
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
        Skip.objects.filter(claim=self, user=annotator).delete()
        return annotation

    def skip(self, user: AbstractBaseUser) -> None:
        Skip.objects.get_or_create(claim=self, user=user)
        self.reservations.filter(user=user).delete()


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


class AnnotationQuerySet(models.QuerySet["Annotation"]):
    def export_rows(self, *, chunk_size: int = 2000) -> Iterator[dict[str, Any]]:
        """One dict per annotation with the export columns, read in chunks.

        Article bodies are never loaded (only titles and URLs), and sources come
        in one extra query per chunk, so memory stays flat however many rows.
        """
        links = AnnotationSource.objects.select_related("source").order_by("position")
        annotations = (
            self.select_related("project", "claim__article", "annotator")
            .only(
                "project__slug",
                "claim__article__title",
                "claim__article__url",
                "claim__index",
                "claim__start",
                "claim__end",
                "claim__text",
                "claim__suggestion",
                "annotator__username",
                "attribution_cue",
                "confidence",
                "claim_kind",
                "certainty",
                "note",
                "created_at",
                "updated_at",
                "revision",
                "needs_review",
            )
            .prefetch_related(models.Prefetch("source_links", queryset=links))
            .order_by("claim__article_id", "claim__index", "claim_id", "annotator_id")
        )
        for annotation in annotations.iterator(chunk_size=chunk_size):
            claim = annotation.claim
            sources = [link.source for link in annotation.source_links.all()]
            suggested = claim.suggestion or {}
            yield {
                "project": annotation.project.slug,
                "article_id": claim.article_id,
                "article_title": claim.article.title,
                "article_url": claim.article.url,
                "claim_id": claim.pk,
                "claim_index": claim.index,
                "claim_start": claim.start,
                "claim_end": claim.end,
                "claim_text": claim.text,
                "annotator": annotation.annotator.username,
                "sources": [source.name for source in sources],
                "source_kinds": [source.kind for source in sources],
                "attribution_cue": annotation.attribution_cue,
                "confidence": annotation.confidence,
                "claim_kind": annotation.claim_kind,
                "annotator_certainty": annotation.certainty,
                "note": annotation.note,
                "suggested_sources": [
                    source.get("canonical") or source["name"]
                    for source in suggested.get("sources", [])
                ],
                "suggested_confidence": suggested.get("confidence") or "",
                "created_at": annotation.created_at,
                "updated_at": annotation.updated_at,
                "revision": annotation.revision,
                "needs_review": annotation.needs_review,
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
            if wording and normalise_alias(wording) in text:
                SourceAlias.objects.get_or_create(
                    source=source,
                    normalized=normalise_alias(wording),
                    defaults={"alias": wording},
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


class AnnotationSource(models.Model):
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="source_links"
    )
    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    wording = models.CharField(
        max_length=300, blank=True, help_text="How the claim's text names the source."
    )

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

    def __str__(self) -> str:
        return f"gold {self.claim_id}: {self.confidence}"
