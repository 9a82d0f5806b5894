"""Who labels what: a manager's assignments of articles to annotators."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from claims.forms import AssignmentForm, article_number
from claims.models import Article, Assignment, Role
from claims.views.access import get_project_for_user, posted_id

ASSIGNMENTS_PAGE_SIZE = 100
ARTICLE_OPTIONS = 20


@require_http_methods(["GET", "POST"])
def assignments(request: HttpRequest, slug: str) -> HttpResponse:
    """List, add and remove assignments; an assigned annotator gets only those articles."""
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = AssignmentForm(project, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if "remove" in request.POST:
            assignment = get_object_or_404(
                Assignment, article__project=project, pk=posted_id(request.POST["remove"])
            )
            assignment.delete()
            messages.success(
                request, f"“{assignment.article}” is no longer assigned to {assignment.user}."
            )
            # Back to the page of the list the button was on.
            return redirect(request.get_full_path())
        if form.is_valid():
            assignment, created = form.save()
            if created:
                messages.success(request, f"“{assignment.article}” assigned to {assignment.user}.")
            else:
                messages.info(
                    request, f"“{assignment.article}” was already assigned to {assignment.user}."
                )
            return redirect("assignments", project.slug)
    rows = (
        Assignment.objects.filter(article__project=project)
        .select_related("article", "user")
        .only("article__title", "user__username", "created_at")
        .order_by("article_id", "user__username")
    )
    page = Paginator(rows, ASSIGNMENTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "claims/assignments.html",
        {"project": project, "form": form, "page": page, "article_options": form.matches},
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


@require_GET
def article_options(request: HttpRequest, slug: str) -> HttpResponse:
    """Type-ahead for the assignment form: the project's articles matching a title or number."""
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    typed = request.GET.get("q") or request.GET.get("article") or ""
    # NUL cannot be in a title, and PostgreSQL refuses it in a query.
    typed = " ".join(typed.replace("\x00", "").split())
    articles = project.articles.only("title", "project").order_by("pk")
    if len(typed) > Article._meta.get_field("title").max_length:
        # No title holds it (and SQLite refuses a LIKE pattern that long).
        articles = articles.none()
    elif typed:
        matching = Q(title__icontains=typed)
        if (number := article_number(typed)) is not None:
            matching |= Q(pk=number)
        articles = articles.filter(matching)
    return render(
        request,
        "claims/assignments.html#article-options",
        {"article_options": articles[:ARTICLE_OPTIONS]},
    )
