"""Assigning articles by typing part of a title: the type-ahead, the form, and page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.importing import ArticleRecord
from claims.models import Article, Assignment, Membership, Project, Role

from .conftest import ARTICLE_BODY


def assignments_url(project) -> str:
    return f"/p/{project.slug}/assignments/"


def options_url(project) -> str:
    return f"/p/{project.slug}/assignments/articles/"


def add_articles(project, titles: list[str]) -> list[Article]:
    """Articles with these titles; each body differs, so none is skipped as a duplicate."""
    records = [
        ArticleRecord(title=title, body=f"{ARTICLE_BODY} ({n})") for n, title in enumerate(titles)
    ]
    Article.objects.import_records(project, records)
    return list(project.articles.filter(title__in=titles).order_by("pk"))


def page_queries(client, url: str, **params: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(queries)


# --- The type-ahead ----------------------------------------------------------------------


def test_type_ahead_offers_matching_titles_of_this_project_only(manager_client, project, manager):
    add_articles(project, ["Museum opens in Pyongyang", "Troops deployed", "New museum wing"])
    elsewhere = Project.objects.create(name="Elsewhere", slug="elsewhere")
    Membership.objects.create(project=elsewhere, user=manager, role=Role.MANAGER)
    add_articles(elsewhere, ["Museum closes elsewhere"])

    body = manager_client.get(options_url(project), {"q": "museum"}).content.decode()

    ours = project.articles.filter(title__icontains="museum").order_by("pk")
    assert body == "".join(f'<option value="#{a.pk} {a.title}"></option>' for a in ours)
    assert "Troops deployed" not in body
    assert "Museum closes elsewhere" not in body


def test_type_ahead_finds_an_article_by_its_number(manager_client, project, article):
    other = add_articles(project, ["Troops deployed"])[0]
    body = manager_client.get(options_url(project), {"article": f"#{other.pk}"}).content.decode()
    assert f'value="#{other.pk} Troops deployed"' in body
    assert "Museum opens" not in body


def test_type_ahead_with_text_longer_than_any_title_offers_nothing(
    manager_client, project, article, annotator_client
):
    # SQLite refuses a LIKE pattern over 50,000 bytes: a 500, before.
    long = "x" * 60_000
    response = manager_client.get(options_url(project), {"q": long})
    assert response.status_code == 200 and response.content == b""
    sources = annotator_client.get(f"/p/{project.slug}/sources/", {"q": long})
    assert sources.status_code == 200 and b"<option" not in sources.content


def test_type_ahead_is_for_managers_only(
    annotator_client, reviewer_client, outsider_client, project, article
):
    url = options_url(project)
    assert annotator_client.get(url, {"q": "Museum"}).status_code == 403
    assert reviewer_client.get(url, {"q": "Museum"}).status_code == 403
    assert outsider_client.get(url, {"q": "Museum"}).status_code == 404


def test_type_ahead_escapes_titles(manager_client, project):
    add_articles(project, ['"><script>alert(1)</script> museum'])
    body = manager_client.get(options_url(project), {"q": "museum"}).content.decode()
    assert "<script>" not in body
    assert "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; museum" in body


def test_page_offers_the_type_ahead_instead_of_every_article(manager_client, project, article):
    body = manager_client.get(assignments_url(project)).content.decode()
    assert 'list="article-options"' in body
    assert f'hx-get="{options_url(project)}"' in body
    assert '<datalist id="article-options"></datalist>' in body
    assert "Museum opens" not in body  # no article is listed until the manager types


# --- Assigning by what was typed ---------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["Museum opens", "  museum OPENS ", "#{pk} Museum opens", "#{pk}", "{pk}"],
)
def test_manager_assigns_by_typed_title_or_number(
    manager_client, project, article, annotator, typed
):
    add_articles(project, ["Troops deployed"])
    response = manager_client.post(
        assignments_url(project), {"article": typed.format(pk=article.pk), "user": annotator.pk}
    )
    assert response.status_code == 302
    assignment = Assignment.objects.get()
    assert (assignment.article, assignment.user) == (article, annotator)


def test_exact_case_wins_over_a_title_differing_only_in_case(manager_client, project, annotator):
    _, lower = add_articles(project, ["Museum opens", "museum opens"])
    manager_client.post(assignments_url(project), {"article": "museum opens", "user": annotator.pk})
    assert Assignment.objects.get().article == lower


def test_ambiguous_title_is_explained_and_its_articles_suggested(
    manager_client, project, annotator
):
    first, second = add_articles(project, ["Museum opens", "Museum opens"])
    response = manager_client.post(
        assignments_url(project), {"article": "Museum opens", "user": annotator.pk}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert f"Several articles are titled “Museum opens” (#{first.pk}, #{second.pk})" in body
    assert f'<option value="#{second.pk} Museum opens"></option>' in body
    assert not Assignment.objects.exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("Museum closes", "No article of this project is titled “Museum closes”"),
        ("#999999 Museum opens", "This project has no article #999999"),
        ("999999999999999999999", "No article of this project is titled “999999999999999999999”"),
        ("", "This field is required."),
    ],
)
def test_unknown_article_is_explained(manager_client, project, article, annotator, typed, message):
    response = manager_client.post(
        assignments_url(project), {"article": typed, "user": annotator.pk}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Assignment.objects.exists()


def test_another_projects_article_cannot_be_assigned_by_title_or_number(
    manager_client, project, annotator, manager
):
    elsewhere = Project.objects.create(name="Elsewhere", slug="elsewhere")
    foreign = add_articles(elsewhere, ["Museum closes elsewhere"])[0]
    for typed in ("Museum closes elsewhere", f"#{foreign.pk} Museum closes elsewhere"):
        response = manager_client.post(
            assignments_url(project), {"article": typed, "user": annotator.pk}
        )
        assert response.status_code == 400
    assert not Assignment.objects.exists()


# --- Size of the page --------------------------------------------------------------------


def test_queries_do_not_grow_with_the_number_of_articles(manager_client, project, annotator):
    articles = add_articles(project, [f"Report {n}" for n in range(3)])
    Assignment.objects.create(article=articles[0], user=annotator)
    few = (
        page_queries(manager_client, assignments_url(project)),
        page_queries(manager_client, options_url(project), q="Report"),
    )
    articles = add_articles(project, [f"Report {n}" for n in range(3, 30)])
    Assignment.objects.bulk_create(Assignment(article=a, user=annotator) for a in articles)
    many = (
        page_queries(manager_client, assignments_url(project)),
        page_queries(manager_client, options_url(project), q="Report"),
    )
    assert many == few


def test_page_size_does_not_grow_with_the_number_of_articles(manager_client, project):
    add_articles(project, [f"Report {n}" for n in range(3)])
    few = len(manager_client.get(assignments_url(project)).content)
    add_articles(project, [f"Report {n}" for n in range(3, 30)])
    assert len(manager_client.get(assignments_url(project)).content) == few


def test_assignment_list_is_paginated(manager_client, project, annotator, monkeypatch):
    monkeypatch.setattr("claims.views.team.ASSIGNMENTS_PAGE_SIZE", 2)
    articles = add_articles(project, ["Report 1", "Report 2", "Report 3"])
    Assignment.objects.bulk_create(Assignment(article=a, user=annotator) for a in articles)

    first = manager_client.get(assignments_url(project)).content.decode()
    second = manager_client.get(assignments_url(project), {"page": 2}).content.decode()

    assert "Report 1" in first and "Report 3" not in first
    assert "Report 3" in second and "Page 2 of 2 (3 assignments)" in second


def test_removing_an_assignment_returns_to_its_page(
    manager_client, project, annotator, monkeypatch
):
    monkeypatch.setattr("claims.views.team.ASSIGNMENTS_PAGE_SIZE", 2)
    articles = add_articles(project, ["Report 1", "Report 2", "Report 3"])
    Assignment.objects.bulk_create(Assignment(article=a, user=annotator) for a in articles)
    last = Assignment.objects.get(article=articles[2])

    response = manager_client.post(f"{assignments_url(project)}?page=2", {"remove": last.pk})

    assert response.status_code == 302
    assert response["Location"] == f"{assignments_url(project)}?page=2"
    assert not Assignment.objects.filter(pk=last.pk).exists()
