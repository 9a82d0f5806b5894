"""Claims (spans of an article body), the queue that hands them out, and claim editing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from claims import attribution
from claims.span_suggestion import suggest_for_span

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

    from django.contrib.auth.models import AbstractBaseUser

    from claims.hotpath import Statement
from claims.models.articles import (
    Article,
    suggestion_to_json,
)
from claims.models.labels import (
    Annotation,
    AnnotationRevision,
    AnnotationSource,
    GoldLabel,
    LabelValues,
)
from claims.models.projects import (
    Project,
)
from claims.models.sources import normalise_alias


class ClaimFull(Exception):
    """The claim already has the labels the project wants from annotators."""


class StaleLabel(Exception):
    """The annotation changed since the form was rendered."""

    def __init__(self, annotation: Annotation) -> None:
        super().__init__("This label was changed since you opened it.")
        self.annotation = annotation


class ClaimChanged(Exception):
    """The claim was split, merged or adjusted since the label's form showed it."""

    def __init__(self, claim: Claim) -> None:
        super().__init__(
            "A manager split, merged or adjusted this claim since you opened it: it now "
            "reads as shown here. Check your label against this text and save again."
        )
        self.claim = claim


class ClaimEditError(ValueError):
    """A split, merge or boundary change that cannot be made; the message says what to do."""


class ClaimQuerySet(models.QuerySet["Claim"]):
    def record_label(
        self,
        project: Project,
        claim_id: int,
        *,
        annotator: AbstractBaseUser,
        values: LabelValues,
        form_token: uuid.UUID | None = None,
        base_revision: int | None = None,
        expect_span: tuple[int, int] | None = None,
    ) -> Annotation:
        """Save the annotator's label on the project's claim ``claim_id``, keeping
        every earlier version.

        A form token seen before (double click, retried request) returns the
        annotation it created or changed without saving again. ``base_revision``
        is the revision the form was rendered from: if the annotation moved on
        since, nothing is saved and ``StaleLabel`` carries the current version.
        A new label on a claim that has its K labels, from an annotator who
        holds no reservation on it, raises ``ClaimFull``; a claim id the
        project does not have raises ``Claim.DoesNotExist``. ``expect_span``:
        the claim's (start, end) when the form showed it; if a split, merge or
        adjustment moved it since, nothing is saved and ``ClaimChanged``
        carries the claim as it is now.
        """
        arguments = (project, claim_id, annotator, values, form_token, base_revision, expect_span)
        # The COMMIT travels with the label's writes (hotpath.write). Not in a
        # caller's transaction, which goes on after us.
        commit = not connections[self.db].in_atomic_block
        try:
            with transaction.atomic(using=self.db):
                return self._record_label(*arguments, commit)
        except (IntegrityError, ClaimFull) as lost_race:
            # A concurrent request got there first while this one waited for
            # the claim's lock, and the locked query could not see what it
            # saved: PostgreSQL evaluates its subqueries in the snapshot taken
            # before the wait. The same form sent twice: report what the first
            # saved. This annotator's other tab saving a first label too (the
            # claim then looks full, or the insert collides), or another
            # annotator creating the same new source: decide once more, now
            # seeing it (usually StaleLabel: both versions are shown).
            replay = AnnotationRevision.objects.using(self.db).filter(form_token=form_token)
            if form_token is not None and (first := replay.first()) is not None:
                return first.annotation
            mine = Annotation.objects.using(self.db).filter(claim_id=claim_id, annotator=annotator)
            if isinstance(lost_race, ClaimFull) and not mine.exists():
                raise
            with transaction.atomic(using=self.db):
                return self._record_label(*arguments, commit)

    def _record_label(
        self,
        project: Project,
        claim_id: int,
        annotator: AbstractBaseUser,
        values: LabelValues,
        form_token: uuid.UUID | None,
        base_revision: int | None,
        expect_span: tuple[int, int] | None,
        commit: bool,
    ) -> Annotation:
        # Lock the claim row: the count of labels must not move until we have
        # added ours. NO KEY UPDATE lets the queue insert reservations that
        # reference this claim meanwhile (see ClaimQuerySet.next_for).
        # Everything the decision needs comes with the lock, in one query (it
        # was seven; README, Benchmarks): the claim, the state of its labels
        # and reservations, and the sources the posted names are aliases of,
        # written as SQL in claims/hotpath.py.
        # On PostgreSQL the statements of a new label travel in two round
        # trips: BEGIN with this read, which also draws the label's id, and
        # the writes with the COMMIT (hotpath.write).
        from claims.hotpath import (
            count_label_statements,
            insert,
            insert_statement,
            label_state,
            write,
        )

        using = self.db
        # The posted names, and the wordings that may be learned as aliases:
        # whether they name a source already comes with the read.
        aliases = [normalise_alias(choice.name) for choice in values.sources] + [
            normalise_alias(choice.wording) for choice in values.sources if choice.wording
        ]
        read = label_state(
            claim_id, project.pk, annotator.pk, form_token, timezone.now(), aliases, using=using
        )
        if read is None:
            raise Claim.DoesNotExist("The project has no such claim.")
        claim, state, named_sources = read
        claim.project = project
        if state["replayed"] is not None:
            return Annotation.objects.using(using).get(pk=state["replayed"])
        if expect_span is not None and (claim.start, claim.end) != expect_span:
            raise ClaimChanged(claim)
        count = claim.annotation_count
        annotation = (
            None
            if state["mine"] is None
            else Annotation.objects.using(using).select_for_update().get(pk=state["mine"])
        )
        if annotation is None:
            reserved_by_me = state["reserved_by_me"]
            others = state["reserved_by_others"]
            k = project.annotations_per_claim
            if count >= k or (not reserved_by_me and count + others >= k):
                raise ClaimFull("This claim already has all the labels it needs.")
            annotation = Annotation(
                pk=state["next_id"], project=project, claim=claim, annotator=annotator, revision=1
            )
            values.apply_to(annotation)
            reason = AnnotationRevision.Reason.CREATED
        else:
            if base_revision is not None and base_revision != annotation.revision:
                raise StaleLabel(annotation)
            annotation.project = project
            values.apply_to(annotation)
            annotation.revision += 1
            annotation.save()
            annotation.source_links.all().delete()
            reason = AnnotationRevision.Reason.EDITED
        # What the ORM does (new sources, new aliases, a skip dropped) comes
        # first: from here on, only statements whose row counts nothing reads.
        sources = annotation.resolve_sources(values.sources, named_sources)
        annotation.learn_wordings(sources, claim.text, named_sources)
        if state["skipped"]:
            Skip.objects.using(using).filter(claim=claim, user=annotator).delete()
        # The writes go as one statement on PostgreSQL (hotpath.write).
        writes = []
        if reason == AnnotationRevision.Reason.CREATED:
            if annotation.pk is None:
                # SQLite: the label's id comes back from its insert.
                insert([annotation], using=using)
            else:
                # With its id from the read (PostgreSQL), the insert reads nothing back.
                writes.append(insert_statement([annotation], using))
            # The reservation is used up; expired ones of this user only take room.
            writes += count_label_statements(
                claim.pk,
                annotator.pk,
                timezone.now() if state["reservations_to_drop"] else None,
                using=using,
            )
            claim.annotation_count = count + 1
        if links := annotation.source_links_for(sources):
            writes.append(insert_statement(links, using))
        revision = AnnotationRevision(
            annotation=annotation,
            number=annotation.revision,
            editor=annotator,
            reason=reason,
            data=annotation.snapshot([source.name for _, source in sources]),
            form_token=form_token,
        )
        writes.append(insert_statement([revision], using))
        # Nothing may run after the writes: with ``commit`` they end the transaction.
        write(using, writes, commit=commit)
        return annotation

    def insert_suggested(
        self,
        suggested: Iterable[tuple[Article, list[attribution.ClaimSuggestion]]],
        *,
        using: str = "default",
    ) -> int:
        """Insert the claims of saved articles from the text engine's suggestions.

        What ``bulk_create(article.build_claims())`` does, for imports: one
        prepared statement run for every row, without building a model
        instance per claim, which was half the importing process's time. Fields
        not named here get their default, so a field added to Claim needs no
        change. Returns the number of claims inserted.
        """
        connection = connections[using]
        now = timezone.now()
        named = ("project", "article", "index", "start", "end", "text", "suggestion", "created_at")
        fields = [
            f
            for f in Claim._meta.concrete_fields
            if not f.primary_key and (f.name in named or f.db_default is models.NOT_PROVIDED)
        ]
        defaults = {
            f.name: f.get_db_prep_save(f.get_default(), connection)
            for f in fields
            if f.name not in named
        }
        created_at = Claim._meta.get_field("created_at").get_db_prep_save(now, connection)
        suggestion_field = Claim._meta.get_field("suggestion")
        rows = []
        for article, suggestions in suggested:
            for index, found in enumerate(suggestions):
                values = {
                    **defaults,
                    "project": article.project_id,
                    "article": article.pk,
                    "index": index,
                    "start": found.start,
                    "end": found.end,
                    "text": found.text,
                    "suggestion": suggestion_field.get_db_prep_save(
                        suggestion_to_json(found), connection
                    ),
                    "created_at": created_at,
                }
                rows.append([values[f.name] for f in fields])
        if rows:
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
            placeholders = ", ".join(["%s"] * len(fields))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {connection.ops.quote_name(Claim._meta.db_table)} "
                    f"({columns}) VALUES ({placeholders})",
                    rows,
                )
        return len(rows)

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
        # Each claim's labels are compared where the claim is read (index
        # look-ups of its K labels), so a page of the queue stops after the
        # claims it shows: grouping every label of the project's full claims
        # first grew with the project (0.7 s at 100,000 claims, more as they
        # fill). Sources differ unless every label holds every source named on
        # the claim: links == sources x labels (a label names a source at most
        # once).
        labels = Annotation.objects.filter(claim=OuterRef("pk")).order_by().values("claim")
        links = (
            AnnotationSource.objects.filter(annotation__claim=OuterRef("pk"))
            .order_by()
            .values("annotation__claim")
        )

        def counted(rows: models.QuerySet, what: str, *, distinct: bool = True) -> Subquery:
            return Subquery(rows.annotate(n=Count(what, distinct=distinct)).values("n"))

        differ = (
            Q(confidences__gt=1)
            | Q(kinds__gt=1)
            | Q(links__lt=F("sources") * F("labels"), links__isnull=False)
        )
        return (
            claims.exclude(Exists(GoldLabel.objects.filter(claim=OuterRef("pk"))))
            .alias(
                confidences=counted(labels, "confidence"),
                kinds=counted(labels, "claim_kind"),
                labels=counted(labels, "pk", distinct=False),
                links=counted(links, "pk", distinct=False),
                sources=counted(links, "source", distinct=True),
            )
            .filter(
                Q(needs_review=True)
                | Q(annotation_count__gte=project.annotations_per_claim) & differ
            )
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
        for claim in (
            self.order_by("article_id", "index", "pk")
            .values_list(*columns)
            .iterator(chunk_size=chunk_size)
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
        in the article the user last worked in, then in the articles after it
        in article and claim order, then from the first article again.
        The reservation keeps two annotators asking at once from both taking
        the last slot; it expires by itself.
        """
        return self.hand_out_page(user, project)[0]

    def hand_out_page(
        self, user: AbstractBaseUser, project: Project, along: Sequence[Statement] = ()
    ) -> tuple[Claim | None, list[tuple[int, int, int]], list[list[tuple[Any, ...]]]]:
        """``next_for``, with what the labelling page reads with the claim: its
        article's claims as (id, start, end) in text order, and the rows of the
        statements ``along`` (``claims.hotpath.hand_out``)."""
        from claims.hotpath import hand_out

        now = timezone.now()
        return hand_out(project, user.pk, now, now + _reservation_span(), self.db, along=along)


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
        """Save the annotator's label on this claim (``ClaimQuerySet.record_label``)."""
        annotation = Claim.objects.db_manager(self._state.db).record_label(
            self.project,
            self.pk,
            annotator=annotator,
            values=values,
            form_token=form_token,
            base_revision=base_revision,
        )
        if Annotation.claim.is_cached(annotation):  # a new label: the count read with it
            self.annotation_count = annotation.claim.annotation_count
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

    # Indexed by the unique (claim, user) and reservation_live, which begin with it.
    claim = models.ForeignKey(
        Claim, on_delete=models.CASCADE, related_name="reservations", db_index=False
    )
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
