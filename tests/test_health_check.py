"""PostgreSQL: a kept connection is checked without a round trip, and one the
server dropped is still replaced before a request uses it (workbench.postgresql)."""

from __future__ import annotations

import time

import pytest
from django.db import connection, connections

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the check is the PostgreSQL backend's"
)


@pytest.fixture
def kept(db):
    """A second connection to the test database, as a worker keeps it between
    requests: health checks on, the check of the next request not done yet."""
    wrapper = connections.create_connection("default")
    wrapper.ensure_connection()
    wrapper.health_check_enabled = True
    wrapper.health_check_done = False
    checks = []
    real_check = wrapper.is_usable

    def counted_check() -> bool:
        checks.append(1)
        return real_check()

    wrapper.is_usable = counted_check
    yield wrapper, checks
    wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_the_settings_use_this_backend():
    assert connection.settings_dict["ENGINE"] == "workbench.postgresql"


def test_a_connection_the_server_keeps_is_checked_without_a_query(kept):
    wrapper, checks = kept
    driver = wrapper.connection
    wrapper.close_if_health_check_failed()
    assert checks == []
    assert wrapper.connection is driver
    assert wrapper.health_check_done


def test_a_connection_the_server_dropped_is_replaced_before_the_request_uses_it(kept):
    wrapper, checks = kept
    dropped = backend_pid(wrapper)
    wrapper.health_check_done = False
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [dropped])
    # The server's goodbye reaches the socket within moments.
    deadline = time.monotonic() + 5
    while not wrapper.connection.closed and time.monotonic() < deadline:
        wrapper.close_if_health_check_failed()
        if wrapper.connection is None:
            break
        wrapper.health_check_done = False
        time.sleep(0.01)
    assert checks, "the socket had something to say: Django's own check ran"
    assert wrapper.connection is None
    # The request's first query opens a new connection and succeeds.
    assert backend_pid(wrapper) != dropped


def test_a_connection_left_inside_a_transaction_gets_the_full_check(kept):
    wrapper, checks = kept
    wrapper.connection.execute("BEGIN")
    wrapper.close_if_health_check_failed()
    assert checks == [1]
