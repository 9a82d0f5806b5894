"""Sessions read with their user: one query, and every sign-out Django makes still happens."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from claims.models import UserSession

from .conftest import PASSWORD, client_for

HOME = "/"


def session_of(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_a_signed_in_request_reads_its_session_and_user_in_one_query(annotator):
    client = client_for(annotator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(HOME)
    assert response.status_code == 200
    assert response.context["user"] == annotator
    # The session's statement (on PostgreSQL run by its prepared name), and
    # no read of the user on its own (it would select the password hash).
    sessions = [
        q["sql"] for q in queries if "session_data" in q["sql"] or "wb_session_" in q["sql"]
    ]
    assert len(sessions) == 1, sessions
    users = [q["sql"] for q in queries if '"password"' in q["sql"] and q["sql"] not in sessions]
    assert users == []


def test_the_session_row_names_who_signed_in(annotator):
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": "annotator", "password": PASSWORD}).status_code
        == 302
    )
    assert session_of(client).user == annotator


def test_a_password_changed_elsewhere_signs_the_session_out(annotator):
    client = client_for(annotator)
    assert client.get(HOME).status_code == 200
    annotator.set_password("another-long-passphrase-9")
    annotator.save()
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    # Django's own get_user flushed the session.
    assert not UserSession.objects.filter(user=annotator).exists()


def test_a_deactivated_user_is_signed_out(annotator):
    client = client_for(annotator)
    annotator.is_active = False
    annotator.save()
    assert client.get(HOME).status_code == 302


def test_a_session_with_a_wrong_hash_is_not_signed_in(annotator):
    client = client_for(annotator)
    session = client.session
    session[HASH_SESSION_KEY] = "0" * 64
    session.save()
    assert client.get(HOME).status_code == 302


def test_a_session_signed_with_a_retired_secret_key_stays_signed_in(annotator):
    # Its hash does not match the user's with the current key: Django's own
    # get_user accepts it by a fallback key and stores the current hash.
    with override_settings(SECRET_KEY="an-old-secret-key-" + "x" * 40):
        client = client_for(annotator)
        old_hash = client.session[HASH_SESSION_KEY]
    with override_settings(
        SECRET_KEY="a-new-secret-key-" + "y" * 40,
        SECRET_KEY_FALLBACKS=["an-old-secret-key-" + "x" * 40],
    ):
        assert client.get(HOME).status_code == 200
        assert client.session[HASH_SESSION_KEY] != old_hash
        assert client.get(HOME).status_code == 200


def test_deleting_a_user_deletes_their_sessions(db):
    from .conftest import make_user

    someone = make_user("someone")
    client_for(someone)
    assert UserSession.objects.filter(user=someone).count() == 1
    someone.delete()
    assert not UserSession.objects.exists()


def test_an_unknown_session_cookie_is_anonymous(db):
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "x" * 32
    assert client.get(HOME).status_code == 302


def _project_reads(queries) -> list[str]:
    # Statements naming the project table, on PostgreSQL by their prepared name.
    return [
        q["sql"]
        for q in queries
        if '"claims_project" p' in q["sql"] or "wb_project" in q["sql"] or "wb_session" in q["sql"]
    ]


def test_a_project_page_reads_its_project_with_the_session(annotator, project):
    client = client_for(annotator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/p/{project.slug}/")
    assert response.status_code == 200
    reads = _project_reads(queries)
    assert len(reads) == 1, reads
    assert "session_data" in reads[0] or "wb_session_project" in reads[0]


def test_the_project_read_with_the_session_answers_for_each_users_role(
    annotator, outsider, manager, project
):
    # Read with each user's own session: a member sees it, an outsider gets a
    # 404, a member whose role is too low gets a 403, a superuser manages it.
    assert client_for(annotator).get(f"/p/{project.slug}/").status_code == 200
    assert client_for(outsider).get(f"/p/{project.slug}/").status_code == 404
    assert client_for(annotator).get(f"/p/{project.slug}/dashboard/").status_code == 403
    assert client_for(manager).get(f"/p/{project.slug}/dashboard/").status_code == 200
    outsider.is_superuser = True
    outsider.save()
    assert client_for(outsider).get(f"/p/{project.slug}/dashboard/").status_code == 200
    assert client_for(annotator).get("/p/no-such-project/").status_code == 404


def test_a_project_read_with_someone_elses_session_is_not_used(rf, annotator, outsider, project):
    from claims.sessions import SessionStore, project_read_with_session

    session = SessionStore(client_for(annotator).cookies[settings.SESSION_COOKIE_NAME].value)
    session.project_slug = project.slug
    session.load()
    assert session.project is not None and session.project.pk == project.pk
    request = rf.get(f"/p/{project.slug}/")
    request.session = session
    request.user = annotator
    assert project_read_with_session(request, project.slug) == (True, session.project)
    assert project_read_with_session(request, "another-project") == (False, None)
    request.user = outsider
    assert project_read_with_session(request, project.slug) == (False, None)
