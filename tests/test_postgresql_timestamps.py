"""PostgreSQL: timestamptz values read with psycopg's own loader give what
Django's loader gives (workbench.postgresql.TimestamptzLoader)."""

from __future__ import annotations

import datetime
import zoneinfo

import psycopg
import pytest
from django.db import DataError, connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the loader is the PostgreSQL backend's"
)

TIMESTAMPTZ_OID = 1184
VALUES = [
    "2026-11-23 20:16:54.545924+00",
    "2026-01-02 03:04:05.123456+02",
    "1999-12-31 23:59:59-05:30",
    "2024-02-29 12:00:00+14",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
]


def django_loader(timezone, driver):
    """The loader Django itself would register for ``timezone``."""
    cursor = driver.cursor()
    register_tzloader(timezone, cursor)
    return cursor.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)(TIMESTAMPTZ_OID, cursor)


@pytest.fixture
def driver(db):
    connection.ensure_connection()
    return connection.connection


def test_connections_read_timestamps_with_psycopgs_loader(driver):
    from workbench.postgresql.base import _PSYCOPG_LOADER, TimestamptzLoader

    loader = driver.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert issubclass(loader, TimestamptzLoader)
    assert loader.timezone == connection.timezone  # what Django's cursors check
    if psycopg.pq.__impl__ == "binary":
        assert _PSYCOPG_LOADER.__module__.startswith("psycopg_binary")


def test_a_query_gives_aware_datetimes_in_utc(driver):
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, NULL::timestamptz", ["2026-01-02 03:04:05.5+02"])
        assert cursor.fetchone() == (
            datetime.datetime(2026, 1, 2, 1, 4, 5, 500000, tzinfo=datetime.UTC),
            None,
        )


@pytest.mark.parametrize("timezone", [datetime.UTC, zoneinfo.ZoneInfo("Asia/Seoul"), None], ids=str)
def test_values_are_those_djangos_loader_gives(driver, timezone):
    from workbench.postgresql.base import adapters_template

    ours_class = adapters_template(timezone is not None, timezone).get_loader(
        TIMESTAMPTZ_OID, Format.TEXT
    )
    ours = ours_class(TIMESTAMPTZ_OID, driver)
    theirs = django_loader(timezone, driver)
    # The values as the server writes them in the connection's time zone (UTC).
    with driver.cursor() as cursor:
        cursor.execute("SELECT v::timestamptz::text FROM unnest(%s::text[]) AS v", [VALUES])
        written = [row[0].encode() for row in cursor.fetchall()]
    for data in written:
        value = ours.load(data)
        assert value == theirs.load(data)
        assert value.tzinfo == timezone


def test_a_value_out_of_pythons_range_is_refused_as_by_django(driver):
    for loader in (
        driver.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)(TIMESTAMPTZ_OID, driver),
        django_loader(connection.timezone, driver),
    ):
        with pytest.raises(psycopg.DataError):
            loader.load(b"infinity")
    with pytest.raises(DataError), connection.cursor() as cursor:
        cursor.execute("SELECT 'infinity'::timestamptz")
        cursor.fetchone()
