"""Settings for the benchmarks: the workbench's own, pointed at a benchmark database.

The benchmark database is never the developer's ``db.sqlite3``: it is
``bench/.data/wb_bench.sqlite3`` by default, or the PostgreSQL database named by
``BENCH_DATABASE_URL`` (``postgres://postgres@127.0.0.1:5432/wb_bench``).
``DATABASE_URL`` is ignored here on purpose, so a developer's database cannot be
filled with a million synthetic labels by accident.

The URLconf adds ``/bench/ping/``, the minimal view the round trip is compared to;
it is no address of the product.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from workbench.settings import *  # noqa: F403
from workbench.settings import BASE_DIR, env_int, postgres_options

BENCH_DATA = Path(__file__).resolve().parent / ".data"
BENCH_DATA.mkdir(exist_ok=True)

ROOT_URLCONF = "bench.benchurls"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
# Pages render with plain static URLs: the benchmark never runs collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Sessions made for the synthetic annotators last the whole run.
SESSION_COOKIE_AGE = 60 * 60 * 24

_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{BENCH_DATA / 'wb_bench.sqlite3'}"
DATABASES = {
    "default": postgres_options(
        dj_database_url.parse(_url, conn_max_age=env_int("CONN_MAX_AGE", 60))
    )
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if Path(_db["NAME"]).resolve() == (BASE_DIR / "db.sqlite3").resolve():
        raise ImproperlyConfigured("The benchmark must not use the developer's db.sqlite3.")
    # The same connection options as the product's SQLite set-up.
    _db["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif not str(_db["NAME"]).startswith("wb_bench"):
    raise ImproperlyConfigured(
        f"BENCH_DATABASE_URL must name a database starting with wb_bench, not {_db['NAME']!r}."
    )
else:
    _db["CONN_HEALTH_CHECKS"] = True
# An empty static root keeps WhiteNoise quiet: pages link to static files, but
# the benchmark never fetches them.
STATIC_ROOT = BENCH_DATA / "static"
STATIC_ROOT.mkdir(exist_ok=True)

# To weigh another session store against the product's (database) one:
# BENCH_SESSION_ENGINE=django.contrib.sessions.backends.cached_db
if os.environ.get("BENCH_SESSION_ENGINE"):
    SESSION_ENGINE = os.environ["BENCH_SESSION_ENGINE"]

# To weigh psycopg's server-side binding (prepared statements on a kept
# connection, so PostgreSQL plans the queue's queries once) on PostgreSQL:
# BENCH_SERVER_SIDE_BINDING=1
if os.environ.get("BENCH_SERVER_SIDE_BINDING") == "1" and _db["ENGINE"].endswith("postgresql"):
    _db.setdefault("OPTIONS", {})["server_side_binding"] = True
