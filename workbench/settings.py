"""Settings for the claim-verification workbench.

Everything that differs between a laptop and a server comes from environment
variables, read through the small helpers below so a malformed value fails at
start-up with a message instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false, yes/no), not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_proxy_header(name: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto=https`` -> Django's ``("HTTP_X_FORWARDED_PROTO", "https")``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    header, sep, value = raw.partition("=")
    header, value = header.strip(), value.strip()
    if not sep or not header or not value or " " in header:
        raise ImproperlyConfigured(
            f"{name} must look like X-Forwarded-Proto=https (the header your proxy sets "
            f"and its value for HTTPS requests), not {raw!r}."
        )
    return "HTTP_" + header.upper().replace("-", "_"), value


def env_database(name: str, default: str) -> dict[str, object]:
    """The database a URL names; an empty value (``DATABASE_URL=``) means unset."""
    raw = os.environ.get(name) or default
    try:
        return dj_database_url.parse(
            raw,
            conn_max_age=env_int("CONN_MAX_AGE", 60),
            conn_health_checks=True,
            # Behind a pooler in transaction mode (PgBouncer): no server-side
            # cursors, and claims/hotpath.py prepares nothing.
            disable_server_side_cursors=env_bool("DISABLE_SERVER_SIDE_CURSORS", False),
        )
    except Exception as error:  # dj-database-url raises several kinds
        raise ImproperlyConfigured(
            f"{name} must look like postgres://user:password@host:5432/name or "
            f"sqlite:////path/to/file.sqlite3, not {raw!r} ({error})."
        ) from None


def _local_secret_key() -> str:
    """A per-installation key kept beside the SQLite database.

    A new user who runs the demo needs no configuration; a server sets
    SECRET_KEY (and PRODUCTION=1 makes it mandatory).
    """
    path = BASE_DIR / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


# DEBUG is off unless asked for (`make run` asks for it: the demo is a laptop).
DEBUG = env_bool("DEBUG", False)
# PRODUCTION=1: a server on the internet. Refuses to start without a real
# SECRET_KEY and ALLOWED_HOSTS, and turns on every HTTPS protection below.
PRODUCTION = env_bool("PRODUCTION", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured(
        "DEBUG=1 shows tracebacks and settings to anyone; it cannot be used with PRODUCTION=1."
    )

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when PRODUCTION=1 (50 or more random characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = _local_secret_key()
elif PRODUCTION and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "SECRET_KEY is too short to be secret: use 50 or more random characters."
    )

if PRODUCTION and not os.environ.get("ALLOWED_HOSTS", "").strip():
    raise ImproperlyConfigured(
        "ALLOWED_HOSTS must be set when PRODUCTION=1: the host names the site is served "
        "under, comma-separated (e.g. workbench.example.org)."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Origins (scheme://host) allowed to post forms, needed when a proxy serves the
# site under another host or port than the one Django sees.
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# HTTPS. In production every one of these is on; each can be turned off (or
# the HSTS duration changed) through the variable of the same name.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", PRODUCTION)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", PRODUCTION)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", PRODUCTION)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", PRODUCTION)
# Behind a proxy that ends TLS (nginx, a load balancer), Django sees plain
# HTTP; the proxy's header tells it the request was HTTPS. Set only when the
# proxy always sets (and overwrites) that header.
SECURE_PROXY_SSL_HEADER = env_proxy_header("SECURE_PROXY_SSL_HEADER")

INSTALLED_APPS = [
    "claims",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "workbench.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's, taking the user read with the session (claims/sessions.py).
    "claims.sessions.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username/address before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "workbench.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    },
]

WSGI_APPLICATION = "workbench.wsgi.application"


def postgres_options(database: dict[str, object]) -> dict[str, object]:
    """PostgreSQL settings for our connections, unless the database URL's own say otherwise.

    - The engine is ``workbench.postgresql``: Django's, with a health check of
      a kept connection that costs no round trip to the server.
    - ``jit=off``: PostgreSQL compiles a query whose estimated cost is high
      enough (the review queue's, the dashboard's) to machine code before
      running it: 0.75 s of compiling for a page of the review queue that
      then ran in 1 ms. Our queries are short; none gained from it in the
      benchmarks.
    - ``plan_cache_mode=force_generic_plan``: the labelling loop's statements
      are prepared once per connection (claims/hotpath.py), but PostgreSQL
      plans a prepared statement again on every run while it guesses a plan
      for the values at hand might be cheaper: 0.55 ms of planning for the
      labelling page's progress query, which then runs in 0.1 ms. Only
      prepared statements have plans kept, and only those statements are
      prepared (Django sends its own queries with the values in).
    """
    if database["ENGINE"] == "django.db.backends.postgresql":
        database["ENGINE"] = "workbench.postgresql"
        options = database.setdefault("OPTIONS", {})
        for setting in ("jit=off", "plan_cache_mode=force_generic_plan"):
            if setting.split("=")[0] not in str(options.get("options", "")):
                options["options"] = f"{options.get('options', '')} -c {setting}".strip()
    return database


DATABASES = {
    "default": postgres_options(
        env_database("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock at BEGIN, so two requests that
    # both read-then-write (the claim queue, label saves) queue up instead of
    # failing with "database is locked" when one upgrades its read lock. The
    # connection is kept like PostgreSQL's (CONN_MAX_AGE): opening the file
    # and running these PRAGMAs cost 1.2 ms on every request.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=60)
# Database sessions whose row names the user: each request reads the session
# and its user in one query (claims/sessions.py).
SESSION_ENGINE = "claims.sessions"

# Login throttling (django-axes): after AXES_FAILURE_LIMIT failed logins for
# one username from one address, that pair is refused for AXES_COOLOFF_MINUTES.
# Username and address together: forty annotators behind one office address
# must not lock each other out, and nobody can lock out a colleague from elsewhere.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a proxy the client's address is in X-Forwarded-For: PROXY_COUNT
# says how many proxies append to it (0: no proxy, REMOTE_ADDR is the client).
PROXY_COUNT = env_int("PROXY_COUNT", 0)
AXES_CLIENT_IP_CALLABLE = "workbench.middleware.client_address"

LANGUAGE_CODE = "en"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)

# Uploads: Django refuses bodies over this size before a view sees them; the
# import form checks the same limit per file to name the file in its message.
IMPORT_MAX_BYTES = env_int("IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = IMPORT_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Claim queue: how long a claim handed to an annotator stays reserved for them.
CLAIM_RESERVATION_MINUTES = env_int("CLAIM_RESERVATION_MINUTES", 10, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
