"""The labelling loop's hand-written statements: prepared on PostgreSQL, as written on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from claims.hotpath import _numbered

from .test_labeling import label_url, post_label


def test_placeholders_are_numbered_for_postgresql():
    named = "SELECT %(a)s, %(b)s WHERE x = %(a)s"
    assert _numbered(named, True) == ("SELECT $1, $2 WHERE x = $1", ("a", "b"))
    assert _numbered("VALUES (%s, %s, %s)", False) == ("VALUES ($1, $2, $3)", ())


def _label_page_sql(client, project) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(label_url(project)).status_code == 200
    return [q["sql"] for q in queries]


def test_the_queue_statement_runs_prepared_on_postgresql(annotator_client, project, article):
    sent = _label_page_sql(annotator_client, project)
    hand_outs = [sql for sql in sent if "wb_hand_out_" in sql or '"claims_reservation" (' in sql]
    assert len(hand_outs) == 1
    if connection.vendor == "postgresql":
        assert hand_outs[0].startswith("EXECUTE wb_hand_out_")
    else:
        assert "INSERT INTO" in hand_outs[0]


@pytest.mark.django_db(transaction=True)
def test_prepared_statements_are_prepared_again_on_a_new_connection(
    annotator_client, project, article
):
    first = article.claims.order_by("index").first()
    assert post_label(annotator_client, project, first).status_code == 302
    before = _label_page_sql(annotator_client, project)
    # A connection closed between requests (CONN_MAX_AGE, a restarted
    # database) takes its prepared statements with it.
    connection.close()
    after = _label_page_sql(annotator_client, project)
    assert len(after) == len(before)
    second = article.claims.order_by("index")[1]
    assert post_label(annotator_client, project, second).status_code == 302


def test_a_statement_with_a_null_value_is_sent_as_written(annotator, project, article):
    # A revision saved without a form token has a NULL in its insert, which
    # has no type to prepare it with.
    from claims.models import Annotation, Claim, LabelValues

    claim = Claim.objects.next_for(annotator, project)
    with CaptureQueriesContext(connection) as queries:
        claim.record_label(
            annotator=annotator,
            values=LabelValues(confidence="asserted", claim_kind="claim", certainty="high"),
        )
    inserts = [q["sql"] for q in queries if '"claims_annotationrevision"' in q["sql"]]
    assert len(inserts) == 1
    # On PostgreSQL the label's writes travel as one statement (hotpath.write),
    # here sent as written, with the NULL in it.
    assert inserts[0].startswith("WITH" if connection.vendor == "postgresql" else "INSERT INTO")
    assert "NULL" in inserts[0]
    assert Annotation.objects.get(claim=claim).revisions.get().form_token is None


def test_a_new_label_is_written_by_one_prepared_statement_on_postgresql(
    annotator_client, annotator, project, article
):
    from claims.models import Annotation

    claim = article.claims.order_by("index").first()
    assert annotator_client.get(label_url(project)).status_code == 200  # reserves it
    with CaptureQueriesContext(connection) as queries:
        response = post_label(annotator_client, project, claim, source=["KCNA"])
    assert response.status_code == 302
    # The new source and its alias are the ORM's, before the label's writes.
    writes = [
        q["sql"]
        for q in queries
        if (
            q["sql"].split()[0] in {"INSERT", "UPDATE", "DELETE", "WITH"}
            or q["sql"].startswith(("EXECUTE wb_insert_", "EXECUTE wb_count_"))
        )
        and not q["sql"].startswith(('INSERT INTO "claims_source', "EXECUTE wb_insert_source"))
    ]
    if connection.vendor == "postgresql":
        # The label, its count on the claim, the reservation it used up, its
        # source and its revision: one statement, run by the name it was
        # prepared with.
        assert [sql.split("(")[0].rsplit("_", 1)[0] for sql in writes] == [
            "EXECUTE wb_insert_annotation_and_4",
        ]
    else:
        assert [sql.split()[:3] for sql in writes] == [
            ["INSERT", "INTO", '"claims_annotation"'],
            ["UPDATE", '"claims_claim"', "SET"],
            ["DELETE", "FROM", '"claims_reservation"'],
            ["INSERT", "INTO", '"claims_annotationsource"'],
            ["INSERT", "INTO", '"claims_annotationrevision"'],
        ]
    # Every part was written.
    claim.refresh_from_db()
    assert claim.annotation_count == 1
    assert not claim.reservations.filter(user=annotator).exists()
    annotation = Annotation.objects.get(claim=claim, annotator=annotator)
    assert annotation.source_names() == ["KCNA"]
    assert annotation.revisions.get().data["sources"] == ["KCNA"]


def test_behind_a_transaction_pooler_nothing_is_prepared(annotator_client, project, article):
    # DISABLE_SERVER_SIDE_CURSORS is Django's setting for a pooler in
    # transaction mode, where a prepared statement may be gone by the next one.
    settings = connection.settings_dict
    saved = settings.get("DISABLE_SERVER_SIDE_CURSORS", False)
    settings["DISABLE_SERVER_SIDE_CURSORS"] = True
    try:
        sent = _label_page_sql(annotator_client, project)
    finally:
        settings["DISABLE_SERVER_SIDE_CURSORS"] = saved
    assert not [sql for sql in sent if sql.startswith("EXECUTE")]
    assert [sql for sql in sent if '"claims_reservation" (' in sql]


@pytest.mark.django_db(transaction=True)
def test_the_queue_lock_and_hand_out_travel_together_outside_a_transaction(
    annotator, project, article
):
    from claims.models import Claim, Reservation

    with CaptureQueriesContext(connection) as queries:
        claim = Claim.objects.next_for(annotator, project)
    sent = [q["sql"] for q in queries.captured_queries]
    if connection.vendor == "postgresql":
        # In one round trip, committed at its end: no BEGIN or COMMIT of their
        # own, the project's lock before the hand-out, which answers with the
        # claim, its article and the article's claims.
        assert [sql.split("(")[0].rsplit("_", 1)[0] for sql in sent] == [
            "EXECUTE wb_queue_lock",
            "EXECUTE wb_hand_out",
        ]
        assert connection.connection.info.transaction_status == 0  # idle: committed
    else:
        # The hand-out, then the claim with its article, then the article's claims.
        assert len(sent) == 3 and sent[0].lstrip().startswith("INSERT INTO")
    assert Reservation.objects.get(user=annotator).claim == claim


def _hold_the_queue(project) -> object:
    """Another connection holding what a hand-out waits for: the project's row
    (PostgreSQL) or the database's write lock (SQLite)."""
    if connection.vendor == "postgresql":
        import psycopg

        params = connection.get_connection_params()
        other = psycopg.connect(**{k: v for k, v in params.items() if k != "cursor_factory"})
        other.execute("SELECT 1 FROM claims_project WHERE id = %s FOR UPDATE", [project.pk])
        return other
    import sqlite3

    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    return other


@pytest.mark.django_db(transaction=True)
def test_a_hand_out_that_times_out_leaves_the_connection_usable(annotator, project, article):
    from django.db import OperationalError

    from claims.models import Claim, Reservation

    Claim.objects.next_for(annotator, project)  # connected, statements prepared
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET lock_timeout = '100ms'")
        else:
            cursor.execute("PRAGMA busy_timeout = 100")
    other = _hold_the_queue(project)
    try:
        with pytest.raises(OperationalError):
            Claim.objects.next_for(annotator, project)
    finally:
        other.rollback() if connection.vendor == "postgresql" else other.execute("ROLLBACK")
        other.close()
    try:
        claim = Claim.objects.next_for(annotator, project)
        assert claim is not None
        assert Reservation.objects.get(user=annotator).claim == claim
    finally:
        connection.close()  # the next test's connection waits as long as configured


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("commit", [True, False])
def test_a_failing_write_rolls_back_the_whole_transaction(annotator, project, article, commit):
    # On PostgreSQL the writes travel as one statement, with the COMMIT when
    # they end the block (commit=True); the duplicate below fails there, and
    # everything before it must be undone too.
    from django.db import IntegrityError, transaction

    from claims.hotpath import insert_statement, write
    from claims.models import Annotation, AnnotationSource, Source, SourceKind

    from .conftest import label

    annotation = label(article.claims.order_by("index").first(), annotator)
    source = Source.objects.resolve(project, "KCNA", SourceKind.STATE_MEDIA, created_by=None)
    with pytest.raises(IntegrityError):
        with transaction.atomic():
            Annotation.objects.filter(pk=annotation.pk).update(note="changed")
            write(
                "default",
                [
                    insert_statement(
                        [AnnotationSource(annotation=annotation, source=source, position=n)]
                    )
                    for n in range(2)
                ],
                commit=commit,
            )
    assert Annotation.objects.get(pk=annotation.pk).note == ""
    assert not AnnotationSource.objects.filter(annotation=annotation, source=source).exists()
    # The connection is usable afterwards.
    with transaction.atomic():
        write(
            "default",
            [
                insert_statement(
                    [AnnotationSource(annotation=annotation, source=source, position=0)]
                )
            ],
            commit=commit,
        )
    assert AnnotationSource.objects.filter(annotation=annotation, source=source).count() == 1


def test_the_label_page_reads_the_claim_and_its_figures_with_the_hand_out(
    annotator_client, project, article
):
    from django.utils.html import escape

    from .test_labeling import label_url

    with CaptureQueriesContext(connection) as queries:
        response = annotator_client.get(label_url(project))
    # The label set, read once per process and stamp, and the test's savepoints aside.
    sent = [
        q["sql"].strip()
        for q in queries.captured_queries
        if "SAVEPOINT" not in q["sql"] and not q["sql"].startswith('SELECT "claims_label"')
    ]
    claims = list(article.claims.order_by("start"))
    if connection.vendor == "postgresql":
        # After the session read with the project: progress, then the queue's
        # lock and the hand-out, which answers with the claim, its article and
        # the article's claims; nothing is read after it.
        assert [sql.split("(")[0].rsplit("_", 1)[0] for sql in sent] == [
            "EXECUTE wb_session_project",
            "EXECUTE wb_progress",
            "EXECUTE wb_queue_lock",
            "EXECUTE wb_hand_out",
        ]
    else:
        # The session with the project, progress, the hand-out, then the claim
        # and its article's claims.
        assert len(sent) == 5
        assert sent[0].startswith("SELECT s.session_data") and '"claims_project" p' in sent[0]
        assert sent[1].startswith("SELECT (SELECT COUNT(*)")
        assert sent[2].startswith('INSERT INTO "claims_reservation"')
        assert sent[4].startswith('SELECT id, start, "end"')
    # The page shows the first claim as the one to label, the article's other
    # claims marked in its text, as read with the hand-out.
    body = response.content.decode()
    assert f'name="claim" value="{claims[0].pk}"' in body
    for other in claims[1:]:
        assert f'<span class="claim">{escape(other.text)}</span>' in body


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own connection")
def test_on_sqlite_the_statements_skip_django_s_cursor_unless_something_watches(
    annotator, project, article, monkeypatch
):
    from django.db import IntegrityError, transaction
    from django.db.transaction import TransactionManagementError

    from claims.hotpath import _fetch_together
    from claims.models import Claim

    first = article.claims.order_by("index").first()
    statements = [
        (
            'SELECT id, "index" FROM claims_claim WHERE article_id = %(a)s ORDER BY "index"',
            {"a": article.pk},
            "named",
        ),
        ("SELECT text FROM claims_claim WHERE id = %s AND text LIKE '%%'", [first.pk], "listed"),
        ("UPDATE claims_claim SET needs_review = %s WHERE id = %s", [True, first.pk], "write"),
    ]
    seen: list[str] = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    # Watched (query logging, an execute wrapper), through Django's cursor.
    with CaptureQueriesContext(connection) as logged:
        through_django = _fetch_together("default", statements)
    with connection.execute_wrapper(watch):
        wrapped = _fetch_together("default", statements)
    assert len(logged) == 3 and len(seen) == 3
    # Else past it, with the same rows.
    monkeypatch.setattr(connection, "cursor", lambda: pytest.fail("Django's cursor was used"))
    direct = _fetch_together("default", statements)
    monkeypatch.undo()
    assert direct == through_django == wrapped
    assert direct[0] == [(c.pk, c.index) for c in article.claims.order_by("index")]
    assert direct[1] == [(first.text,)] and direct[2] == []
    assert Claim.objects.get(pk=first.pk).needs_review
    # Errors are Django's, and a broken transaction is refused as Django refuses it.
    duplicate = ("INSERT INTO claims_claim (id) VALUES (%s)", [first.pk], "duplicate")
    with transaction.atomic():
        with pytest.raises(IntegrityError):
            _fetch_together("default", [duplicate])
        connection.needs_rollback = True
        with pytest.raises(TransactionManagementError):
            _fetch_together("default", statements[:1])
