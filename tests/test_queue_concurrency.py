"""Many annotators asking for claims and saving labels at the same moment.

Each annotator is a thread with its own database connection, so the database's
own locking is what is tested (SQLite: a file, see conftest; PostgreSQL with
DATABASE_URL). Through the queue no claim may end with more than K labels.

These tests commit for real, and the database is emptied after each; the
default label set that empties with it comes back from its fixture the next
time a project copies it (Label.objects.default_set).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from claims.importing import ArticleRecord
from claims.models import (
    Annotation,
    Article,
    Claim,
    ClaimFull,
    LabelValues,
    Membership,
    Project,
    Reservation,
    Role,
)

from .conftest import client_for, make_user

ANNOTATORS = 8
K = 3


CLAIM_FIELD = re.compile(r'name="claim" value="(?P<claim>\d+)"')
BODY = " ".join(f"Officials said that event {n} happened." for n in range(12))


def build_project() -> tuple[Project, list]:
    project = Project.objects.create(name="Race", slug="race", annotations_per_claim=K)
    project.copy_default_labels()
    Article.objects.import_records(project, [ArticleRecord(title="Race", body=BODY)])
    users = []
    for n in range(ANNOTATORS):
        user = make_user(f"racer{n}")
        Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
        users.append(user)
    return project, users


def run_together(work, users) -> list[BaseException]:
    """Run ``work(user)`` in one thread per user, all released at once."""
    start = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def thread_main(user) -> None:
        try:
            start.wait()
            work(user)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=thread_main, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors


def assert_every_claim_has_exactly_k(project: Project) -> None:
    counted = dict(
        Annotation.objects.filter(project=project)
        .values_list("claim")
        .annotate(n=Count("pk"))
        .values_list("claim", "n")
    )
    stored = dict(Claim.objects.filter(project=project).values_list("pk", "annotation_count"))
    assert max(counted.values()) <= K, f"a claim got more than K labels: {counted}"
    assert counted == stored, "the stored label count drifted from the labels"
    # Enough annotators for every claim: the queue must not leave slots unused.
    assert set(counted.values()) == {K}
    assert set(counted) == set(stored)


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_never_give_a_claim_more_than_k_labels():
    project, users = build_project()
    refused: Counter[str] = Counter()

    def label_until_done(user) -> None:
        while (claim := Claim.objects.next_for(user, project)) is not None:
            try:
                claim.record_label(
                    annotator=user,
                    values=LabelValues(confidence="asserted", claim_kind="claim"),
                    form_token=uuid.uuid4(),
                )
            except ClaimFull:
                refused[user.username] += 1

    assert run_together(label_until_done, users) == []
    assert_every_claim_has_exactly_k(project)
    # Reservations kept the queue from handing out a slot twice.
    assert sum(refused.values()) == 0
    assert not Reservation.objects.filter(claim__project=project).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_annotators_through_the_label_page_never_exceed_k():
    project, users = build_project()
    url = f"/p/{project.slug}/label/"

    def label_until_done(user) -> None:
        client = client_for(user)
        for _ in range(50):
            page = client.get(url)
            assert page.status_code == 200
            # From the HTML, not response.context: the test client's context
            # capture listens to a global signal and would mix threads' pages.
            found = CLAIM_FIELD.search(page.content.decode())
            if found is None:
                assert b"Nothing left for you here" in page.content
                return
            response = client.post(
                url,
                {
                    "claim": found["claim"],
                    "confidence": "claimed",
                    "claim_kind": "claim",
                    "revision": 0,
                    "token": str(uuid.uuid4()),
                },
            )
            assert response.status_code == 302, response.content.decode()[-3000:]
        raise AssertionError(f"{user} never reached the end of the queue")

    assert run_together(label_until_done, users) == []
    assert_every_claim_has_exactly_k(project)


@pytest.mark.django_db(transaction=True)
def test_concurrent_labels_on_one_claim_without_reservations_stop_at_k():
    """Annotators who bypass the queue (a link to the claim) still cannot exceed K."""
    project, users = build_project()
    claim = project.claims.order_by("index").first()
    saved: list[str] = []

    def label_the_same_claim(user) -> None:
        try:
            Claim.objects.get(pk=claim.pk).record_label(
                annotator=user, values=LabelValues(confidence="asserted", claim_kind="claim")
            )
            saved.append(user.username)
        except ClaimFull:
            pass

    assert run_together(label_the_same_claim, users) == []
    assert len(saved) == K
    assert Annotation.objects.filter(claim=claim).count() == K
    claim.refresh_from_db()
    assert claim.annotation_count == K
