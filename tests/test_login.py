"""Logging in and out: throttled failures, password rules, session lifetime, logout by POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.test import Client, override_settings

from claims.models import UserSession

from .conftest import PASSWORD

LOGIN = "/accounts/login/"


def log_in(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def fail_until_locked(client: Client, username: str) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, username, "wrong-password")


def test_right_password_logs_in_and_wrong_one_says_so(annotator):
    client = Client()
    response = log_in(client, "annotator", "wrong-password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302
    response = log_in(client, "annotator", PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_repeated_failures_lock_the_login_with_a_clear_message(annotator):
    client = Client()
    fail_until_locked(client, "annotator")
    # Even the right password is refused now, with the lockout page.
    response = log_in(client, "annotator", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert f"After {settings.AXES_FAILURE_LIMIT} wrong passwords" in page
    assert "“annotator”" in page
    assert client.get("/").status_code == 302  # not logged in
    attempt = AccessAttempt.objects.get(username="annotator")
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT


def test_lockout_of_one_username_does_not_lock_out_colleagues_at_the_same_address(
    annotator, annotator2
):
    client = Client()
    fail_until_locked(client, "annotator")
    assert log_in(client, "annotator", PASSWORD).status_code == 429
    response = log_in(Client(), "annotator2", PASSWORD)
    assert response.status_code == 302


def test_lockout_ends_after_the_cooloff_time(annotator):
    client = Client()
    fail_until_locked(client, "annotator")
    assert log_in(client, "annotator", PASSWORD).status_code == 429
    AccessAttempt.objects.filter(username="annotator").update(
        attempt_time=AccessAttempt.objects.get(username="annotator").attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    assert log_in(client, "annotator", PASSWORD).status_code == 302
    assert client.get("/").status_code == 200


def test_a_successful_login_resets_the_failure_count(annotator):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "annotator", "wrong-password")
    assert log_in(client, "annotator", PASSWORD).status_code == 302
    client.post("/accounts/logout/")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "annotator", "wrong-password")
    assert log_in(client, "annotator", PASSWORD).status_code == 302


@override_settings(AXES_FAILURE_LIMIT=2)
def test_failure_limit_is_taken_from_the_settings(annotator):
    client = Client()
    log_in(client, "annotator", "wrong-password")
    log_in(client, "annotator", "wrong-password")
    assert log_in(client, "annotator", PASSWORD).status_code == 429


@pytest.mark.parametrize(
    "weak",
    ["12345678", "password", "short", "annotator1"],
)
def test_password_validators_refuse_weak_passwords(annotator, weak):
    with pytest.raises(ValidationError):
        password_validation.validate_password(weak, user=annotator)


def test_password_validators_accept_a_long_passphrase(annotator):
    password_validation.validate_password("violet-harbour-lantern-47", user=annotator)


@override_settings(SESSION_COOKIE_AGE=600)
def test_session_lifetime_follows_the_setting(annotator):
    client = Client()
    log_in(client, "annotator", PASSWORD)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["max-age"] == 600
    session = UserSession.objects.get(session_key=cookie.value)
    remaining = session.expire_date - session.expire_date.now(tz=session.expire_date.tzinfo)
    assert timedelta(seconds=500) < remaining <= timedelta(seconds=600)


def test_logout_by_get_is_refused_and_keeps_the_session(annotator):
    client = Client()
    log_in(client, "annotator", PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    assert client.get("/").status_code == 200
    assert UserSession.objects.count() == 1


def test_logout_by_post_ends_the_session(annotator):
    client = Client()
    log_in(client, "annotator", PASSWORD)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not UserSession.objects.exists()
    assert client.get("/").status_code == 302


@override_settings(PROXY_COUNT=1)
def test_behind_a_proxy_the_lockout_follows_the_client_address_not_the_proxys(annotator):
    proxy = Client(REMOTE_ADDR="127.0.0.1")

    def via_proxy(forwarded_for: str, password: str):
        return proxy.post(
            LOGIN,
            {"username": "annotator", "password": password},
            HTTP_X_FORWARDED_FOR=forwarded_for,
        )

    # The attacker varies the part of the header they control: still one client.
    for n in range(settings.AXES_FAILURE_LIMIT):
        via_proxy(f"10.9.9.{n}, 203.0.113.5", "wrong-password")
    assert via_proxy("203.0.113.5", PASSWORD).status_code == 429
    assert AccessAttempt.objects.get().ip_address == "203.0.113.5"
    # The annotator, from their own address through the same proxy, still gets in.
    assert via_proxy("198.51.100.7", PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "next_url", ["https://attacker.example/", "//attacker.example/", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(annotator, next_url):
    response = Client().post(
        LOGIN, {"username": "annotator", "password": PASSWORD, "next": next_url}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_login_starts_a_new_session(annotator):
    """A session id planted before login (session fixation) is not the one that logs in."""
    client = Client()
    client.get(LOGIN)
    session = client.session
    session["planted"] = "yes"
    session.save()
    before = session.session_key
    log_in(client, "annotator", PASSWORD)
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not UserSession.objects.filter(session_key=before).exists()
