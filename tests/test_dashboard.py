"""The dashboard's numbers and charts, assignments, and blind labelling on every page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, get_resolver
from django.utils import timezone

from claims import charts
from claims.models import (
    Annotation,
    Assignment,
    Claim,
)
from claims.project_stats import ProjectStats, compute_label_figures

from .conftest import claims_of, client_for, grow, label, make_user


def dashboard_url(project) -> str:
    return f"/p/{project.slug}/dashboard/"


@pytest.fixture
def labelled(project, article, annotator, annotator2):
    first, second, third = claims_of(article)[:3]
    label(first, annotator, sources=["KCNA"])
    label(first, annotator2, sources=["KCNA"])
    label(second, annotator, confidence="estimated", sources=["South Korean intelligence"])
    label(second, annotator2, confidence="claimed", sources=["KCNA"])
    label(third, annotator, confidence="unclear")
    Claim.objects.filter(pk=claims_of(article)[4].pk).update(needs_review=True)
    return project


def test_totals_count_progress_flags_and_the_review_queue(labelled, article):
    totals = ProjectStats(labelled).totals()
    n = len(claims_of(article))
    assert totals["claims"] == n
    assert totals["complete"] == 2
    assert totals["labels"] == 5
    assert totals["remaining"] == n * 2 - 5
    assert totals["flagged"] == 1
    assert totals["settled"] == 0
    # The disagreeing second claim and the flagged fifth.
    assert compute_label_figures(labelled).to_review == 2


def test_article_and_annotator_progress(labelled, article, annotator, annotator2):
    stats = ProjectStats(labelled)
    [row] = stats.articles()
    assert (row.claims, row.complete, row.labels, row.flagged) == (
        len(claims_of(article)),
        2,
        5,
        1,
    )
    people = {row.username: row for row in stats.annotators(compute_label_figures(labelled))}
    assert set(people) == {"annotator", "annotator2"}
    assert people["annotator"].done == 3
    assert people["annotator2"].done == 2
    open_claims = len(claims_of(article)) - 2
    # annotator labelled one open claim (the third), annotator2 none.
    assert people["annotator"].remaining == open_claims - 1
    assert people["annotator2"].remaining == open_claims


def test_labels_per_hour_over_the_last_active_hours(project, article, annotator):
    claims = claims_of(article)
    for claim in claims[:4]:
        label(claim, annotator)
    now = timezone.now().replace(minute=30)
    hours = [now - timedelta(hours=1)] * 3 + [now - timedelta(hours=5)]
    for annotation, created in zip(
        Annotation.objects.filter(annotator=annotator).order_by("pk"), hours, strict=True
    ):
        Annotation.objects.filter(pk=annotation.pk).update(created_at=created)
    [row] = ProjectStats(project).annotators(compute_label_figures(project))[:1]
    # Two active hours, four labels; the idle hours between do not count.
    assert row.per_hour == 2.0


def test_label_use_per_confidence_and_source(labelled):
    figures = compute_label_figures(labelled)
    use = dict(figures.confidence_use)
    assert use["Asserted"] == 2
    assert use["Estimated"] == 1
    assert use["Confirmed"] == 0
    assert [name for name, _ in figures.confidence_use][:2] == ["Confirmed", "Asserted"]
    assert figures.source_use == [("KCNA", 3), ("South Korean intelligence", 1)]


def test_dashboard_shows_numbers_charts_and_agreement(reviewer_client, labelled, article):
    response = reviewer_client.get(dashboard_url(labelled))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") == 4
    assert "<script>" not in page and "style=" not in page
    assert "Krippendorff" in page
    assert "annotator – annotator2" in page
    assert "South Korean intelligence" in page
    assert f"/p/{labelled.slug}/review/" in page
    assert re.search(r"<dt>To review</dt><dd><a [^>]+>2</a></dd>", page)


def test_dashboard_is_for_reviewers_and_managers(
    annotator_client, outsider_client, manager_client, project
):
    assert annotator_client.get(dashboard_url(project)).status_code == 403
    assert outsider_client.get(dashboard_url(project)).status_code == 404
    assert manager_client.get(dashboard_url(project)).status_code == 200


def _dashboard_queries(client, project) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(dashboard_url(project)).status_code == 200
    return len(queries)


def test_dashboard_queries_do_not_grow_with_the_project(
    manager_client, labelled, article, annotator, annotator2, django_assert_max_num_queries
):
    # A project this small has its label figures computed again by the view as
    # soon as a label changes: measure such views, before and after it grows.
    manager_client.get(dashboard_url(labelled))
    label(claims_of(article)[3], annotator2)
    small = _dashboard_queries(manager_client, labelled)
    grow(labelled, annotator, annotator2)
    assert _dashboard_queries(manager_client, labelled) == small
    label(claims_of(article)[3], annotator)
    with django_assert_max_num_queries(25):
        manager_client.get(dashboard_url(labelled))


def test_bar_chart_scales_bars_to_the_largest_value():
    chart = charts.bar_chart([("a", 10), ("b", 5), ("c", 0)], width=400, label_width=100)
    lengths = [bar.length for bar in chart.bars]
    assert lengths[0] == 400 - 100 - 56
    assert lengths[1] == lengths[0] / 2
    assert lengths[2] == 0
    assert [bar.shown for bar in chart.bars] == ["10", "5", "0"]
    assert chart.bars[1].y > chart.bars[0].y
    assert chart.height >= chart.bars[-1].y + chart.bar_height


def test_bar_chart_shares_as_percentages_against_a_fixed_maximum():
    chart = charts.bar_chart([("half", 0.5)], maximum=1.0, percent=True, width=356, label_width=100)
    assert chart.bars[0].shown == "50%"
    assert chart.bars[0].length == 100
    assert charts.bar_chart([]).bars == []


# --- Assignments -----------------------------------------------------------------------


def test_manager_assigns_and_unassigns_articles(manager_client, project, article, annotator):
    url = f"/p/{project.slug}/assignments/"
    response = manager_client.post(url, {"article": article.pk, "user": annotator.pk})
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    assert (assignment.article, assignment.user) == (article, annotator)
    assert "Museum opens" in manager_client.get(url).content.decode()
    manager_client.post(url, {"remove": assignment.pk})
    assert not Assignment.objects.exists()


def test_assigning_someone_outside_the_project_is_explained(
    manager_client, project, article, outsider
):
    response = manager_client.post(
        f"/p/{project.slug}/assignments/", {"article": article.pk, "user": outsider.pk}
    )
    assert response.status_code == 400
    assert "Pick a member of this project" in response.content.decode()
    assert not Assignment.objects.exists()


def test_only_managers_manage_assignments(reviewer_client, annotator_client, project, article):
    url = f"/p/{project.slug}/assignments/"
    assert reviewer_client.get(url).status_code == 403
    assert annotator_client.post(url, {"article": article.pk, "user": 1}).status_code == 403
    assert not Assignment.objects.exists()


# --- Blind labelling -------------------------------------------------------------------

SECRET_NOTE = "note-only-annotator-two-may-read"
SECRET_CUE = "cue-only-annotator-two-gave"


def _project_urls(project, claim_ids, article_id) -> list[str]:
    """Every GET address of the app for this project, with every claim and the article."""
    urls = ["/"]
    for pattern in get_resolver().url_patterns:
        patterns = getattr(pattern, "url_patterns", [pattern])
        for entry in patterns:
            if not isinstance(entry, URLPattern):
                continue
            route = str(entry.pattern)
            if "<slug:slug>" not in route:
                continue
            route = route.replace("<slug:slug>", project.slug)
            if "<int:pk>" in route:
                ids = claim_ids if "claims/" in route else [article_id]
                urls += ["/" + route.replace("<int:pk>", str(pk)) for pk in ids]
            else:
                urls.append("/" + route)
    label_url = f"/p/{project.slug}/label/"
    urls += [f"{label_url}?claim={pk}" for pk in claim_ids]
    urls += [f"/p/{project.slug}/sources/?q=", f"/p/{project.slug}/export.csv?annotator=annotator2"]
    return urls


def _body(response) -> str:
    if response.streaming:
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_annotators_never_see_others_labels_on_any_page(
    annotator_client, annotator, annotator2, project, article
):
    claims = claims_of(article)
    for claim in claims[:3]:
        label(claim, annotator2, confidence="speculative", note=SECRET_NOTE, cue=SECRET_CUE)
    label(claims[0], annotator, note="my own note")
    urls = _project_urls(project, [claim.pk for claim in claims], article.pk)
    reached = 0
    for url in urls:
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = annotator_client.get(url, **headers)
            if response.status_code != 200:
                assert response.status_code in (302, 400, 403, 404, 405), url
                continue
            reached += 1
            body = _body(response)
            assert SECRET_NOTE not in body, url
            assert SECRET_CUE not in body, url
    # The pages an annotator works with were really looked at.
    assert reached >= 2 * (len(claims) + 5)
    own = _body(annotator_client.get(f"/p/{project.slug}/export.csv"))
    assert "my own note" in own


# --- Memberships -----------------------------------------------------------------------


def test_manager_adds_a_member_and_changes_the_role(manager_client, project):
    newcomer = make_user("newcomer")
    url = f"/p/{project.slug}/members/"
    assert (
        manager_client.post(url, {"username": "newcomer", "role": "annotator"}).status_code == 302
    )
    assert project.role_of(newcomer) == "annotator"
    manager_client.post(url, {"username": "newcomer", "role": "reviewer"})
    assert project.memberships.get(user=newcomer).role == "reviewer"
    assert project.memberships.filter(user=newcomer).count() == 1


def test_adding_an_unknown_username_is_explained(manager_client, project):
    count = project.memberships.count()
    response = manager_client.post(
        f"/p/{project.slug}/members/", {"username": "nobody", "role": "annotator"}
    )
    assert "No account has this username" in response.content.decode()
    assert project.memberships.count() == count


def test_removing_a_member_keeps_their_labels_and_ends_their_access(
    manager_client, project, article, annotator
):
    label(claims_of(article)[0], annotator)
    membership = project.memberships.get(user=annotator)
    manager_client.post(f"/p/{project.slug}/members/", {"remove": membership.pk})
    assert project.role_of(annotator) is None
    assert Annotation.objects.filter(annotator=annotator).count() == 1
    client = client_for(annotator)
    assert client.get(f"/p/{project.slug}/label/").status_code == 404


def test_manager_cannot_remove_themselves(manager_client, manager, project):
    membership = project.memberships.get(user=manager)
    response = manager_client.post(f"/p/{project.slug}/members/", {"remove": membership.pk})
    assert response.status_code == 302
    assert project.role_of(manager) == "manager"


def test_manager_cannot_demote_themselves(manager_client, manager, project):
    response = manager_client.post(
        f"/p/{project.slug}/members/", {"username": "manager", "role": "annotator"}
    )
    assert response.status_code == 200
    assert "cannot take away your own manager role" in response.content.decode()
    assert project.role_of(manager) == "manager"
