"""Statements sent to PostgreSQL together, through libpq's pipeline mode.

The labelling loop's statements (``claims.hotpath``) go to the server
here rather than through Django's cursor and psycopg's own execution: each
request's few statements are sent in one round trip and read back with
libpq's calls (which psycopg wraps) and psycopg's own adapters.

Why: psycopg's execution (its Python generators, cursors and pipeline
objects) took 135-220 µs of CPU for a statement the server answered in half
a millisecond, against 46-58 µs for the same statement sent with libpq's
call; three statements in one psycopg pipeline 290-320 µs, in a libpq
pipeline 40-47 µs (README, Benchmarks, item 34).

Values are adapted and rows loaded by psycopg's ``Transformer`` built from
the driver's connection, so they come back as Django's cursors would give
them (Django's time zone and JSON loaders included). Query logs
(``connection.queries``, the ``django.db.backends`` logger) show each
statement as psycopg's client-side binding writes it.
"""

from __future__ import annotations

import logging
import select
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

logger = logging.getLogger("django.db.backends")

Rows = list[tuple[Any, ...]]

_TRANSFORMERS: weakref.WeakKeyDictionary[psycopg.Connection, Transformer] = (
    weakref.WeakKeyDictionary()
)
_BEGIN = b"BEGIN"
_COMMIT = b"COMMIT"


@dataclass(frozen=True, slots=True)
class Statement:
    """A statement to send: by the name it was prepared with (``prepared``), or
    as ``sql`` with $1, $2… placeholders; ``values`` in their order.

    ``shown`` with ``shown_params``: the statement as query logs show it.
    """

    sql: str
    values: Sequence[Any]
    prepared: str | None
    shown: str
    shown_params: Sequence[Any] | dict[str, Any]


def available(connection: Any) -> bool:
    """Whether ``run`` may be used on this Django connection: libpq has a
    pipeline mode (14 and later), and no execute wrapper is installed
    (``connection.execute_wrapper``: those see the statements that go through
    Django's cursors only)."""
    return not connection.execute_wrappers and psycopg.Pipeline.is_supported()


def run(connection: Any, statements: Sequence[Statement], *, commit: bool = False) -> list[Rows]:
    """Send ``statements`` to the server in one round trip; return each one's rows.

    Outside a transaction they run in one of their own: PostgreSQL commits
    the statements of a pipeline at its end. In a transaction (Django's
    atomic block) it goes on, and is begun with them if nothing began it;
    ``commit``: they end it, the COMMIT sent with them (for a block's last
    statements: Django's commit at the block's end then finds nothing to
    commit). A failing statement raises Django's database error, the ones
    after it are not run, and the transaction is rolled back (outside a
    block) or left for the block to roll back.

    The connection must be open (``ensure_connection``).
    """
    connection.validate_no_broken_transaction()
    driver = connection.connection
    pgconn = driver.pgconn
    transformer = _TRANSFORMERS.get(driver)
    if transformer is None:
        transformer = _TRANSFORMERS[driver] = Transformer(driver)
    begin = not driver.autocommit and pgconn.transaction_status == pq.TransactionStatus.IDLE
    commit = commit and not driver.autocommit
    started = time.monotonic()
    try:
        with connection.wrap_database_errors:
            return _round_trip(pgconn, transformer, statements, begin, commit, driver.info.encoding)
    finally:
        if connection.queries_logged:
            _log(connection, driver, statements, time.monotonic() - started)


def _round_trip(
    pgconn: Any,
    transformer: Transformer,
    statements: Sequence[Statement],
    begin: bool,
    commit: bool,
    encoding: str,
) -> list[Rows]:
    pgconn.enter_pipeline_mode()
    try:
        if begin:
            pgconn.send_query_params(_BEGIN, None)
        for statement in statements:
            values = transformer.dump_sequence(
                statement.values, [PyFormat.TEXT] * len(statement.values)
            )
            if statement.prepared is not None:
                pgconn.send_query_prepared(statement.prepared.encode(), values)
            else:
                pgconn.send_query_params(statement.sql.encode(), values, transformer.types)
        if commit:
            pgconn.send_query_params(_COMMIT, None)
        pgconn.pipeline_sync()
        while pgconn.flush():  # more to send (psycopg's connections do not block)
            _wait(pgconn, select.POLLOUT)
        answers = [
            _answer(pgconn, transformer, encoding) for _ in range(begin + len(statements) + commit)
        ]
        # The pipeline's end (its Sync), or nothing on a connection gone.
        while (result := _result(pgconn)) is not None:
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                break
    finally:
        try:
            pgconn.exit_pipeline_mode()
        except psycopg.Error:
            # Results not read (a connection lost midway): unusable now, and
            # Django replaces a closed connection.
            pgconn.finish()
            raise
    for answer in answers:
        if isinstance(answer, psycopg.Error):
            raise answer
    return answers[begin : begin + len(statements)]  # type: ignore[return-value]


def _answer(pgconn: Any, transformer: Transformer, encoding: str) -> Rows | psycopg.Error:
    """One statement's rows, or the error it raised (a statement after a
    failed one: an error saying so)."""
    result = _result(pgconn)
    if result is None:
        return psycopg.OperationalError(
            "The connection to the database was lost: "
            + (pgconn.error_message.decode(encoding, "replace").strip() or "no answer")
        )
    while _result(pgconn) is not None:  # each statement's results end with a None
        pass
    status = result.status
    if status == pq.ExecStatus.TUPLES_OK:
        transformer.set_pgresult(result)
        return transformer.load_rows(0, result.ntuples, tuple)
    if status == pq.ExecStatus.COMMAND_OK:
        return []
    if status == pq.ExecStatus.PIPELINE_ABORTED:
        return errors.InFailedSqlTransaction("Not run: an earlier statement sent with it failed.")
    return errors.error_from_result(result, encoding=encoding)


def _result(pgconn: Any) -> Any:
    """libpq's next result, waited for here: libpq would wait holding Python's
    GIL, and every other thread of the process (runserver's, gthread's) would
    stop with it, the one holding the lock a statement waits for included."""
    while pgconn.is_busy():
        _wait(pgconn, select.POLLIN)
        pgconn.consume_input()
    return pgconn.get_result()


def _wait(pgconn: Any, events: int) -> None:
    poller = select.poll()
    poller.register(pgconn.socket, events | select.POLLERR | select.POLLHUP)
    poller.poll()


def _log(
    connection: Any, driver: psycopg.Connection, statements: Sequence[Statement], took: float
) -> None:
    """Log the statements as Django's debug cursor does, sharing the round trip's time."""
    shown = psycopg.ClientCursor(driver)
    each = took / max(1, len(statements))
    for statement in statements:
        sql = shown.mogrify(statement.shown, statement.shown_params)
        connection.queries_log.append({"sql": sql, "time": f"{each:.3f}"})
        logger.debug(
            "(%.3f) %s; args=%s; alias=%s",
            each,
            sql,
            statement.shown_params,
            connection.alias,
            extra={
                "duration": each,
                "sql": sql,
                "params": statement.shown_params,
                "alias": connection.alias,
            },
        )
