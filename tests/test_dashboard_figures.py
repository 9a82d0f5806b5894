"""The dashboard's figures from every label: stored for every process, shown with their time,
and computed again by the rule: at once in a small project, by the background worker
within a minute of a change in a large one."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from claims import project_stats
from claims.models import Annotation, ProjectFigures
from claims.project_stats import (
    CHECK_SECONDS,
    REFRESH_SECONDS,
    ProjectStats,
    compute_label_figures,
    refresh_due_figures,
    refresh_figures,
)

from .conftest import claims_of, grow, label


@pytest.fixture
def large(monkeypatch):
    """Behave as a project too large to compute its label figures during a request."""
    monkeypatch.setattr(project_stats, "SYNC_LABELS", 0)


@pytest.fixture
def labelled(project, article, annotator, annotator2):
    first, second = claims_of(article)[:2]
    label(first, annotator, sources=["KCNA"])
    label(first, annotator2, sources=["KCNA"])
    label(second, annotator, confidence="estimated")
    return project


def page(client, project) -> str:
    response = client.get(f"/p/{project.slug}/dashboard/")
    assert response.status_code == 200
    return response.content.decode()


def age_notice(html: str) -> str:
    found = re.search(r'<p class="muted" id="figures-age">(.*?)</p>', html, re.S)
    assert found, "the page says how old its figures are"
    return " ".join(found.group(1).split())


def shown_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


def dashboard_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        page(client, project)
    return len(queries)


def test_a_small_project_shows_new_figures_as_soon_as_a_label_changes(
    manager_client, labelled, article, annotator2
):
    assert "from 3 labels" in age_notice(page(manager_client, labelled))
    label(claims_of(article)[1], annotator2, confidence="claimed")
    notice = age_notice(page(manager_client, labelled))
    assert "from 4 labels" in notice
    assert "No label has changed since" in notice
    assert shown_time(ProjectFigures.objects.get().computed_at) in notice


def test_a_large_project_shows_its_stored_figures_and_their_time_after_a_label_change(
    large, manager_client, labelled, article, annotator2, django_assert_max_num_queries
):
    stored = refresh_figures(labelled)
    label(claims_of(article)[1], annotator2, confidence="claimed")
    # Another process's memory is not involved: the figures are in the database.
    cache.clear()
    with django_assert_max_num_queries(10):
        html = page(manager_client, labelled)
    notice = age_notice(html)
    assert "from 3 labels" in notice
    assert "as of <time datetime=" in notice
    assert shown_time(stored.computed_at) in notice
    assert "Labels have changed since" in notice
    assert "<dt>Labels given</dt><dd>4</dd>" in html, "the totals are live"
    # The view did not compute them again.
    assert ProjectFigures.objects.get().computed_at == stored.computed_at


def test_the_worker_computes_changed_figures_when_they_are_a_minute_old(
    large, manager_client, labelled, article, annotator2
):
    stored = refresh_figures(labelled)
    label(claims_of(article)[1], annotator2, confidence="claimed")
    too_soon = stored.computed_at + timedelta(seconds=REFRESH_SECONDS - 1)
    assert refresh_due_figures(now=too_soon) is None
    assert ProjectFigures.objects.get().labels == 3
    due = stored.computed_at + timedelta(seconds=REFRESH_SECONDS)
    assert refresh_due_figures(now=due) == labelled
    notice = age_notice(page(manager_client, labelled))
    assert "from 4 labels" in notice
    assert "No label has changed since" in notice
    assert ProjectFigures.objects.get().computed_at > stored.computed_at


def test_the_worker_leaves_unchanged_figures_alone_and_looks_again_later(
    large, labelled, article, annotator2
):
    stored = refresh_figures(labelled)
    later = stored.computed_at + timedelta(minutes=5)
    assert refresh_due_figures(now=later) is None
    row = ProjectFigures.objects.get()
    assert (row.computed_at, row.checked_at) == (stored.computed_at, later)
    label(claims_of(article)[1], annotator2, confidence="claimed")
    assert refresh_due_figures(now=later + timedelta(seconds=CHECK_SECONDS - 1)) is None
    assert refresh_due_figures(now=later + timedelta(seconds=CHECK_SECONDS)) == labelled
    assert ProjectFigures.objects.get().labels == 4


def test_a_large_project_seen_for_the_first_time_says_its_figures_are_coming(
    large, manager_client, labelled
):
    html = page(manager_client, labelled)
    assert "for the first time now" in age_notice(html)
    assert not ProjectFigures.objects.exists()
    # The live parts are there meanwhile: every label counted.
    assert re.search(r"<td>annotator</td><td>2</td>", html)
    call_command("process_imports", "--once", stdout=io.StringIO())
    assert "from 3 labels" in age_notice(page(manager_client, labelled))


def test_annotators_labels_are_live_between_refreshes(
    large, labelled, article, annotator, annotator2
):
    # Labels from two hours ago are in the stored counts, later ones are counted live.
    earlier = timezone.now() - timedelta(hours=2)
    Annotation.objects.update(created_at=earlier, updated_at=earlier)
    figures = refresh_figures(labelled).figures
    assert figures.annotators[annotator.pk].labels == 2
    for claim in claims_of(article)[2:4]:
        newest = label(claim, annotator2, confidence="claimed")
    label(claims_of(article)[1], annotator, confidence="claimed")  # an edit is no new label
    people = {row.username: row for row in ProjectStats(labelled).annotators(figures)}
    assert people["annotator"].done == Annotation.objects.filter(annotator=annotator).count() == 2
    assert people["annotator2"].done == Annotation.objects.filter(annotator=annotator2).count() == 3
    assert people["annotator2"].last_label == newest.created_at


def test_dashboard_queries_after_a_label_save_do_not_grow_with_the_project(
    large, manager_client, labelled, article, annotator, annotator2
):
    refresh_figures(labelled)
    label(claims_of(article)[2], annotator2)
    small = dashboard_queries(manager_client, labelled)
    grow(labelled, annotator, annotator2)
    refresh_figures(labelled)
    label(claims_of(article)[3], annotator2)
    assert dashboard_queries(manager_client, labelled) == small <= 10


def test_acceptance_from_the_label_rows_equals_the_projects_own_count(
    project, article, annotator, annotator2
):
    claims = claims_of(article)
    for claim in claims:
        claim.project = project
        suggested = [source["label"] for source in claim.suggested_sources()]
        label(claim, annotator, confidence=claim.suggested_confidence, sources=suggested)
    label(claims[1], annotator2, confidence="speculative", sources=["KCNA"])
    accepted = compute_label_figures(project).acceptance
    assert accepted == project.suggestion_acceptance()
    assert (accepted.labels, accepted.both_kept) == (len(claims) + 1, len(claims))


def test_figures_of_a_later_read_are_not_replaced_by_an_earlier_one(labelled):
    refresh_figures(labelled)
    later = timezone.now() + timedelta(minutes=1)
    ProjectFigures.objects.update(computed_at=later)
    refresh_figures(labelled)
    assert ProjectFigures.objects.get().computed_at == later
