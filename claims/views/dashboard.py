"""The dashboard for managers and reviewers: progress, label use, agreement."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from claims import charts
from claims.models import Role
from claims.project_stats import (
    ACTIVE_HOURS,
    ARTICLE_ROWS,
    REFRESH_SECONDS,
    SYNC_LABELS,
    ProjectStats,
    figures_for_dashboard,
)
from claims.views.access import get_project_for_user


@require_GET
def dashboard(request: HttpRequest, slug: str) -> HttpResponse:
    project, role = get_project_for_user(request, slug, minimum=Role.REVIEWER)
    stats = ProjectStats(project)
    totals = stats.totals()
    stored = figures_for_dashboard(project, totals)
    figures = stored.figures
    articles = stats.articles(limit=ARTICLE_ROWS)
    annotators = stats.annotators(figures)
    by_article = figures.agreement.by_article if figures else {}
    return render(
        request,
        "claims/dashboard.html",
        {
            "project": project,
            "role": role,
            "totals": totals,
            "stored": stored,
            "figures": figures,
            "refresh_seconds": REFRESH_SECONDS,
            "sync_labels": SYNC_LABELS,
            "article_rows": [(row, by_article.get(row.article_id, {})) for row in articles],
            "article_limit": ARTICLE_ROWS,
            "active_hours": ACTIVE_HOURS,
            "annotators": annotators,
            "progress_chart": charts.bar_chart(
                [(row.title[:28], row.share_complete) for row in articles[:25]],
                maximum=1.0,
                percent=True,
            ),
            "annotator_chart": charts.bar_chart([(row.username, row.done) for row in annotators]),
            "confidence_chart": charts.bar_chart(figures.confidence_use if figures else []),
            "source_chart": charts.bar_chart(
                [(name[:28], n) for name, n in (figures.source_use if figures else [])]
            ),
        },
    )
