"""Every address of the workbench against every kind of visitor.

The table below states, for each URL pattern (by name), the status each
visitor must get. The first test walks the URL resolver, so a new address
without a row in the table fails here until someone decides who may see it.

Not in the table, on purpose:
- ``admin/``: Django's admin has its own staff-only login and permission
  checks, tested by Django; no workbench role makes anyone staff. One row
  below still checks that non-staff visitors are kept out of it.
- static files: served by WhiteNoise's middleware before URL resolution, so
  they have no URL pattern; they are public by design (CSS and JS only).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from claims.models import Membership, Project, Role

from .conftest import client_for, make_user
from .test_labeling import post_label

VISITORS = [
    "anonymous",
    "outsider",
    "annotator",
    "annotator2",
    "reviewer",
    "other_manager",
    "manager",
]

# Patterns not walked, with the reason above.
EXCLUDED_PREFIXES = ("admin/",)


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    statuses: tuple[int, ...]  # in the order of VISITORS
    data: dict[str, str] | None = None


# Rules (claims/views/access.py): not logged in -> 302 to the login page;
# not a member of the project -> 404 (names do not leak); a member whose role
# is too low -> 403. "annotator" labelled {claim}; "annotator2" is another
# annotator of the same project; "other_manager" manages a different project.
# Placeholders: {slug} the project, {article}, {claim}, {annotation} (annotator's label).
#
#                                                        anon outs  ann  ann2  rev  oman  man
MATRIX: dict[str, list[Row]] = {
    "login": [
        Row("GET", "/accounts/login/", (200, 200, 200, 200, 200, 200, 200)),
    ],
    "logout": [
        # Logging out changes state: GET is refused for everyone.
        Row("GET", "/accounts/logout/", (302, 405, 405, 405, 405, 405, 405)),
        Row("POST", "/accounts/logout/", (302, 302, 302, 302, 302, 302, 302)),
    ],
    "home": [
        Row("GET", "/", (302, 200, 200, 200, 200, 200, 200)),
    ],
    "project_create": [
        # Creating projects needs the claims.add_project permission (both managers have it).
        Row("GET", "/p/new/", (302, 403, 403, 403, 403, 200, 200)),
        Row("POST", "/p/new/", (302, 403, 403, 403, 403, 200, 200), {"name": ""}),
    ],
    "project": [
        Row("GET", "/p/{slug}/", (302, 404, 200, 200, 200, 404, 200)),
    ],
    "project_settings": [
        Row("GET", "/p/{slug}/settings/", (302, 404, 403, 403, 403, 404, 200)),
        Row("POST", "/p/{slug}/settings/", (302, 404, 403, 403, 403, 404, 200), {"name": ""}),
    ],
    "members": [
        Row("GET", "/p/{slug}/members/", (302, 404, 403, 403, 403, 404, 200)),
        Row(
            "POST",
            "/p/{slug}/members/",
            (302, 404, 403, 403, 403, 404, 200),
            {"username": "nobody-by-this-name", "role": "manager"},
        ),
    ],
    "import_articles": [
        Row("GET", "/p/{slug}/import/", (302, 404, 403, 403, 403, 404, 200)),
        # Invalid (a title without text): the form is shown again with the message.
        Row("POST", "/p/{slug}/import/", (302, 404, 403, 403, 403, 404, 200), {"title": "T"}),
    ],
    "article": [
        Row("GET", "/p/{slug}/articles/{article}/", (302, 404, 403, 403, 200, 404, 200)),
    ],
    # Claim edits: managers only, POST only (a GET is refused before anything else).
    "claim_split": [
        Row("GET", "/p/{slug}/claims/{claim}/split/", (302, 405, 405, 405, 405, 405, 405)),
        Row("POST", "/p/{slug}/claims/{claim}/split/", (302, 404, 403, 403, 403, 404, 400)),
    ],
    "claim_merge": [
        Row("GET", "/p/{slug}/claims/{claim}/merge/", (302, 405, 405, 405, 405, 405, 405)),
        Row(
            "POST",
            "/p/{slug}/claims/{claim}/merge/",
            (302, 404, 403, 403, 403, 404, 400),
            {"span": "damaged"},
        ),
    ],
    "claim_adjust": [
        Row("GET", "/p/{slug}/claims/{claim}/adjust/", (302, 405, 405, 405, 405, 405, 405)),
        Row("POST", "/p/{slug}/claims/{claim}/adjust/", (302, 404, 403, 403, 403, 404, 400)),
    ],
    # Review: reviewers and managers.
    "review_queue": [
        Row("GET", "/p/{slug}/review/", (302, 404, 403, 403, 200, 404, 200)),
    ],
    "claim_review": [
        Row("GET", "/p/{slug}/claims/{claim}/", (302, 404, 403, 403, 200, 404, 200)),
        # No label given: the gold form comes back with its message.
        Row("POST", "/p/{slug}/claims/{claim}/", (302, 404, 403, 403, 400, 404, 400)),
    ],
    "export_gold": [
        Row("GET", "/p/{slug}/export-gold.csv", (302, 404, 403, 403, 200, 404, 200)),
    ],
    "dashboard": [
        Row("GET", "/p/{slug}/dashboard/", (302, 404, 403, 403, 200, 404, 200)),
    ],
    # Assignments: managers only.
    "assignments": [
        Row("GET", "/p/{slug}/assignments/", (302, 404, 403, 403, 403, 404, 200)),
        Row("POST", "/p/{slug}/assignments/", (302, 404, 403, 403, 403, 404, 400)),
    ],
    "article_options": [
        Row("GET", "/p/{slug}/assignments/articles/?q=M", (302, 404, 403, 403, 403, 404, 200)),
    ],
    "label": [
        Row("GET", "/p/{slug}/label/", (302, 404, 200, 200, 200, 404, 200)),
        # A claim of the project, but nothing to save: the form is shown again.
        Row("POST", "/p/{slug}/label/", (302, 404, 400, 400, 400, 404, 400), {"claim": "{claim}"}),
    ],
    "source_options": [
        Row("GET", "/p/{slug}/sources/?q=K", (302, 404, 200, 200, 200, 404, 200)),
    ],
    "my_labels": [
        Row("GET", "/p/{slug}/my-labels/", (302, 404, 200, 200, 200, 404, 200)),
    ],
    "export_csv": [
        # Everyone in the project gets a CSV; only a manager's holds others' labels
        # (tests/test_permissions.py checks the rows).
        Row("GET", "/p/{slug}/export.csv", (302, 404, 200, 200, 200, 404, 200)),
    ],
    "export_jsonl": [
        Row("GET", "/p/{slug}/export.jsonl", (302, 404, 200, 200, 200, 404, 200)),
        # A malformed filter is refused with a message, after the access check.
        Row("GET", "/p/{slug}/export.jsonl?article=x", (302, 404, 400, 400, 400, 404, 400)),
    ],
}

# Not walked (see the module docstring), but nobody without staff status gets in.
ADMIN_ROW = Row("GET", "/admin/claims/claim/", (302, 302, 302, 302, 302, 302, 302))


def walk(patterns, prefix: str = "") -> list[tuple[str, str]]:
    """(name or route, full route) of every pattern, resolvers included recursively."""
    found: list[tuple[str, str]] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if route.startswith(EXCLUDED_PREFIXES):
            continue
        if isinstance(pattern, URLResolver):
            found += walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            found.append((pattern.name or route, route))
    return found


def test_every_url_pattern_has_a_row_in_the_matrix():
    patterns = walk(get_resolver().url_patterns)
    missing = sorted(f"{name} ({route})" for name, route in patterns if name not in MATRIX)
    assert not missing, f"Add these to MATRIX with the status for each visitor: {missing}"
    stale = sorted(set(MATRIX) - {name for name, route in patterns})
    assert not stale, f"MATRIX names patterns that no longer exist: {stale}"


def test_matrix_rows_name_a_status_for_every_visitor():
    for name, rows in MATRIX.items():
        for row in rows:
            assert len(row.statuses) == len(VISITORS), name


@pytest.fixture
def world(project, article, annotator, annotator_client, manager):
    """The project with one label by ``annotator``, and a second project run by someone else."""
    claim = article.claims.order_by("index").first()
    post_label(annotator_client, project, claim, note="mine")
    annotation = claim.annotations.get(annotator=annotator)
    other_manager = make_user("other_manager")
    other_manager.user_permissions.add(
        Permission.objects.get(codename="add_project", content_type__app_label="claims")
    )
    elsewhere = Project.objects.create(name="Elsewhere", slug="elsewhere")
    Membership.objects.create(project=elsewhere, user=other_manager, role=Role.MANAGER)
    return {
        "slug": project.slug,
        "article": article.pk,
        "claim": claim.pk,
        "annotation": annotation.pk,
        "other_manager": other_manager,
    }


def client_of(visitor: str, world: dict, request: pytest.FixtureRequest) -> Client:
    if visitor == "anonymous":
        return Client()
    if visitor == "other_manager":
        return client_for(world["other_manager"])
    return client_for(request.getfixturevalue(visitor))


def fill(template: str, world: dict) -> str:
    return template.format(**{k: v for k, v in world.items() if k != "other_manager"})


def fetch(row: Row, client: Client, world: dict):
    url = fill(row.path, world)
    if row.method == "GET":
        return url, client.get(url)
    data = {key: fill(value, world) for key, value in (row.data or {}).items()}
    return url, client.post(url, data)


@pytest.mark.parametrize("visitor", VISITORS)
def test_visitor_gets_the_status_the_matrix_states_on_every_address(visitor, world, request):
    wrong = []
    for name, rows in MATRIX.items():
        for row in rows:
            expected = row.statuses[VISITORS.index(visitor)]
            # A fresh client per row: a logout row must not log out the next one.
            url, response = fetch(row, client_of(visitor, world, request), world)
            if response.status_code != expected:
                wrong.append(f"{row.method} {url} ({name}): {response.status_code}, not {expected}")
            elif visitor == "anonymous" and expected == 302 and name != "logout":
                if not response["Location"].startswith("/accounts/login/?next="):
                    wrong.append(f"{row.method} {url}: redirected to {response['Location']}")
    assert not wrong, f"{visitor}: " + "; ".join(wrong)


@pytest.mark.parametrize("visitor", VISITORS)
def test_nobody_without_staff_status_gets_into_the_admin(visitor, world, request):
    response = client_of(visitor, world, request).get(ADMIN_ROW.path)
    assert response.status_code == ADMIN_ROW.statuses[VISITORS.index(visitor)]
    assert "/login/" in response["Location"]


def test_refused_posts_change_nothing(world, project, request):
    """A member below manager, or an outsider, posting setup forms leaves the project as it was."""
    before = (project.name, project.memberships.count(), project.articles.count())
    for visitor in ("outsider", "annotator", "reviewer", "other_manager"):
        client = client_of(visitor, world, request)
        client.post(f"/p/{project.slug}/settings/", {"name": "Taken", "slug": "taken"})
        client.post(f"/p/{project.slug}/members/", {"username": visitor, "role": "manager"})
        client.post(f"/p/{project.slug}/import/", {"title": "Planted", "body": "Planted text."})
    project.refresh_from_db()
    assert (project.name, project.memberships.count(), project.articles.count()) == before
