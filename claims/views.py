from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from claims import export
from claims.forms import ImportForm, LabelForm, MemberForm, ProjectForm
from claims.models import (
    Annotation,
    Article,
    Claim,
    ClaimFull,
    Membership,
    Project,
    Role,
    Skip,
    SourceAlias,
    SourceKind,
    StaleLabel,
)

ROLE_RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}


# --- Access: who may see what, decided here once per object type ----------------------


def _get_project_for_user(
    request: HttpRequest, slug: str, *, minimum: Role = Role.ANNOTATOR
) -> tuple[Project, str]:
    """The project and the user's role in it.

    Someone who is not a member gets a 404, so project names do not leak; a
    member whose role is too low for the page gets a 403.
    """
    project = get_object_or_404(Project, slug=slug)
    role = project.role_of(request.user)
    if role is None:
        raise Http404("No such project.")
    if ROLE_RANK[role] < ROLE_RANK[minimum]:
        raise PermissionDenied("Your role in this project does not allow this page.")
    return project, role


def _get_claim_for_user(project: Project, claim_id: object) -> Claim:
    """A claim of this project (the project was already checked for the user)."""
    try:
        pk = int(str(claim_id))
    except ValueError:
        raise Http404("No such claim.") from None
    claim = get_object_or_404(Claim.objects.select_related("article"), pk=pk, project=project)
    claim.project = project
    return claim


def _get_article_for_user(project: Project, article_id: int) -> Article:
    return get_object_or_404(Article, pk=article_id, project=project)


def _can_create_projects(request: HttpRequest) -> bool:
    return request.user.has_perm("claims.add_project")


# --- Home and projects ---------------------------------------------------------------


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
        {"rows": rows, "can_create": _can_create_projects(request)},
    )


@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not _can_create_projects(request):
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
    project, role = _get_project_for_user(request, slug, minimum=Role.MANAGER)
    form = ProjectForm(request.POST if request.method == "POST" else None, instance=project)
    if request.method == "POST" and form.is_valid():
        project = form.save()
        messages.success(request, "Settings saved.")
        return redirect("project", project.slug)
    return render(request, "claims/project_form.html", {"form": form, "project": project})


@require_GET
def project(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = _get_project_for_user(request, slug)
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
    project, role = _get_project_for_user(request, slug, minimum=Role.MANAGER)
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
    project, role = _get_project_for_user(request, slug, minimum=Role.MANAGER)
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
    project, role = _get_project_for_user(request, slug, minimum=Role.REVIEWER)
    article = _get_article_for_user(project, pk)
    claims = article.claims.prefetch_related(
        "annotations__annotator", "annotations__source_links__source"
    )
    return render(
        request,
        "claims/article.html",
        {"project": project, "article": article, "claims": claims, "role": role},
    )


# --- Labelling --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def label(request: HttpRequest, slug: str) -> HttpResponse:
    """The annotator's next claim (GET), and where its form posts (POST)."""
    project, role = _get_project_for_user(request, slug)
    if request.method == "POST":
        claim = _get_claim_for_user(project, request.POST.get("claim"))
        if request.POST.get("action") == "skip":
            claim.skip(request.user)
            return _after_save(request, project)
        form = LabelForm(project, request.POST)
        if form.is_valid():
            try:
                claim.record_label(
                    annotator=request.user,
                    values=form.label_values(),
                    form_token=form.cleaned_data.get("token"),
                    base_revision=form.cleaned_data.get("revision"),
                )
            except ClaimFull:
                messages.info(
                    request, "That claim got all its labels meanwhile; here is the next one."
                )
            except StaleLabel as stale:
                return _render_label(request, project, claim, form, conflict=stale.annotation)
            return _after_save(request, project)
        return _render_label(request, project, claim, form, status=200 if request.htmx else 400)
    if "claim" in request.GET:
        claim = _get_claim_for_user(project, request.GET["claim"])
    else:
        claim = Claim.objects.next_for(request.user, project)
    if claim is None:
        return _render_label(request, project, None, None)
    return _render_label(request, project, claim, _form_for(project, claim, request.user))


def _after_save(request: HttpRequest, project: Project) -> HttpResponse:
    url = reverse("label", args=[project.slug])
    if not request.htmx:
        return redirect(url)
    claim = Claim.objects.next_for(request.user, project)
    form = _form_for(project, claim, request.user) if claim else None
    return push_url(_render_label(request, project, claim, form), url)


def _form_for(project: Project, claim: Claim, user: object) -> LabelForm:
    """The label form, filled with the user's own label or else the suggestions."""
    annotation = claim.annotations.filter(annotator=user).first()
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


def _source_rows(form: LabelForm | None, claim: Claim) -> list[dict[str, str]]:
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
            {"name": source["label"], "kind": source.get("kind", ""), "wording": source["name"]}
            for source in claim.suggested_sources()
        ]
    return rows + [{"name": "", "kind": "", "wording": ""}] * max(1, 3 - len(rows))


def _previous_claim_id(project: Project, user: object, annotation: Annotation | None) -> int | None:
    """The claim the annotator labelled or skipped just before this one (or just now)."""
    annotations = Annotation.objects.filter(project=project, annotator=user)
    skips = Skip.objects.filter(claim__project=project, user=user)
    if annotation is not None:
        annotations = annotations.filter(created_at__lt=annotation.created_at)
        skips = skips.filter(created_at__lt=annotation.created_at)
    latest = (
        annotations.order_by()
        .values_list("created_at", "claim_id")
        .union(skips.order_by().values_list("created_at", "claim_id"))
        .order_by("-created_at")
        .first()
    )
    return latest[1] if latest else None


def _article_parts(current: Claim) -> list[dict[str, object]]:
    """The article body as claims and the text between them, to highlight one in context."""
    body = current.article.body
    parts: list[dict[str, object]] = []
    position = 0
    for claim_id, start, end in current.article.claims.order_by("start").values_list(
        "pk", "start", "end"
    ):
        if start > position:
            parts.append({"text": body[position:start]})
        parts.append(
            {"text": body[start:end], "claim_id": claim_id, "current": claim_id == current.pk}
        )
        position = max(position, end)
    if position < len(body):
        parts.append({"text": body[position:]})
    return parts


def _render_label(
    request: HttpRequest,
    project: Project,
    claim: Claim | None,
    form: LabelForm | None,
    *,
    conflict: Annotation | None = None,
    status: int = 200,
) -> HttpResponse:
    done = Annotation.objects.filter(project=project, annotator=request.user).count()
    total = Claim.objects.filter(project=project).count()
    context: dict[str, object] = {
        "project": project,
        "claim": claim,
        "form": form,
        "done": done,
        "total": total,
        "conflict": conflict,
        "previous_id": _previous_claim_id(project, request.user, getattr(form, "annotation", None)),
        "source_kinds": SourceKind.choices,
    }
    if claim is not None:
        context["article"] = claim.article
        context["article_parts"] = _article_parts(claim)
        context["source_rows"] = _source_rows(form, claim)
        context["source_options"] = (
            SourceAlias.objects.filter(source__project=project)
            .order_by("alias")
            .values_list("alias", flat=True)[:50]
        )
        context["editing"] = form is not None and getattr(form, "annotation", None) is not None
    template = "claims/label.html#label-card" if request.htmx else "claims/label.html"
    return render(request, template, context, status=status)


@require_GET
def source_options(request: HttpRequest, slug: str) -> HttpResponse:
    """Type-ahead for the source inputs: the project's names and aliases matching what was typed."""
    project, role = _get_project_for_user(request, slug)
    typed = " ".join((request.GET.get("q") or request.GET.get("source") or "").split())
    aliases = SourceAlias.objects.filter(source__project=project)
    if typed:
        aliases = aliases.filter(Q(alias__icontains=typed) | Q(source__name__icontains=typed))
    options = aliases.select_related("source").order_by("alias")[:20]
    return render(
        request, "claims/label.html#source-options", {"source_options": [a.alias for a in options]}
    )


@require_GET
def my_labels(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = _get_project_for_user(request, slug)
    annotations = (
        Annotation.objects.filter(project=project, annotator=request.user)
        .select_related("claim")
        .order_by("-updated_at")[:200]
    )
    return render(
        request, "claims/my_labels.html", {"project": project, "annotations": annotations}
    )


# --- Export ---------------------------------------------------------------------------


@require_GET
def export_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The whole dataset for managers; an annotator or reviewer gets only their own labels."""
    project, role = _get_project_for_user(request, slug)
    annotations = Annotation.objects.filter(project=project)
    if role != Role.MANAGER:
        annotations = annotations.filter(annotator=request.user)
    if article_id := request.GET.get("article", "").strip():
        if not article_id.isdigit():
            raise Http404("No such article.")
        annotations = annotations.filter(claim__article_id=int(article_id))
    if annotator := request.GET.get("annotator", "").strip():
        annotations = annotations.filter(annotator__username=annotator)
    lines = export.csv_lines(
        annotations.export_rows(), export.ANNOTATION_COLUMNS, bom=request.GET.get("bom") == "1"
    )
    response = StreamingHttpResponse(export.encode(lines), content_type="text/csv; charset=utf-8")
    suffix = "" if role == Role.MANAGER else f"-{request.user.get_username()}"
    response["Content-Disposition"] = f'attachment; filename="{project.slug}{suffix}.csv"'
    return response
