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
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


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
