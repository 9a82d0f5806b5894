from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from claims import export
from claims.forms import ExportFilterForm
from claims.models import Annotation, Role
from claims.views.access import get_project_for_user

CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}


@require_GET
def export_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The whole dataset for managers; an annotator or reviewer gets only their own labels."""
    return _export_annotations(request, slug, "csv")


@require_GET
def export_jsonl(request: HttpRequest, slug: str) -> HttpResponse:
    """The same rows as ``export_csv``, one JSON object per line."""
    return _export_annotations(request, slug, "jsonl")


def _export_annotations(request: HttpRequest, slug: str, fmt: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug)
    form = ExportFilterForm(project, request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "The export was not made:\n" + form.error_text() + "\n",
            content_type="text/plain; charset=utf-8",
        )
    annotations = form.filter_annotations(Annotation.objects.filter(project=project))
    # Blind labelling: whatever the filters say, only a manager sees others' labels.
    if role != Role.MANAGER:
        annotations = annotations.filter(annotator=request.user)
    lines = export.dataset_lines(
        annotations.export_rows(),
        export.ANNOTATION_COLUMNS,
        fmt=fmt,
        bom=form.cleaned_data["bom"],
        safe=form.cleaned_data["neutralise"],
    )
    response = StreamingHttpResponse(export.encode(lines), content_type=CONTENT_TYPES[fmt])
    suffix = "" if role == Role.MANAGER else f"-{request.user.get_username()}"
    response["Content-Disposition"] = f'attachment; filename="{project.slug}{suffix}.{fmt}"'
    return response
