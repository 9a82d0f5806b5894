"""The dashboard for managers and reviewers: progress, label use, agreement."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from claims import charts
from claims.models import Role
from claims.project_stats import (
    ACTIVE_HOURS,
    ProjectStats,
    cached_label_figures,
)
from claims.views.access import get_project_for_user

ARTICLE_ROWS = 200


@require_GET
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    stats = ProjectStats(project)
    articles = stats.articles(limit=ARTICLE_ROWS)
    annotators = stats.annotators()
    label_figures = cached_label_figures(project)
    figures = label_figures.agreement
    confidence_use = label_figures.confidence_use
    source_use = label_figures.source_use
    article_rows = [(row, figures.by_article.get(row.article_id, {})) for row in articles]
    return render(
        request,
        "claims/dashboard.html",
        {
            "project": project,
            "role": role,
            "totals": stats.totals(),
            "article_rows": article_rows,
            "article_limit": ARTICLE_ROWS,
            "active_hours": ACTIVE_HOURS,
            "annotators": annotators,
            "confidence_use": confidence_use,
            "source_use": source_use,
            "figures": figures,
            "acceptance": label_figures.acceptance,
            "progress_chart": charts.bar_chart(
                [(row.title[:28], row.share_complete) for row in articles[:25]],
                maximum=1.0,
                percent=True,
            ),
            "annotator_chart": charts.bar_chart([(row.username, row.done) for row in annotators]),
            "confidence_chart": charts.bar_chart(confidence_use),
            "source_chart": charts.bar_chart([(name[:28], n) for name, n in source_use]),
        },
    )
