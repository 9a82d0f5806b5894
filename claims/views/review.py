"""The reviewer's pages: the queue, a claim's labels side by side, the gold export."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from claims import export
from claims.forms import ExportFilterForm, GoldForm, PickForm
from claims.models import (
    Annotation,
    AnnotationRevision,
    AnnotationSource,
    Claim,
    ClaimChanged,
    GoldLabel,
    Role,
    SourceKind,
)
from claims.views.access import get_claim_for_user, get_project_for_user

QUEUE_PAGE_SIZE = 50
MAX_PAGE = 100_000
CONTEXT_CHARS = 300
CLAIM_CHANGED = (
    "A manager split, merged or adjusted this claim since you opened it: it now reads as "
    "shown here. Nothing was saved; check the labels against this text and decide again."
)


@require_GET
def review_queue(request: HttpRequest, slug: str) -> HttpResponse:
    """Claims whose labels disagree or that were split or merged; ``?all=1``: all labelled."""
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    every_labelled = request.GET.get("all") == "1"
    queue = Claim.objects.for_review(project, every_labelled=every_labelled)
    # Pages without a total: counting the whole queue compares the labels of
    # every full claim of the project (0.5 s at 100,000 claims), where a page
    # stops after the claims it shows (the dashboard has the queue's size).
    try:
        number = max(1, min(int(request.GET.get("page") or 1), MAX_PAGE))
    except ValueError:
        number = 1
    start = (number - 1) * QUEUE_PAGE_SIZE
    # The page's claims first, then what is shown with them: with the article
    # joined into the queue's query, PostgreSQL misjudged how many claims the
    # label comparisons keep and scanned every article for each (1.3 s).
    ids = list(queue.values_list("pk", flat=True)[start : start + QUEUE_PAGE_SIZE + 1])
    rows = list(
        Claim.objects.filter(pk__in=ids[:QUEUE_PAGE_SIZE])
        .order_by("article_id", "index", "pk")
        .select_related("article", "gold")
        .defer("article__body")
        .prefetch_related(_annotations_with_sources())
    )
    return render(
        request,
        "claims/review_queue.html",
        {
            "project": project,
            "role": role,
            "claims": rows,
            "page_number": number,
            "previous_page": number - 1 if number > 1 else None,
            "next_page": number + 1 if len(ids) > QUEUE_PAGE_SIZE else None,
            "every_labelled": every_labelled,
        },
    )


@require_http_methods(["GET", "POST"])
def claim_review(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """One claim: every annotator's label and its history; the reviewer settles the gold label."""
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    claim = get_claim_for_user(project, pk)
    gold_form = GoldForm(project, initial=_gold_initial(claim))
    if request.method == "POST":
        if "annotation" in request.POST:
            return _take_label(request, project, claim)
        gold_form = GoldForm(project, request.POST)
        if gold_form.is_valid():
            try:
                GoldLabel.objects.settle(
                    claim,
                    reviewer=request.user,
                    values=gold_form.label_values(),
                    expect_span=gold_form.cleaned_data.get("span"),
                )
            except Claim.DoesNotExist:
                return _claim_gone(request, project)
            except ClaimChanged:
                gold_form.add_error(None, CLAIM_CHANGED)
                claim = get_claim_for_user(project, claim.pk)
            else:
                return _after_settling(request, project, claim)
    return render(
        request,
        "claims/review_claim.html",
        _claim_context(project, role, claim, gold_form),
        status=400 if gold_form.is_bound else 200,
    )


def _take_label(request: HttpRequest, project, claim: Claim) -> HttpResponse:
    """Settle the gold label with one annotator's label, as "Take … label" posts it."""
    pick = PickForm(request.POST)
    annotation = None
    if pick.is_valid():
        annotation = claim.annotations.filter(pk=pick.cleaned_data["annotation"]).first()
    if annotation is None:
        wrong = ["That label is not one of this claim's; pick one below."]
        messages.error(request, (pick.errors.get("span") or wrong)[0])
        return redirect("claim_review", project.slug, claim.pk)
    try:
        GoldLabel.objects.settle_from(
            annotation,
            reviewer=request.user,
            note=pick.cleaned_data["note"].strip(),
            expect_span=pick.cleaned_data["span"],
        )
    except Claim.DoesNotExist:
        return _claim_gone(request, project)
    except ClaimChanged:
        messages.error(request, CLAIM_CHANGED)
        return redirect("claim_review", project.slug, claim.pk)
    return _after_settling(request, project, claim)


def _claim_gone(request: HttpRequest, project) -> HttpResponse:
    messages.error(
        request,
        "A manager merged this claim into the one before it while you reviewed it; "
        "nothing was saved.",
    )
    return redirect("review_queue", project.slug)


def _after_settling(request: HttpRequest, project, claim: Claim) -> HttpResponse:
    messages.success(request, f"Gold label saved for claim {claim.index + 1} of “{claim.article}”.")
    following = Claim.objects.for_review(project).only("pk").first()
    if following is None:
        messages.info(request, "The review queue is empty.")
        return redirect("review_queue", project.slug)
    return redirect("claim_review", project.slug, following.pk)


def _annotations_with_sources() -> Prefetch:
    return Prefetch(
        "annotations",
        queryset=Annotation.objects.select_related("annotator")
        .prefetch_related(
            Prefetch("source_links", queryset=AnnotationSource.objects.select_related("source"))
        )
        .order_by("annotator__username"),
    )


def _gold_initial(claim: Claim) -> dict[str, object]:
    gold = GoldLabel.objects.filter(claim=claim).first()
    if gold is None:
        return {"claim": claim.pk}
    return {
        "claim": claim.pk,
        "confidence": gold.confidence,
        "claim_kind": gold.claim_kind,
        "attribution_cue": gold.attribution_cue,
        "note": gold.note,
    }


def _claim_context(project, role: str, claim: Claim, gold_form: GoldForm) -> dict[str, object]:
    annotations = list(
        Annotation.objects.filter(claim=claim)
        .select_related("annotator")
        .prefetch_related(
            Prefetch("source_links", queryset=AnnotationSource.objects.select_related("source"))
        )
        .order_by("annotator__username")
    )
    gold = GoldLabel.objects.filter(claim=claim).select_related("reviewer").first()
    gold_sources = list(gold.sources.order_by("name")) if gold else []
    if gold_form.is_bound:
        names = gold_form.data.getlist("source")
        kinds = gold_form.data.getlist("source_kind")
        source_rows = [
            {"name": name, "kind": kinds[i] if i < len(kinds) else ""}
            for i, name in enumerate(names)
            if name.strip()
        ]
    else:
        source_rows = [{"name": source.name, "kind": source.kind} for source in gold_sources]
    source_rows += [{"name": "", "kind": ""}] * max(1, 3 - len(source_rows))
    body = claim.article.body
    return {
        "project": project,
        "role": role,
        "claim": claim,
        "article": claim.article,
        "before": body[max(0, claim.start - CONTEXT_CHARS) : claim.start],
        "after": body[claim.end : claim.end + CONTEXT_CHARS],
        "annotations": annotations,
        "gold": gold,
        "gold_sources": gold_sources,
        "form": gold_form,
        "source_rows": source_rows,
        "source_kinds": SourceKind.choices,
        "history": _history(claim),
    }


def _history(claim: Claim) -> list[dict[str, object]]:
    """Every revision of the claim's labels, oldest first per annotator, with what it changed."""
    revisions = (
        AnnotationRevision.objects.filter(annotation__claim=claim)
        .select_related("editor", "annotation__annotator")
        .order_by("annotation__annotator__username", "annotation_id", "number")
    )
    history: list[dict[str, object]] = []
    previous: AnnotationRevision | None = None
    for revision in revisions:
        if previous is not None and previous.annotation_id != revision.annotation_id:
            previous = None
        history.append(
            {
                "revision": revision,
                "annotator": revision.annotation.annotator.get_username(),
                "changes": revision.changes_since(previous),
            }
        )
        previous = revision
    return history


@require_GET
def export_gold(request: HttpRequest, slug: str) -> HttpResponse:
    """One row per claim with its gold label and its annotators' agreement (GOLD_COLUMNS)."""
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    form = ExportFilterForm(project, request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "The export was not made:\n" + form.error_text() + "\n",
            content_type="text/plain; charset=utf-8",
        )
    claims = form.filter_claims(Claim.objects.for_review(project, every_labelled=True))
    lines = export.dataset_lines(
        claims.gold_rows(),
        export.GOLD_COLUMNS,
        bom=form.cleaned_data["bom"],
        safe=form.cleaned_data["neutralise"],
    )
    response = StreamingHttpResponse(export.encode(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{project.slug}-gold.csv"'
    return response
