"""Named people and a small project, shared by the feature tests."""

from __future__ import annotations

import os
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.test.utils import override_settings
from hypothesis import settings as hypothesis_settings

from claims.importing import ArticleRecord
from claims.models import Article, Claim, LabelValues, Membership, Project, Role, SourceChoice

# CI replays the same generated examples every run, so a red build points at a
# change, not at a new random draw; locally each run explores new examples.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

PASSWORD = "correct-horse-battery-staple"

ARTICLE_BODY = (
    "North Korea's leader inaugurated a museum in Pyongyang on Monday. "
    "South Korean intelligence reported around 2,000 fatalities among the troops. "
    '"Our soldiers will be remembered forever," he said, according to KCNA. '
    "The number of soldiers still deployed remains unclear.\n"
    "Analysts suspected that the missile was developed with help from Russia."
)


@pytest.fixture(autouse=True, scope="session")
def _plain_static_storage():
    """Tests render templates without running collectstatic first."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # A deliberately slow password hash costs ~0.3 s per user; tests need none of it.
    fast_hash = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with override_settings(STORAGES=storages, PASSWORD_HASHERS=fast_hash):
        yield


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """Test on an SQLite file, not in memory, when SQLite is the database.

    The queue's concurrency tests run annotators in threads, each with its own
    connection; an in-memory SQLite database is private to one connection (or,
    shared-cache, fails with "table is locked" instead of waiting). A file per
    test process keeps parallel runs (-n) apart; on PostgreSQL, pytest-django's
    suffix (_gw0, _gw1) does.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        test_file = tmp_path_factory.mktemp("database") / "test.sqlite3"
        database.setdefault("TEST", {})["NAME"] = str(test_file)


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password=PASSWORD)


@pytest.fixture
def manager(db):
    user = make_user("manager")
    user.user_permissions.add(
        Permission.objects.get(codename="add_project", content_type__app_label="claims")
    )
    return user


@pytest.fixture
def annotator(db):
    return make_user("annotator")


@pytest.fixture
def annotator2(db):
    return make_user("annotator2")


@pytest.fixture
def reviewer(db):
    return make_user("reviewer")


@pytest.fixture
def outsider(db):
    """Logged in, but a member of no project."""
    return make_user("outsider")


@pytest.fixture
def project(db, manager, annotator, annotator2, reviewer) -> Project:
    project = Project.objects.create(name="Troops", slug="troops", annotations_per_claim=2)
    project.copy_default_labels()
    for user, role in (
        (manager, Role.MANAGER),
        (annotator, Role.ANNOTATOR),
        (annotator2, Role.ANNOTATOR),
        (reviewer, Role.REVIEWER),
    ):
        Membership.objects.create(project=project, user=user, role=role)
    return project


@pytest.fixture
def article(project) -> Article:
    Article.objects.import_records(
        project,
        [
            ArticleRecord(
                title="Museum opens", body=ARTICLE_BODY, outlet="Wire", url="https://example.org/a"
            )
        ],
    )
    return project.articles.get()


def label(claim, user, confidence="asserted", kind="claim", sources=(), note="", cue=""):
    """Save a label through the model, as the labelling page does, with a fresh form token."""
    return claim.record_label(
        annotator=user,
        values=LabelValues(
            confidence=confidence,
            claim_kind=kind,
            note=note,
            attribution_cue=cue,
            sources=[SourceChoice(name=name, kind="government") for name in sources],
        ),
        form_token=uuid.uuid4(),
    )


def grow(project, annotator, annotator2) -> None:
    """Make the project bigger in every way a page might read: 8 more articles,
    2 more annotators, 30 more claims with two labels each (sources on one)."""
    Article.objects.import_records(
        project,
        [ArticleRecord(title=f"Copy {n}", body=f"{ARTICLE_BODY} Copy {n}.") for n in range(8)],
    )
    for name in ("annotator3", "annotator4"):
        project.memberships.create(user=make_user(name), role="annotator")
    for claim in Claim.objects.filter(project=project, annotation_count=0)[:30]:
        label(claim, annotator, sources=["NATO", f"Source {claim.pk}"])
        label(claim, annotator2, confidence="claimed")


def claims_of(article) -> list[Claim]:
    return list(article.claims.order_by("index"))


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def annotator_client(annotator) -> Client:
    return client_for(annotator)


@pytest.fixture
def annotator2_client(annotator2) -> Client:
    return client_for(annotator2)


@pytest.fixture
def manager_client(manager) -> Client:
    return client_for(manager)


@pytest.fixture
def reviewer_client(reviewer) -> Client:
    return client_for(reviewer)


@pytest.fixture
def outsider_client(outsider) -> Client:
    return client_for(outsider)
