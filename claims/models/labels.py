"""Labels: annotations with their sources and revisions, and reviewers' gold labels."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connections, models, transaction

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from django.contrib.auth.models import AbstractBaseUser

    from claims.models.claim import Claim
from claims.models.articles import (
    _chunks,
)
from claims.models.projects import (
    Project,
)
from claims.models.sources import (
    Source,
    SourceAlias,
    _learnable_wording,
    normalise_alias,
)

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
        from claims.models.claim import Claim  # later in the package: it builds on labels

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

    # No index of their own for project and claim: the indexes below and the
    # unique (claim, annotator) begin with them, and every index is written
    # with every label (README, Benchmarks).
    project = models.ForeignKey(
        Project, on_delete=models.PROTECT, related_name="annotations", db_index=False
    )
    # PROTECT: a claim is only deleted after its labels have been moved
    # (split, merge); an acknowledged label is never lost by a cascade.
    claim = models.ForeignKey(
        "Claim", on_delete=models.PROTECT, related_name="annotations", db_index=False
    )
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
            # The dashboard's latest label change and labels saved since its figures
            # were computed: an index range, not a scan of every label.
            models.Index(fields=["project", "updated_at"], name="annotation_by_change"),
        ]

    def __str__(self) -> str:
        return f"{self.annotator} on {self.claim_id}: {self.confidence}"

    def source_names(self) -> list[str]:
        return [link.source.name for link in self.source_links.all()]

    def resolve_sources(
        self, choices: Sequence[SourceChoice], named: Mapping[str, Source] | None = None
    ) -> list[tuple[SourceChoice, Source]]:
        """Each choice with the project's source it names, found in ``named`` (by
        normalised alias) or else by name, created when new. Two choices naming
        one source (a name and its alias) keep the first."""
        named = named or {}
        pairs: list[tuple[SourceChoice, Source]] = []
        for choice in choices:
            source = named.get(normalise_alias(choice.name)) or Source.objects.resolve(
                self.project, choice.name, choice.kind, created_by=self.annotator
            )
            if all(source.pk != chosen.pk for _, chosen in pairs):
                pairs.append((choice, source))
        return pairs

    def learn_wordings(
        self,
        sources: Sequence[tuple[SourceChoice, Source]],
        claim_text: str,
        named: Mapping[str, Source] | None = None,
    ) -> None:
        """Make each wording that occurs in the claim's text an alias of its
        source, so the next article's suggestions find it.

        ``named`` (by normalised alias), when it was looked up with the
        wordings: a wording found there names a source already.
        """
        text = normalise_alias(claim_text)
        for choice, source in sources:
            wording = " ".join(choice.wording.split())
            normalized = normalise_alias(wording)
            if not _learnable_wording(normalized, text):
                continue
            # A wording that already names a source of the project (this one
            # or another) stays as it is: one alias, one source, or the
            # suggester and the type-ahead would disagree on what it means.
            if named is not None and normalized in named:
                continue
            if SourceAlias.objects.filter(
                source__project_id=source.project_id, normalized=normalized
            ).exists():
                continue
            SourceAlias.objects.get_or_create(
                source=source, normalized=normalized, defaults={"alias": wording}
            )

    def source_links_for(
        self, sources: Sequence[tuple[SourceChoice, Source]]
    ) -> list[AnnotationSource]:
        """The annotation's source rows to insert, in the order given."""
        return [
            AnnotationSource(
                annotation=self, source=source, position=position, wording=choice.wording
            )
            for position, (choice, source) in enumerate(sources)
        ]

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
    # Indexed by the unique (annotation, source), which begins with it.
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="source_links", db_index=False
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

    # Indexed by the unique (annotation, number), which begins with it.
    annotation = models.ForeignKey(
        Annotation, on_delete=models.CASCADE, related_name="revisions", db_index=False
    )
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
        self,
        claim: Claim,
        *,
        reviewer: AbstractBaseUser,
        values: LabelValues,
        expect_span: tuple[int, int] | None = None,
    ) -> GoldLabel:
        """Store the reviewer's own label for the claim, replacing an earlier gold label.

        ``expect_span``: the claim's (start, end) when the reviewer's page showed
        it; if a split, merge or adjustment moved it since, nothing is saved
        and ``ClaimChanged`` carries the claim as it is now. A claim merged
        away meanwhile raises ``Claim.DoesNotExist``.
        """
        with transaction.atomic():
            sources = [
                Source.objects.resolve(claim.project, choice.name, choice.kind, created_by=reviewer)
                for choice in values.sources
            ]
            return self._store(claim, reviewer, values, sources, None, expect_span)

    def settle_from(
        self,
        annotation: Annotation,
        *,
        reviewer: AbstractBaseUser,
        note: str = "",
        expect_span: tuple[int, int] | None = None,
    ) -> GoldLabel:
        """Take one annotator's label as the claim's gold label, with the reviewer's note.

        ``expect_span`` as for ``settle``.
        """
        values = LabelValues(
            confidence=annotation.confidence,
            claim_kind=annotation.claim_kind,
            attribution_cue=annotation.attribution_cue,
            note=note,
        )
        sources = [link.source for link in annotation.source_links.select_related("source")]
        with transaction.atomic():
            return self._store(annotation.claim, reviewer, values, sources, annotation, expect_span)

    def _store(
        self,
        claim: Claim,
        reviewer: AbstractBaseUser,
        values: LabelValues,
        sources: list[Source],
        picked_from: Annotation | None,
        expect_span: tuple[int, int] | None,
    ) -> GoldLabel:
        # Lock the claim: two reviewers deciding at once each replace the
        # other's label whole, never mix sources of one with values of the other.
        from claims.models.claim import Claim, ClaimChanged  # later in the package

        locked = (
            Claim.objects.select_for_update(no_key=True).filter(pk=claim.pk).only("start", "end")
        ).first()
        if locked is None:
            raise Claim.DoesNotExist(f"Claim {claim.pk} was merged away.")
        if expect_span is not None and (locked.start, locked.end) != expect_span:
            raise ClaimChanged(locked)
        gold = self.filter(claim=claim).first() or GoldLabel(claim=claim)
        gold.reviewer = reviewer
        gold.picked_from = picked_from
        values.apply_to(gold)
        gold.save()
        gold.sources.set(sources)
        return gold


class GoldLabel(models.Model):
    """The reviewer's settled label for a claim."""

    claim = models.OneToOneField("Claim", on_delete=models.PROTECT, related_name="gold")
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
