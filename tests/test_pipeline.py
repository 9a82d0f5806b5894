"""PostgreSQL: the labelling loop's statements travel together, through libpq's
pipeline mode (workbench.postgresql.pipeline), in as few round trips as the
README says, and errors and lost connections end as Django's errors."""

from __future__ import annotations

import time

import pytest
from django.db import DataError, OperationalError, connection, connections, transaction

from workbench.postgresql import pipeline

from .test_labeling import label_url, post_label

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="libpq's pipeline mode is PostgreSQL's"
)


@pytest.fixture
def round_trips(monkeypatch):
    """What each round trip sent: its statements' names (or SQL), and whether
    BEGIN and COMMIT went with them."""
    sent: list[tuple[bool, list[str], bool]] = []
    real = pipeline._round_trip

    def recorded(pgconn, transformer, statements, begin, commit, encoding):
        names = [(s.prepared or s.sql).split("(")[0].rsplit("_", 1)[0] for s in statements]
        sent.append((begin, names, commit))
        return real(pgconn, transformer, statements, begin, commit, encoding)

    monkeypatch.setattr(pipeline, "_round_trip", recorded)
    return sent


@pytest.mark.django_db(transaction=True)
def test_the_labelling_page_and_a_label_take_two_and_three_round_trips(
    annotator_client, project, article, round_trips
):
    from claims.models import Annotation

    first, claim = article.claims.order_by("index")[:2]
    # A first round prepares the statements on this connection (a PREPARE in
    # a transaction begins it, and the BEGIN then goes with the PREPARE).
    assert annotator_client.get(label_url(project)).status_code == 200
    assert post_label(annotator_client, project, first).status_code == 302
    round_trips.clear()
    assert annotator_client.get(label_url(project)).status_code == 200
    # The session with the project; then progress, the queue's lock and the
    # hand-out, in one transaction committed at the pipeline's end.
    assert round_trips == [
        (False, ["wb_session_project"], False),
        (False, ["wb_progress", "wb_queue_lock", "wb_hand_out"], False),
    ]
    round_trips.clear()
    assert post_label(annotator_client, project, claim).status_code == 302
    # The session; BEGIN with the read under the claim's lock; the writes
    # (one statement) with the COMMIT.
    assert round_trips == [
        (False, ["wb_session_project"], False),
        (True, ["wb_label_state"], False),
        (False, ["wb_insert_annotation_and_3"], True),
    ]
    assert connection.connection.info.transaction_status == 0  # idle: committed
    assert Annotation.objects.get(claim=claim).revisions.count() == 1


@pytest.mark.django_db(transaction=True)
def test_in_a_callers_transaction_the_label_is_not_committed(annotator, project, article):
    from claims.models import Annotation, Claim, LabelValues

    claim = Claim.objects.next_for(annotator, project)
    values = LabelValues(confidence="asserted", claim_kind="claim", certainty="high")
    with pytest.raises(RuntimeError), transaction.atomic():
        claim.record_label(annotator=annotator, values=values)
        assert Annotation.objects.filter(claim=claim).exists()
        raise RuntimeError("the caller's transaction fails after the label")
    assert not Annotation.objects.filter(claim=claim).exists()


@pytest.mark.django_db(transaction=True)
def test_a_failing_statement_rolls_back_the_ones_sent_with_it(annotator, project, article):
    from claims.hotpath import _fetch_together
    from claims.models import Reservation

    claim = article.claims.order_by("index").first()
    insert = (
        "INSERT INTO claims_reservation (claim_id, user_id, expires_at) VALUES (%s, %s, now())",
        [claim.pk, annotator.pk],
        "test_reserve",
    )
    # The first error is raised, not the one saying the next statement did not run.
    with pytest.raises(DataError, match="division by zero"):
        _fetch_together("default", [insert, ("SELECT 1 / (%s::int - 1)", [1], "test_fail"), insert])
    assert not Reservation.objects.exists()
    assert connection.connection.info.transaction_status == 0  # idle, usable
    _fetch_together("default", [insert])
    assert Reservation.objects.get().claim == claim


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_midway_raises_and_is_replaced_after_the_request():
    from claims.hotpath import _fetch

    assert _fetch("default", "SELECT %s::int", [1], "test_one") == [(1,)]
    lost = connection.connection.info.backend_pid
    other = connections.create_connection("default")
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [lost])
        for _ in range(100):
            cursor.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [lost])
            if cursor.fetchone() is None:
                break
            time.sleep(0.02)
    other.close()
    # The request's health check was done: the statement finds the connection gone.
    connection.health_check_done = True
    with pytest.raises(OperationalError):
        pipeline.run(connection, [pipeline.Statement("SELECT 1", [], None, "SELECT 1", [])])
    connection.close_if_unusable_or_obsolete()  # as at the request's end
    assert _fetch("default", "SELECT %s::int", [2], "test_one") == [(2,)]
    assert connection.connection.info.backend_pid != lost


def test_query_logs_show_each_statement_as_its_execute(annotator_client, project, article):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert annotator_client.get(label_url(project)).status_code == 200
    executes = [q["sql"] for q in queries if q["sql"].startswith("EXECUTE wb_")]
    assert len(executes) == 4
    # The values are shown as psycopg's client-side binding writes them.
    assert f"'{project.slug}'" in executes[0]
