"""The article page: its claims with their labels, and a manager's split, merge and adjust.

Reviewers and managers see the page; only managers see and may post the edit
forms. A plain POST redirects back to the article (POST/redirect/GET); an
htmx POST gets the claim table back. A refused edit re-renders the table with
the message next to the claim's form, never an error page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from claims.forms import AdjustClaimForm, ClaimEditForm, MergeClaimForm, SplitClaimForm
from claims.models import Article, Claim, ClaimEditError, Project, Role
from claims.views.access import get_article_for_user, get_claim_for_user, get_project_for_user


@require_GET
def article(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    return _render_article(request, project, get_article_for_user(project, pk), role)


@require_POST
def split_claim(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project, claim = _claim_to_edit(request, slug, pk)
    form = SplitClaimForm(claim, request.POST)
    return _apply(
        request,
        project,
        form,
        lambda data: claim.split_at(data["offset"], by=request.user, expect_span=data["span"]),
        f"Claim {claim.index + 1} split in two; any labels are on both parts, flagged for review.",
    )


@require_POST
def merge_claim(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project, claim = _claim_to_edit(request, slug, pk)
    form = MergeClaimForm(claim, None, request.POST)
    return _apply(
        request,
        project,
        form,
        lambda data: claim.merge_with_next(
            by=request.user, expect_span=data["span"], expect_next_span=data["next_span"]
        ),
        f"Claims {claim.index + 1} and {claim.index + 2} merged; any labels are kept, "
        "flagged for review.",
    )


@require_POST
def adjust_claim(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project, claim = _claim_to_edit(request, slug, pk)
    form = AdjustClaimForm(claim, request.POST)
    return _apply(
        request,
        project,
        form,
        lambda data: claim.adjust(
            data["start"], data["end"], by=request.user, expect_span=data["span"]
        ),
        f"Claim {claim.index + 1} has new boundaries; any labels are kept, flagged for review.",
    )


def _claim_to_edit(request: HttpRequest, slug: str, pk: int) -> tuple[Project, Claim]:
    project, _role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    return project, get_claim_for_user(project, pk)


def _apply(
    request: HttpRequest,
    project: Project,
    form: ClaimEditForm,
    edit: Callable[[dict[str, Any]], object],
    done: str,
) -> HttpResponse:
    claim = form.claim
    if form.is_valid():
        try:
            edit(form.cleaned_data)
        except ClaimEditError as refusal:
            form.add_error(None, str(refusal))
        else:
            if not request.htmx:
                messages.success(request, done)
                return redirect(f"{claim.article.get_absolute_url()}#claim-{claim.pk}")
            return _render_article(request, project, claim.article, Role.MANAGER, notice=done)
    return _render_article(
        request,
        project,
        claim.article,
        Role.MANAGER,
        refused=form,
        # htmx 2 does not swap a 4xx answer; the plain form gets the honest status.
        status=200 if request.htmx else 400,
    )


def _render_article(
    request: HttpRequest,
    project: Project,
    article: Article,
    role: str,
    *,
    refused: ClaimEditForm | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    claims = list(
        article.claims.order_by("index").prefetch_related(
            "annotations__annotator", "annotations__source_links__source"
        )
    )
    editing = role == Role.MANAGER
    rows = [
        _claim_row(claims, position, len(article.body), refused) if editing else {"claim": claim}
        for position, claim in enumerate(claims)
    ]
    shown = refused is not None and any(claim.pk == refused.claim.pk for claim in claims)
    context = {
        "project": project,
        "article": article,
        "rows": rows,
        "role": role,
        "editing": editing,
        "notice": notice,
        # A refused edit of a claim that is gone (merged meanwhile) has no row to show it in.
        "orphan_errors": refused.non_field_errors() if refused is not None and not shown else [],
    }
    template = "claims/article.html#claim-table" if request.htmx else "claims/article.html"
    return render(request, template, context, status=status)


def _claim_row(
    claims: list[Claim], position: int, body_length: int, refused: ClaimEditForm | None
) -> dict[str, Any]:
    """One claim with its three edit forms (the refused one bound, with its errors)."""
    claim = claims[position]
    following = claims[position + 1] if position + 1 < len(claims) else None
    previous = claims[position - 1] if position > 0 else None
    forms: dict[str, ClaimEditForm] = {
        "split_form": SplitClaimForm(claim),
        "merge_form": MergeClaimForm(claim, following),
        "adjust_form": AdjustClaimForm(claim),
    }
    is_refused = refused is not None and refused.claim.pk == claim.pk
    if is_refused:
        for name, form in forms.items():
            if type(form) is type(refused):
                forms[name] = refused
    return {
        "claim": claim,
        "following": following,
        "min_start": previous.end if previous else 0,
        "max_end": following.start if following else body_length,
        "open": is_refused,
        **forms,
    }
