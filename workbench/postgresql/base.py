"""Django's PostgreSQL backend, checking a kept connection without a round trip.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query
of every request on a kept connection, so that a connection the server
dropped (a restart, ``pg_terminate_backend``, an idle timeout) is replaced
instead of failing the request: one round trip more for every request (0.1
ms in a tight loop on the machine of the README's benchmarks, and CPU time
in the worker).

A server that drops a connection says so on its socket first (an error
message, then the end of the stream), while an idle connection it keeps has
nothing to read. So this backend asks the socket, which costs no round trip,
and sends Django's ``SELECT 1`` only when there is something to read or the
driver already knows something is wrong. A connection lost without a word (a
network cut) passes both checks alike until a statement times out: Django's
check would then give that request a new connection, here the request fails
and the worker's next one gets a new connection.

Settings: ``ENGINE = "workbench.postgresql"`` (``workbench.settings`` puts it
in place of Django's for every PostgreSQL database).

It also reads ``timestamptz`` values with psycopg's own loader, in C where
psycopg's binary build is installed (``TimestamptzLoader`` below).
"""

from __future__ import annotations

import select
from datetime import datetime, tzinfo
from functools import cache
from typing import Any

import psycopg
from django.conf import settings
from django.db.backends.postgresql import base
from django.db.backends.postgresql.psycopg_any import get_adapters_template
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import Format, TransactionStatus

TIMESTAMPTZ_OID = psycopg.postgres.types["timestamptz"].oid
# psycopg's own loader: its C implementation when psycopg's binary build is
# installed (the class registered for timestamptz is swapped for it).
_PSYCOPG_LOADER = psycopg.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)


class TimestamptzLoader(Loader):
    """Django's loader of ``timestamptz`` values (given in the time zone
    Django set on the connection, tagged with ``timezone``, or naive when it
    is None), parsed by psycopg's own loader.

    Django's subclasses psycopg's Python class, so its values are parsed in
    Python (10.7 µs a value against 3.4 here, a tight loop); psycopg would
    use its C loader for a class of its own only. A labelling request reads
    about six such values.
    """

    timezone: tzinfo | None = None

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._parse = _PSYCOPG_LOADER(oid, context).load

    def load(self, data: Any) -> datetime:
        return self._parse(data).replace(tzinfo=self.timezone)


@cache
def adapters_template(use_tz: bool, timezone: tzinfo | None) -> AdaptersMap:
    """Django's adapters for new connections, with ``TimestamptzLoader``."""
    adapters = AdaptersMap(get_adapters_template(use_tz, timezone))
    loader = type(
        "TimestamptzLoader", (TimestamptzLoader,), {"timezone": timezone, "__module__": __name__}
    )
    adapters.register_loader(TIMESTAMPTZ_OID, loader)
    return adapters


def says_nothing(connection: Any) -> bool:
    """Whether a driver connection is open, idle, and has nothing waiting to be
    read: what a connection the server still keeps looks like between requests."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if "context" in params:
            params["context"] = adapters_template(settings.USE_TZ, self.timezone)
        return params

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and says_nothing(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
