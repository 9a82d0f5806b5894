from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from claims.forms import ImportForm, MemberForm, ProjectForm
from claims.models import Annotation, Article, ImportJob, Membership, Project, Role
from claims.views.access import (
    ROLE_RANK,
    can_create_projects,
    get_project_for_user,
    posted_id,
)

ARTICLES_PAGE_SIZE = 100


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
        # A page of articles at a time, labels summed from each claim's stored
        # count: listing and joining every label took 38 s at 10,000 articles
        # and 1,000,000 labels (docs/readme-bench.md).
        articles = (
            project.articles.annotate(
                claim_count=Count("claims"),
                label_count=Coalesce(Sum("claims__annotation_count"), 0),
            )
            .only("title", "outlet", "published", "project_id")
            .order_by("pk")
        )
        page = Paginator(articles, ARTICLES_PAGE_SIZE).get_page(request.GET.get("page"))
        context["articles"] = page
        context["page"] = page
    if context["is_manager"]:
        context["import_jobs"] = project.import_jobs.defer("payload")[:10]
    return render(request, "claims/project.html", context)


@require_http_methods(["GET", "POST"])
def members(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = MemberForm(
        project, request.POST if request.method == "POST" else None, editor=request.user
    )
    if request.method == "POST":
        if "remove" in request.POST:
            membership = get_object_or_404(
                Membership, project=project, pk=posted_id(request.POST["remove"])
            )
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
            if ImportJob.too_big_for_a_request(records):
                ImportJob.objects.enqueue(project, filename, records, created_by=request.user)
                messages.info(
                    request,
                    f"{filename}: {len(records)} articles checked and queued; the import "
                    "runs in the background and this page shows when it is done.",
                )
                continue
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
