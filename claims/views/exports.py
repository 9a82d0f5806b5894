from __future__ import annotations

from django.http import Http404, HttpRequest, StreamingHttpResponse
from django.views.decorators.http import require_GET

from claims import export
from claims.models import Annotation, Role
from claims.views.access import get_project_for_user


@require_GET
def export_csv(request: HttpRequest, slug: str) -> StreamingHttpResponse:
    """The whole dataset for managers; an annotator or reviewer gets only their own labels."""
    project, role = get_project_for_user(request, slug)
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
