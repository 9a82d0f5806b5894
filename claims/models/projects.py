"""Projects, who may do what in them, and their label sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from claims import acceptance

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

CLAIM_TOTAL_SECONDS = 60

# Label sets read in this process, by (project, created, label count, latest
# change): a changed, added or deleted label changes the key, so a stale set
# is never used, in any worker process. The oldest is dropped beyond this many.
LABEL_SETS_KEPT = 256
_label_sets: dict[tuple[object, ...], dict[str, list[Label]]] = {}

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
        if "member_role" in self.__dict__:
            # Read with the project by hotpath.project_with_role, saving a query a page.
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
            for label in Label.objects.default_set()
        )

    def label_choices(self) -> dict[str, list[Label]]:
        """The project's label set, by dimension, in the project's order.

        Read once per project instance (so once per request: a label save
        builds the form twice, to check the post and for the next claim), and
        not at all when the project came with the stamp of its label set
        (``hotpath.project_with_role``) and this process has read the set
        with that stamp before: every page of the labelling loop would
        otherwise read the same rows again.
        """
        if "_label_choices" in self.__dict__:
            return self._label_choices
        key = None
        if "labels_updated" in self.__dict__:
            key = (self.pk, self.created_at, self.label_count, self.labels_updated)
            if key in _label_sets:
                self._label_choices = _label_sets[key]
                return self._label_choices
        choices: dict[str, list[Label]] = {d: [] for d in Label.Dimension.values}
        for label in self.labels.all():
            choices[label.dimension].append(label)
        self._label_choices = choices
        if key is not None:
            if len(_label_sets) >= LABEL_SETS_KEPT:
                _label_sets.pop(next(iter(_label_sets)))
            _label_sets[key] = choices
        return choices

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
        from claims.models.sources import SourceAlias  # later in the package

        return dict(
            SourceAlias.objects.filter(source__project=self).values_list(
                "normalized", "source__name"
            )
        )

    def suggestion_acceptance(self) -> acceptance.Acceptance:
        """How many of the project's labels kept the suggested confidence and sources."""
        from claims.models.labels import Annotation, AnnotationSource  # later in the package

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


DEFAULT_LABELS = Path(settings.BASE_DIR) / "fixtures" / "default_labels.json"


class LabelQuerySet(models.QuerySet["Label"]):
    def default_set(self) -> list[Label]:
        """The default label set (rows without a project), in order.

        A migration loads it; if the rows are gone (deleted in the admin, or a
        database emptied by a flush), they are loaded again from the fixture,
        so a new project never starts without labels.
        """
        rows = list(self.filter(project=None))
        if rows:
            return rows
        for entry in json.loads(DEFAULT_LABELS.read_text(encoding="utf-8")):
            fields = entry["fields"]
            self.get_or_create(
                project=None,
                dimension=fields["dimension"],
                value=fields["value"],
                defaults={
                    "name": fields["name"],
                    "description": fields["description"],
                    "position": fields["position"],
                },
            )
        return list(self.filter(project=None))


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
    # With the label count, the stamp by which a process knows its copy of a
    # project's label set is current (Project.label_choices).
    updated_at = models.DateTimeField(auto_now=True)

    objects = LabelQuerySet.as_manager()

    class Meta:
        ordering = ["dimension", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "dimension", "value"], name="unique_label_value"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_dimension_display()}: {self.name}"
