from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from claims.forms import ImportForm, MemberForm, ProjectForm
from claims.models import Annotation, Article, Membership, Project, Role
from claims.views.access import (
    ROLE_RANK,
    can_create_projects,
    get_article_for_user,
    get_project_for_user,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    projects = (
        Project.objects.for_user(request.user)
        .annotate(
            total=Count("claims", distinct=True),
        )
        .order_by("name")
    )
    done = dict(
        Annotation.objects.filter(annotator=request.user)
        .values_list("project")
        .annotate(n=Count("pk"))
        .values_list("project", "n")
    )
    roles = dict(Membership.objects.filter(user=request.user).values_list("project", "role"))
    rows = [
        {
            "project": project,
            "done": done.get(project.pk, 0),
            "role": roles.get(project.pk, "manager"),
        }
        for project in projects
    ]
    return render(
        request,
        "claims/home.html",
        {"rows": rows, "can_create": can_create_projects(request)},
    )


@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not can_create_projects(request):
        raise PermissionDenied("You may not create projects.")
    form = ProjectForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            project = form.save()
            project.copy_default_labels()
            Membership.objects.create(project=project, user=request.user, role=Role.MANAGER)
        messages.success(request, f"Project “{project.name}” created. Import articles next.")
        return redirect("import_articles", project.slug)
    return render(request, "claims/project_form.html", {"form": form, "project": None})


@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = ProjectForm(request.POST if request.method == "POST" else None, instance=project)
    if request.method == "POST" and form.is_valid():
        project = form.save()
        messages.success(request, "Settings saved.")
        return redirect("project", project.slug)
    return render(request, "claims/project_form.html", {"form": form, "project": project})


@require_GET
def project(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug)
    done = Annotation.objects.filter(project=project, annotator=request.user).count()
    context = {
        "project": project,
        "role": role,
        "done": done,
        "total": project.claims.count(),
        "is_manager": role == Role.MANAGER,
        "is_reviewer": ROLE_RANK[role] >= ROLE_RANK[Role.REVIEWER],
    }
    if context["is_reviewer"]:
        context["articles"] = project.articles.annotate(
            claim_count=Count("claims", distinct=True),
            label_count=Count("claims__annotations", distinct=True),
        ).only("title", "outlet", "published", "project_id")
    return render(request, "claims/project.html", context)


@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = MemberForm(project, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if "remove" in request.POST:
            membership = get_object_or_404(Membership, project=project, pk=request.POST["remove"])
            if membership.user_id == request.user.pk:
                messages.error(request, "You cannot remove yourself from the project.")
            else:
                membership.delete()
                messages.success(request, f"{membership.user} removed.")
            return redirect("members", project.slug)
        if form.is_valid():
            membership = form.save()
            messages.success(request, f"{membership.user} is now {membership.get_role_display()}.")
            return redirect("members", project.slug)
    memberships = project.memberships.select_related("user").order_by("user__username")
    return render(
        request,
        "claims/members.html",
        {"project": project, "form": form, "memberships": memberships},
    )


@require_http_methods(["GET", "POST"])
def import_articles(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = ImportForm(request.POST if request.method == "POST" else None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        for filename, records in form.cleaned_data["batches"]:
            summary = Article.objects.import_records(project, records, imported_by=request.user)
            messages.success(request, f"{filename}: {summary}.")
            if summary.skipped_duplicates:
                messages.info(
                    request,
                    f"{filename}: already in the project, skipped: "
                    + "; ".join(summary.skipped_duplicates[:10]),
                )
        return redirect("project", project.slug)
    return render(
        request,
        "claims/import.html",
        {"project": project, "form": form, "max_mb": settings.IMPORT_MAX_BYTES // 1048576},
    )


@require_GET
def article(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    article = get_article_for_user(project, pk)
    claims = article.claims.prefetch_related(
        "annotations__annotator", "annotations__source_links__source"
    )
    return render(
        request,
        "claims/article.html",
        {"project": project, "article": article, "claims": claims, "role": role},
    )
