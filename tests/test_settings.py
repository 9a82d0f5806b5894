"""Settings from the environment: production refuses unsafe values and passes check --deploy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory, override_settings
from django.views import defaults

ROOT = Path(__file__).resolve().parent.parent

# The production environment docs/readme-deploy.md documents, with a real-looking key.
PRODUCTION_ENV = {
    "PRODUCTION": "1",
    "SECRET_KEY": "k3Jx9vQ2pL7mN4rT8wZ1bC6dF0gH5jK2sV9xY3aE7uI4oP8qR1tW6zB0nM5cD2fG",
    "ALLOWED_HOSTS": "workbench.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://workbench.example.org",
    "DATABASE_URL": "postgres://workbench@127.0.0.1:5432/workbench",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto=https",
    "PROXY_COUNT": "1",
}

# Variables these tests set themselves; anything the outer shell exported is dropped.
OUR_VARIABLES = {
    "DEBUG",
    "PRODUCTION",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "SECURE_PROXY_SSL_HEADER",
    "PROXY_COUNT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_AGE",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "STATIC_MANIFEST",
    "DISABLE_SERVER_SIDE_CURSORS",
}

SHOW_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
print(json.dumps({name: getattr(settings, name) for name in %r}, default=str))
"""


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "workbench.settings"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_under(env: dict[str, str], *names: str) -> dict[str, object]:
    result = run_python(SHOW_SETTINGS % (names,), env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_reports_nothing_with_the_documented_production_settings():
    result = run_python(
        "import sys; from django.core.management import execute_from_command_line; "
        "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])",
        PRODUCTION_ENV,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output and "ERRORS" not in output, output
    assert "System check identified no issues (0 silenced)." in output


def test_production_turns_on_https_protections():
    values = settings_under(
        PRODUCTION_ENV,
        "DEBUG",
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
        "SECURE_PROXY_SSL_HEADER",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "STORAGES",
    )
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 60 * 60 * 24 * 365
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["workbench.example.org"]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://workbench.example.org"]
    assert values["STORAGES"]["staticfiles"]["BACKEND"] == (
        "whitenoise.storage.CompressedManifestStaticFilesStorage"
    )


def test_empty_database_url_means_sqlite():
    engine = settings_under({"DATABASE_URL": ""}, "DATABASES")["DATABASES"]["default"]["ENGINE"]
    assert engine == "django.db.backends.sqlite3"


def test_a_transaction_pooler_is_declared_by_disable_server_side_cursors():
    url = {"DATABASE_URL": "postgres://workbench@127.0.0.1:6432/workbench"}
    plain = settings_under(url, "DATABASES")["DATABASES"]["default"]
    pooled = settings_under(url | {"DISABLE_SERVER_SIDE_CURSORS": "1"}, "DATABASES")
    assert plain["DISABLE_SERVER_SIDE_CURSORS"] is False
    assert pooled["DATABASES"]["default"]["DISABLE_SERVER_SIDE_CURSORS"] is True


def test_debug_is_off_unless_asked_for():
    assert settings_under({}, "DEBUG", "SECURE_SSL_REDIRECT") == {
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": False,
    }
    assert settings_under({"DEBUG": "1"}, "DEBUG")["DEBUG"] is True


def test_each_https_protection_can_be_turned_off_in_production():
    values = settings_under(
        PRODUCTION_ENV | {"SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "3600"},
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
    )
    assert values == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 3600}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set when PRODUCTION=1"),
        ({"SECRET_KEY": "changeme"}, "SECRET_KEY is too short"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set when PRODUCTION=1"),
        ({"DEBUG": "1"}, "cannot be used with PRODUCTION=1"),
        ({"SECURE_PROXY_SSL_HEADER": "https"}, "SECURE_PROXY_SSL_HEADER must look like"),
        ({"SESSION_COOKIE_AGE": "a day"}, "SESSION_COOKIE_AGE must be a whole number"),
        ({"AXES_FAILURE_LIMIT": "0"}, "AXES_FAILURE_LIMIT must be at least 1"),
        ({"STATIC_MANIFEST": "maybe"}, "STATIC_MANIFEST must be a boolean"),
        ({"DATABASE_URL": "postgress//db"}, "DATABASE_URL must look like postgres://"),
    ],
)
def test_unsafe_or_malformed_settings_stop_the_start_with_a_message(change, message):
    result = run_python(SHOW_SETTINGS % (("DEBUG",),), PRODUCTION_ENV | change)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_session_lifetime_and_login_throttling_come_from_the_environment():
    values = settings_under(
        {"SESSION_COOKIE_AGE": "3600", "AXES_FAILURE_LIMIT": "7", "AXES_COOLOFF_MINUTES": "30"},
        "SESSION_COOKIE_AGE",
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
    )
    assert values == {
        "SESSION_COOKIE_AGE": 3600,
        "AXES_FAILURE_LIMIT": 7,
        "AXES_COOLOFF_TIME": "0:30:00",
    }


# Friendly error pages: every user error reads as a message inside the site's layout.


def test_unknown_page_gets_the_friendly_404_page(annotator_client):
    response = annotator_client.get("/no/such/page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "Nothing here" in page
    assert 'class="brand"' in page  # inside the site's layout
    assert "Traceback" not in page


def test_refused_page_gets_the_friendly_403_page_with_the_reason(annotator_client, project):
    response = annotator_client.get(f"/p/{project.slug}/settings/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "You may not open this page" in page
    assert "Your role in this project does not allow this page." in page


def test_request_for_an_unknown_host_gets_the_friendly_400_page(db):
    response = Client(HTTP_HOST="attacker.example").get("/accounts/login/")
    assert response.status_code == 400
    assert "That request could not be read" in response.content.decode()


def test_form_without_csrf_token_gets_the_friendly_expired_form_page(annotator, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(annotator)
    response = client.post(f"/p/{project.slug}/label/", {"claim": "1"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "The form could not be accepted" in page
    assert "reload the page" in page


def test_server_error_page_renders_without_a_request_context(db):
    request = RequestFactory().get("/")
    response = defaults.server_error(request)
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert 'class="brand"' in page


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31536000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_the_proxy_https_requests_are_served_and_plain_ones_redirected(db):
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/accounts/login/"
    secure = Client().get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


def test_pages_link_their_assets_at_the_static_url_of_the_settings(annotator_client):
    page = annotator_client.get("/").content.decode()
    assert '<link rel="stylesheet" href="/static/claims/app.css">' in page
    assert '<script src="/static/claims/app.js" defer></script>' in page
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in page
    # Drawn once per process, and again when the settings change.
    with override_settings(STATIC_URL="/assets/"):
        moved = annotator_client.get("/").content.decode()
    assert '<link rel="stylesheet" href="/assets/claims/app.css">' in moved
    assert '<script src="/assets/claims/app.js" defer></script>' in moved
    assert '<script src="/assets/django_htmx/htmx-2.min.js" defer></script>' in moved
    assert "/static/" not in moved
    assert "/static/claims/app.css" in annotator_client.get("/").content.decode()
