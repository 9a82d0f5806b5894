"""Who may see what: anonymous visitors, outsiders, annotators, reviewers, managers."""

from __future__ import annotations

import pytest
from django.test import Client

from claims.models import Project

from .test_labeling import post_label

PROJECT_PAGES = [
    "/p/{slug}/",
    "/p/{slug}/label/",
    "/p/{slug}/my-labels/",
    "/p/{slug}/sources/?q=K",
    "/p/{slug}/export.csv",
    "/p/{slug}/settings/",
    "/p/{slug}/members/",
    "/p/{slug}/import/",
    "/p/{slug}/articles/{article}/",
]
MANAGER_ONLY = {"/p/{slug}/settings/", "/p/{slug}/members/", "/p/{slug}/import/"}
REVIEWER_AND_UP = {"/p/{slug}/articles/{article}/"}


def urls(project, article):
    return [page.format(slug=project.slug, article=article.pk) for page in PROJECT_PAGES]


def test_anonymous_visitors_only_see_the_login_page(project, article):
    client = Client()
    for url in urls(project, article) + ["/", "/p/new/", "/admin/claims/claim/"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"], url
    assert client.get("/accounts/login/").status_code == 200


def test_outsiders_get_not_found_for_every_project_page(outsider_client, project, article):
    for url in urls(project, article):
        assert outsider_client.get(url).status_code == 404, url
    assert project.name not in outsider_client.get("/").content.decode()


def test_annotator_is_refused_manager_and_reviewer_pages(annotator_client, project, article):
    for page, url in zip(PROJECT_PAGES, urls(project, article), strict=True):
        expected = 403 if page in MANAGER_ONLY | REVIEWER_AND_UP else 200
        assert annotator_client.get(url).status_code == expected, url


def test_reviewer_sees_articles_but_not_setup(reviewer_client, project, article):
    for page, url in zip(PROJECT_PAGES, urls(project, article), strict=True):
        expected = 403 if page in MANAGER_ONLY else 200
        assert reviewer_client.get(url).status_code == expected, url


def test_manager_sees_every_page(manager_client, project, article):
    for url in urls(project, article):
        assert manager_client.get(url).status_code == 200, url


def test_annotator_cannot_import_or_change_members(annotator_client, project):
    response = annotator_client.post(f"/p/{project.slug}/import/", {"title": "X", "body": "Y."})
    assert response.status_code == 403
    assert not project.articles.exists()
    response = annotator_client.post(
        f"/p/{project.slug}/members/", {"username": "annotator", "role": "manager"}
    )
    assert response.status_code == 403
    assert project.memberships.get(user__username="annotator").role == "annotator"


def test_annotator_cannot_create_projects(annotator_client):
    assert annotator_client.get("/p/new/").status_code == 403
    annotator_client.post("/p/new/", {"name": "Mine", "slug": "mine", "annotations_per_claim": 2})
    assert not Project.objects.filter(slug="mine").exists()


def test_annotator_cannot_see_labels_of_others_anywhere(
    annotator_client, annotator2_client, project, article
):
    claim = article.claims.order_by("index").first()
    post_label(annotator2_client, project, claim, note="only-for-annotator2")
    for url in urls(project, article):
        response = annotator_client.get(url)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert b"only-for-annotator2" not in body, url


def test_logout_needs_a_post(annotator_client):
    assert annotator_client.get("/accounts/logout/").status_code == 405
    assert annotator_client.post("/accounts/logout/").status_code == 302
    assert annotator_client.get("/").status_code == 302


def test_csrf_is_enforced_on_label_posts(annotator, project, article):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    claim = article.claims.order_by("index").first()
    response = client.post(
        f"/p/{project.slug}/label/",
        {"claim": claim.pk, "claim_kind": "claim", "confidence": "asserted"},
    )
    assert response.status_code == 403
    assert not claim.annotations.exists()


@pytest.mark.parametrize(
    "header", ["Content-Security-Policy", "X-Frame-Options", "Referrer-Policy"]
)
def test_security_headers_on_pages(annotator_client, project, article, header):
    response = annotator_client.get(f"/p/{project.slug}/label/")
    assert header in response.headers
    if header == "Content-Security-Policy":
        assert "unsafe-inline" not in response.headers[header]
        assert "script-src 'self'" in response.headers[header]


def test_pages_have_no_inline_script(annotator_client, manager_client, project, article):
    for client in (annotator_client, manager_client):
        for url in urls(project, article) + ["/"]:
            response = client.get(url)
            if response.streaming or response.status_code != 200:
                continue
            page = response.content.decode()
            for chunk in page.split("<script")[1:]:
                assert chunk.lstrip().startswith("src="), url
            assert " onclick=" not in page and " onload=" not in page
