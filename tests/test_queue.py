"""The claim queue: who gets which claim next, reservations, and their expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from claims.importing import ArticleRecord
from claims.models import (
    Annotation,
    Assignment,
    Claim,
    ClaimFull,
    LabelValues,
    Reservation,
)

from .conftest import claims_of, client_for, make_user

LABEL = LabelValues(confidence="asserted", claim_kind="claim")


def second_article(project):
    Article = project.articles.model
    Article.objects.import_records(
        project,
        [ArticleRecord(title="Second", body="Officials said the talks failed. Nobody knows why.")],
    )
    return project.articles.get(title="Second")


def expire_reservations(claim: Claim) -> None:
    """Move the clock past the reservations on a claim (time control without sleeping)."""
    Reservation.objects.filter(claim=claim).update(expires_at=timezone.now() - timedelta(seconds=1))


def test_first_claim_is_the_first_of_the_first_article(project, article, annotator):
    assert Claim.objects.next_for(annotator, project) == claims_of(article)[0]


def test_asking_again_returns_the_claim_already_reserved(project, article, annotator):
    first = Claim.objects.next_for(annotator, project)
    assert Claim.objects.next_for(annotator, project) == first
    assert Reservation.objects.filter(user=annotator).count() == 1


def test_reservation_lasts_the_configured_minutes(project, article, annotator, settings):
    settings.CLAIM_RESERVATION_MINUTES = 3
    before = timezone.now()
    claim = Claim.objects.next_for(annotator, project)
    reservation = Reservation.objects.get(claim=claim, user=annotator)
    assert before + timedelta(minutes=3) <= reservation.expires_at
    assert reservation.expires_at <= timezone.now() + timedelta(minutes=3)


def test_labelled_and_skipped_claims_do_not_come_back(project, article, annotator):
    first, second, third = claims_of(article)[:3]
    first.record_label(annotator=annotator, values=LABEL)
    second.skip(annotator)
    assert Claim.objects.next_for(annotator, project) == third


def test_annotator_stays_in_the_article_they_work_in(project, article, annotator):
    other = second_article(project)
    # Started the second article (e.g. through a link): the queue keeps them there
    # although the first article, earlier in order, has open claims.
    claims_of(other)[0].record_label(annotator=annotator, values=LABEL)
    assert Claim.objects.next_for(annotator, project) == claims_of(other)[1]


def test_editing_an_old_label_does_not_pull_the_annotator_back(project, article, annotator):
    other = second_article(project)
    first_claim = claims_of(article)[0]
    first_claim.record_label(annotator=annotator, values=LABEL)
    claims_of(other)[0].record_label(annotator=annotator, values=LABEL)
    # An edit of the label in the first article, later in time.
    first_claim.record_label(
        annotator=annotator, values=LabelValues(confidence="claimed", claim_kind="claim")
    )
    assert Claim.objects.next_for(annotator, project) == claims_of(other)[1]


def test_after_finishing_an_article_the_next_one_follows_in_order(project, article, annotator):
    other = second_article(project)
    for claim in claims_of(article):
        claim.record_label(annotator=annotator, values=LABEL)
    assert Claim.objects.next_for(annotator, project) == claims_of(other)[0]


def test_after_an_article_the_queue_goes_on_forward_then_from_the_start(
    project, article, annotator
):
    middle = second_article(project)
    Article = project.articles.model
    Article.objects.import_records(
        project, [ArticleRecord(title="Third", body="The ministry denied it. Talks resume soon.")]
    )
    last = project.articles.get(title="Third")
    # They worked through the middle article (through links); the first one,
    # earlier in order, still has open claims.
    for claim in claims_of(middle):
        claim.record_label(annotator=annotator, values=LABEL)
    assert Claim.objects.next_for(annotator, project) == claims_of(last)[0]
    for claim in claims_of(last):
        claim.record_label(annotator=annotator, values=LABEL)
    # Past the last article: from the first again.
    assert Claim.objects.next_for(annotator, project) == claims_of(article)[0]


def test_a_claim_with_k_labels_is_not_handed_out(project, article, annotator, annotator2):
    project.annotations_per_claim = 1
    project.save()
    first = claims_of(article)[0]
    first.record_label(annotator=annotator2, values=LABEL)
    assert Claim.objects.next_for(annotator, project) == claims_of(article)[1]


def test_the_last_slot_reserved_goes_to_one_annotator_only(project, article, annotator, annotator2):
    project.annotations_per_claim = 1
    project.save()
    first = Claim.objects.next_for(annotator, project)
    assert Claim.objects.next_for(annotator2, project) == claims_of(article)[1]
    assert first == claims_of(article)[0]


def test_k_slots_let_k_annotators_work_on_one_claim(project, article, annotator, annotator2):
    assert project.annotations_per_claim == 2
    first = Claim.objects.next_for(annotator, project)
    assert Claim.objects.next_for(annotator2, project) == first
    third = make_user("annotator3")
    assert Claim.objects.next_for(third, project) == claims_of(article)[1]


def test_an_abandoned_reservation_expires_and_the_claim_goes_to_someone_else(
    project, article, annotator, annotator2
):
    project.annotations_per_claim = 1
    project.save()
    first = Claim.objects.next_for(annotator, project)
    expire_reservations(first)
    assert Claim.objects.next_for(annotator2, project) == first


def test_a_late_label_on_an_expired_and_retaken_claim_is_refused(
    project, article, annotator, annotator2
):
    project.annotations_per_claim = 1
    project.save()
    first = Claim.objects.next_for(annotator, project)
    expire_reservations(first)
    assert Claim.objects.next_for(annotator2, project) == first
    with pytest.raises(ClaimFull):
        first.record_label(annotator=annotator, values=LABEL)
    first.record_label(annotator=annotator2, values=LABEL)
    assert Annotation.objects.filter(claim=first).count() == 1


def test_a_label_without_reservation_is_taken_while_a_slot_is_free(project, article, annotator):
    claim = claims_of(article)[2]
    claim.record_label(annotator=annotator, values=LABEL)
    assert claim.annotation_count == 1  # the instance knows at once
    claim.refresh_from_db()
    assert claim.annotation_count == 1


def test_no_claim_gets_more_than_k_labels_through_record_label(
    project, article, annotator, annotator2
):
    project.annotations_per_claim = 1
    project.save()
    claim = claims_of(article)[0]
    claim.record_label(annotator=annotator, values=LABEL)
    with pytest.raises(ClaimFull):
        claim.record_label(annotator=annotator2, values=LABEL)
    claim.refresh_from_db()
    assert claim.annotation_count == 1
    assert Annotation.objects.filter(claim=claim).count() == 1


def test_labelling_uses_up_the_reservation_and_clears_expired_ones(project, article, annotator):
    first = Claim.objects.next_for(annotator, project)
    stale_claim = claims_of(article)[3]
    Reservation.objects.create(
        claim=stale_claim, user=annotator, expires_at=timezone.now() - timedelta(minutes=1)
    )
    first.record_label(annotator=annotator, values=LABEL)
    assert not Reservation.objects.filter(user=annotator).exists()


def test_a_held_claim_that_became_full_is_not_handed_out_again(
    project, article, annotator, annotator2
):
    first = Claim.objects.next_for(annotator, project)
    first.record_label(annotator=annotator2, values=LABEL)
    project.annotations_per_claim = 1
    project.save()
    assert Claim.objects.next_for(annotator, project) != first


def test_skipping_releases_the_reservation(project, article, annotator, annotator2):
    project.annotations_per_claim = 1
    project.save()
    first = Claim.objects.next_for(annotator, project)
    first.skip(annotator)
    assert Claim.objects.next_for(annotator2, project) == first


def test_assigned_annotator_gets_only_assigned_articles(project, article, annotator, annotator2):
    other = second_article(project)
    Assignment.objects.create(article=other, user=annotator)
    assert Claim.objects.next_for(annotator, project).article == other
    # Someone without assignments still works through the whole project.
    assert Claim.objects.next_for(annotator2, project).article == article


def test_nothing_left_when_every_claim_has_its_labels(project, article, annotator, annotator2):
    project.annotations_per_claim = 1
    project.save()
    for claim in claims_of(article):
        claim.record_label(annotator=annotator2, values=LABEL)
    assert Claim.objects.next_for(annotator, project) is None


def test_label_page_hands_out_and_reserves_through_the_queue(project, article, annotator):
    response = client_for(annotator).get(f"/p/{project.slug}/label/")
    assert response.status_code == 200
    reservation = Reservation.objects.get(user=annotator)
    assert reservation.claim == claims_of(article)[0]
