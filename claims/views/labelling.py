"""The annotator's labelling page: one claim at a time, the next one swapped in by htmx."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib import messages
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from claims.forms import LabelForm
from claims.hotpath import progress_figures, progress_row, progress_statement
from claims.models import (
    Annotation,
    Claim,
    ClaimChanged,
    ClaimFull,
    Project,
    SourceAlias,
    SourceKind,
    StaleLabel,
)
from claims.views.access import get_claim_for_user, get_project_for_user, posted_id

CLAIM_GONE = (
    "That claim is no longer in the project: a manager merged it into the claim before it "
    "while you had it open. Nothing was saved; here is your next claim."
)


@require_http_methods(["GET", "POST"])
def label(request: HttpRequest, slug: str) -> HttpResponse:
    """The annotator's next claim (GET), and where its form posts (POST)."""
    project, role = get_project_for_user(request, slug)
    if request.method == "POST":
        if request.POST.get("action") == "skip":
            try:
                claim = get_claim_for_user(project, request.POST.get("claim"))
            except Http404:
                messages.error(request, CLAIM_GONE)
            else:
                claim.skip(request.user)
            return _after_save(request, project)
        form = LabelForm(project, request.POST)
        if form.is_valid():
            # The claim is read with the save's other reads (Claim.objects.record_label).
            claim_id = posted_id(request.POST.get("claim"))
            if claim_id is None:
                raise Http404("No such claim.")
            try:
                Claim.objects.record_label(
                    project,
                    claim_id,
                    annotator=request.user,
                    values=form.label_values(),
                    form_token=form.cleaned_data.get("token"),
                    base_revision=form.cleaned_data.get("revision"),
                    expect_span=form.cleaned_data.get("span"),
                )
            except Claim.DoesNotExist:
                # Most likely merged into the claim before it while the form was open.
                messages.error(request, CLAIM_GONE)
                return _after_save(request, project)
            except ClaimChanged as changed:
                form.add_error(None, str(changed))
                claim = get_claim_for_user(project, changed.claim.pk)
                return _render_label(request, project, claim, form)
            except ClaimFull:
                messages.info(
                    request, "That claim got all its labels meanwhile; here is the next one."
                )
            except StaleLabel as stale:
                claim = get_claim_for_user(project, claim_id)
                return _render_label(request, project, claim, form, conflict=stale.annotation)
            return _after_save(request, project)
        claim = get_claim_for_user(project, request.POST.get("claim"))
        return _render_label(request, project, claim, form, status=200 if request.htmx else 400)
    if "claim" in request.GET:
        claim = get_claim_for_user(project, request.GET["claim"])
    else:
        return _next_claim_page(request, project)
    return _render_label(request, project, claim, _form_for(project, claim, request.user))


def _after_save(request: HttpRequest, project: Project) -> HttpResponse:
    url = reverse("label", args=[project.slug])
    if not request.htmx:
        return redirect(url)
    return push_url(_next_claim_page(request, project), url)


def _form_for(project: Project, claim: Claim, user: object | None) -> LabelForm:
    """The label form, filled with the user's own label or else the suggestions.

    ``user`` None: the claim comes from the queue, which never hands out a claim
    the user has labelled, so there is no label of theirs to look up.
    """
    annotation = None if user is None else claim.annotations.filter(annotator=user).first()
    initial: dict[str, object] = {"claim": claim.pk, "token": uuid.uuid4(), "revision": 0}
    if annotation is not None:
        initial |= {
            "revision": annotation.revision,
            "confidence": annotation.confidence,
            "claim_kind": annotation.claim_kind,
            "certainty": annotation.certainty,
            "attribution_cue": annotation.attribution_cue,
            "note": annotation.note,
        }
    else:
        initial |= {
            "confidence": claim.suggested_confidence,
            "claim_kind": claim.suggested_kind,
            "attribution_cue": claim.suggested_cue,
        }
    form = LabelForm(project, initial=initial)
    form.annotation = annotation
    return form


def _source_rows(form: LabelForm | None, claim: Claim, sources_url: str) -> list[SafeString]:
    """The source inputs to show: what was posted, the saved label, or the suggestion."""
    if form is not None and form.is_bound:
        names = form.data.getlist("source")
        kinds = form.data.getlist("source_kind")
        wordings = form.data.getlist("source_wording")
        rows = [
            {
                "name": name,
                "kind": kinds[i] if i < len(kinds) else "",
                "wording": wordings[i] if i < len(wordings) else "",
            }
            for i, name in enumerate(names)
            if name.strip()
        ]
    elif form is not None and form.annotation is not None:
        rows = [
            {"name": link.source.name, "kind": link.source.kind, "wording": link.wording}
            for link in form.annotation.source_links.select_related("source")
        ]
    else:
        rows = [
            {
                "name": source["label"],
                "kind": source.get("kind", ""),
                "wording": source.get("wording") or source["name"],
            }
            for source in claim.suggested_sources()
        ]
    rows += [{"name": "", "kind": "", "wording": ""} for _ in range(max(1, 3 - len(rows)))]
    drawn = []
    for number, row in enumerate(rows, start=1):
        key = ("source-row", number, row["name"], row["kind"], row["wording"], sources_url)
        # "n" as text: a number in a template goes through localisation.
        context = {"row": row | {"n": str(number), "kind_options": _kind_options(row["kind"])}}
        drawn.append(_drawn_once("source-row", key, context | {"sources_url": sources_url}))
    return drawn


# Fragments of the labelling page that depend only on their key (the label
# set's choices and the one selected, a source row's values), drawn once per
# process: the loop over the kinds in each source row was a quarter of the
# page's template time, the loops over the radio buttons 0.24 of its 1.36 ms,
# the source rows (mostly empty) 0.3 ms.
_DRAWN: dict[tuple[object, ...], SafeString] = {}
DRAWN_KEPT = 512


def _drawn_once(partial: str, key: tuple[object, ...], context: dict[str, object]) -> SafeString:
    html = _DRAWN.get(key)
    if html is None:
        if len(_DRAWN) >= DRAWN_KEPT:
            _DRAWN.clear()
        html = _DRAWN[key] = render_to_string(f"claims/label.html#{partial}", context)
    return html


def _kind_options(kind: str) -> SafeString:
    """The <option>s of a source row's kind list, with ``kind`` selected."""
    return _drawn_once(
        "kind-options", ("kind", kind), {"source_kinds": SourceKind.choices, "kind": kind}
    )


def _radios(form: LabelForm, name: str) -> SafeString:
    """One dimension's radio buttons, the form's value checked."""
    key = ("radios", name, tuple(form.fields[name].choices), form.choice_value(name))
    return _drawn_once(
        "radios",
        key,
        {"name": name, "radios": form.choice_rows(name), "keys": name == "confidence"},
    )


LABEL_COUNT_ANCHOR_SECONDS = 300


@dataclass
class Progress:
    done: int
    total: int
    previous_id: int | None


class _ProgressReading:
    """My label count, the project's claim count, and the claim I labelled or
    skipped just before this one (or just now): one statement of index
    look-ups (``statement``), sent with the page's other reads, and what its
    row says (``progress``)."""

    def __init__(self, project: Project, user: object, annotation: Annotation | None) -> None:
        self.project = project
        # The claim total is remembered for a while (Project.cached_claim_total):
        # counting it is what grows with the project. When it is not, it comes here.
        self.total = project.cached_claim_total()
        # My label count grows by one between two claims: count only the labels
        # since the last count (an index range) instead of all of them again
        # (4 ms at 50,000 labels). The anchor expires, so a label stored with an
        # old date (a restore) is counted within minutes.
        self.anchor_key = f"labelled:{project.pk}:{project.created_at.timestamp()}:{user.pk}"
        self.anchor = cache.get(self.anchor_key)
        self.statement = progress_statement(
            project.pk,
            user.pk,
            anchor=self.anchor[0] if self.anchor else None,
            before=annotation.created_at if annotation is not None else None,
            with_total=self.total is None,
        )

    def progress(self, figures: tuple[object, ...]) -> Progress:
        counted, latest_at, labelled_at, labelled_claim, skipped_at, skipped_claim, total = figures
        if self.total is None:
            self.project.remember_claim_total(total)
        else:
            total = self.total
        done = counted + (self.anchor[1] if self.anchor else 0)
        if latest_at is not None:
            cache.set(self.anchor_key, (latest_at, done), LABEL_COUNT_ANCHOR_SECONDS)
        previous = [
            (at, claim_id)
            for at, claim_id in ((labelled_at, labelled_claim), (skipped_at, skipped_claim))
            if at is not None
        ]
        return Progress(done=done, total=total, previous_id=max(previous)[1] if previous else None)


def _next_claim_page(request: HttpRequest, project: Project) -> HttpResponse:
    """The queue's next claim, its article's claims and the page's figures read
    together (one round trip to the server on PostgreSQL)."""
    reading = _ProgressReading(project, request.user, None)
    claim, spans, (figures,) = Claim.objects.hand_out_page(
        request.user, project, along=[reading.statement]
    )
    form = _form_for(project, claim, None) if claim is not None else None
    page = (reading.progress(progress_figures(figures[0])), spans)
    return _render_label(request, project, claim, form, page=page)


def _article_parts(current: Claim, spans: list[tuple[int, int, int]]) -> dict[str, object]:
    """The article body around the current claim, to show it in context: the
    article's claims and the text between them, before it and after it, as
    escaped HTML (``found``: the claim was among the article's claims, which a
    split made meanwhile may change).

    Drawn here rather than by a loop in the template: an article of ten claims
    is twenty parts, each a loop step, a test and a variable: 0.28 of the
    page's 1.36 ms of template time.
    """
    body = current.article.body
    before: list[str] = []
    after: list[str] = []
    side = before
    position = 0
    for claim_id, start, end in spans:
        if start > position:
            side.append(escape(body[position:start]))
        if claim_id == current.pk:
            side = after
        else:
            side.append(f'<span class="claim">{escape(body[start:end])}</span>')
        position = max(position, end)
    if position < len(body):
        side.append(escape(body[position:]))
    return {
        # Every part was escaped above.
        "before": mark_safe("".join(before)),
        "after": mark_safe("".join(after)),
        "found": side is after,
    }


def _render_label(
    request: HttpRequest,
    project: Project,
    claim: Claim | None,
    form: LabelForm | None,
    *,
    conflict: Annotation | None = None,
    status: int = 200,
    page: tuple[Progress, list[tuple[int, int, int]]] | None = None,
) -> HttpResponse:
    """The labelling page (the card alone for htmx); ``page``: its figures and
    the claim's article's claims, when they were read with the claim."""
    if page is not None:
        progress, spans = page
    else:
        reading = _ProgressReading(project, request.user, getattr(form, "annotation", None))
        figures, spans = progress_row(reading.statement, claim.article_id)
        progress = reading.progress(figures)
    context: dict[str, object] = {
        "project": project,
        "claim": claim,
        "form": form,
        "done": progress.done,
        "total": progress.total,
        "conflict": conflict,
        "previous_id": progress.previous_id,
        "label_url": reverse("label", args=[project.slug]),
    }
    if claim is not None:
        context["article"] = claim.article
        context["article_parts"] = _article_parts(claim, spans)
        # The source type-ahead's list fills when a source input is first
        # focused (source_options), not with every claim.
        sources_url = reverse("source_options", args=[project.slug])
        context["source_rows"] = _source_rows(form, claim, sources_url)
        context["editing"] = form is not None and getattr(form, "annotation", None) is not None
        if form is not None:
            context["choices"] = {
                name: _radios(form, name) for name in ("confidence", "claim_kind", "certainty")
            }
            context["confidence_keys"] = str(len(form.fields["confidence"].choices))
    template = "claims/label.html#label-card" if request.htmx else "claims/label.html"
    return render(request, template, context, status=status)


@require_GET
def source_options(request: HttpRequest, slug: str) -> HttpResponse:
    """Type-ahead for the source inputs: the project's names and aliases matching what was typed."""
    project, role = get_project_for_user(request, slug)
    typed = request.GET.get("q") or request.GET.get("source") or ""
    # NUL cannot be in a source name, and PostgreSQL refuses it in a query.
    typed = " ".join(typed.replace("\x00", "").split())
    aliases = SourceAlias.objects.filter(source__project=project)
    if len(typed) > SourceAlias._meta.get_field("alias").max_length:
        # No name or alias holds it (and SQLite refuses a LIKE pattern that long).
        aliases = aliases.none()
    elif typed:
        aliases = aliases.filter(Q(alias__icontains=typed) | Q(source__name__icontains=typed))
    options = aliases.select_related("source").order_by("alias")[:20]
    return render(
        request, "claims/label.html#source-options", {"source_options": [a.alias for a in options]}
    )


@require_GET
def my_labels(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug)
    annotations = (
        Annotation.objects.filter(project=project, annotator=request.user)
        .select_related("claim")
        .order_by("-updated_at")[:200]
    )
    return render(
        request, "claims/my_labels.html", {"project": project, "annotations": annotations}
    )
