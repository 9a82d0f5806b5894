"""Sources: who a claim is attributed to, with the wordings (aliases) that name them."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models

from claims import lexicon

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
from claims.models.projects import (
    Project,
)


def normalise_alias(wording: str) -> str:
    """The form aliases are compared in: case and runs of white space do not matter."""
    return " ".join(wording.split()).casefold()


def _learnable_wording(normalized: str, normalized_text: str) -> bool:
    """Whether a source's wording may become an alias: whole words of the claim, not a pronoun.

    "he" names whoever spoke last, not one source; "nis" inside "diminishing"
    names no one.
    """
    if not normalized or normalized in lexicon.PERSONAL_PRONOUNS:
        return False
    return re.search(rf"(?<!\w){re.escape(normalized)}(?!\w)", normalized_text) is not None


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
        from claims.hotpath import source_named

        known = source_named(project.pk, normalise_alias(wording), using=self.db)
        if known is not None:
            return known
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
