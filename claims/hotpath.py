"""The labelling loop's queries, written as SQL.

Every annotator asks for the next claim and saves a label every few
seconds, so these are the busiest queries of the workbench. On the machine
of the README's benchmarks the ORM takes 0.5 ms to build and compile a
simple query and 1.7 ms for one with three sub-queries (the project with
the user's role), against 0.05 ms for the database to answer it; here the
SQL is written once and the rows become model instances through Django's
own converters (``_instance``).

The queue's hand-out
--------------------

Built with the ORM, the look-ups (a claim the annotator already holds, the
next open claim in the article they are in, in the articles after it, else
the first open claim of the project) and the reservation cost about 4 ms of
Python per request to build and compile, against well under a millisecond
in the database. Here they are one statement: an INSERT of the reservation that
SELECTs its claim, returning the claim's id. On PostgreSQL a WITH around it
answers with the claim, its article and the article's claims, which SQLite
reads after it (``hand_out``).

On SQLite that one statement is also the whole transaction: a writing
statement takes the database's write lock before it reads, so two
annotators cannot both take a claim's last slot. PostgreSQL reads in a
snapshot taken when the statement starts, so there the statement runs
after the project's row lock (``hand_out``), and only it runs under the
lock.

The rules are those of ``ClaimQuerySet.next_for``; tests/test_queue.py and
tests/test_queue_concurrency.py hold them.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import uuid
import weakref
from collections.abc import Sequence
from contextlib import nullcontext
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, TypeVar

from django.db import connections, models, transaction
from django.db.models.sql import Query
from django.utils.dateparse import parse_datetime
from psycopg.types.json import Jsonb

from workbench.postgresql import pipeline

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from claims.models import Claim, Project, Source

M = TypeVar("M", bound=models.Model)
Statement = tuple[str, dict[str, Any] | list[Any], str]
"""A statement of this module to run: its SQL, its parameters, its name (``_prepared``)."""


@cache
def _reader(model: type[models.Model], using: str) -> tuple[list[str], dict[int, Any]]:
    """The attribute names of ``model``'s columns and the converters the ORM applies to them."""
    connection = connections[using]
    fields = model._meta.concrete_fields
    compiler = connection.ops.compiler("SQLCompiler")(Query(model), connection, using)
    converters = compiler.get_converters([f.get_col(model._meta.db_table) for f in fields])
    return [f.attname for f in fields], converters


def _columns(model: type[models.Model], alias: str, using: str) -> str:
    q = connections[using].ops.quote_name
    return ", ".join(f"{alias}.{q(f.column)}" for f in model._meta.concrete_fields)


def _instance(model: type[M], values: Sequence[Any], using: str) -> M:
    """A model instance from a row of its columns, converted as the ORM converts them."""
    names, converters = _reader(model, using)
    connection = connections[using]
    row = list(values)
    for position, (functions, expression) in converters.items():
        for convert in functions:
            row[position] = convert(row[position], expression, connection)
    return model.from_db(using, names, row)


def _fetch_one(
    using: str, sql: str, params: dict[str, Any] | list[Any], name: str
) -> tuple[Any, ...] | None:
    """Run one of the statements here and return its row."""
    rows = _fetch(using, sql, params, name)
    return rows[0] if rows else None


def _fetch(
    using: str, sql: str, params: dict[str, Any] | list[Any], name: str
) -> list[tuple[Any, ...]]:
    """Run one of the statements here and return its rows (``_fetch_together``)."""
    return _fetch_together(using, [(sql, params, name)])[0]


def _fetch_together(
    using: str, statements: Sequence[Statement], *, commit: bool = False
) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` (sql, params, name) and return the rows of each.

    On PostgreSQL, in one round trip to the server and in one transaction:
    their own, or the atomic block's they run in, which ``commit`` ends with
    them (``workbench.postgresql.pipeline.run``); each statement is prepared
    once per connection and run by its ``name`` (``_prepared``). Where that
    cannot be used, one after another, still in one transaction. On SQLite
    one after another, on SQLite's own connection (``_run_on_sqlite``).
    """
    connection = connections[using]
    postgresql = connection.vendor == "postgresql"
    if postgresql:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
        if pipeline.available(connection):
            sent = [_to_send(connection, *statement) for statement in statements]
            return pipeline.run(connection, sent, commit=commit)
    elif connection.vendor == "sqlite" and not (
        connection.queries_logged or connection.execute_wrappers
    ):
        return _run_on_sqlite(connection, statements)
    together = postgresql and len(statements) > 1 and not connection.in_atomic_block
    rows = []
    with transaction.atomic(using=using) if together else nullcontext():
        with connection.cursor() as cursor:
            for sql, params, name in statements:
                _execute(connection, cursor, sql, params, name)
                rows.append(cursor.fetchall() if cursor.description is not None else [])
    return rows


def _run_on_sqlite(connection: Any, statements: Sequence[Statement]) -> list[list[tuple[Any, ...]]]:
    """Run ``statements`` on SQLite's own connection, past Django's cursor.

    Django's cursor and its wrapper cost 25 µs of Python per statement, as
    much as SQLite took to answer the session's read (README, Benchmarks,
    item 37). Only when nothing watches the statements: with query logging
    or an execute wrapper they go through Django's cursor. Errors are
    Django's, as from its cursor.
    """
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    driver = connection.connection
    with connection.wrap_database_errors:
        return [
            driver.execute(_sqlite_text(sql, _names(params)), params).fetchall()
            for sql, params, _ in statements
        ]


def _names(params: dict[str, Any] | list[Any]) -> tuple[str, ...] | None:
    return tuple(params) if isinstance(params, dict) else None


_FORMAT_PLACEHOLDER = re.compile(r"(?<!%)%s")


@lru_cache(maxsize=512)
def _sqlite_text(sql: str, names: tuple[str, ...] | None) -> str:
    """``sql`` with its placeholders as sqlite3 takes them, converted as
    Django's SQLite cursor converts them (``SQLiteCursorWrapper.convert_query``)."""
    if names is None:
        return _FORMAT_PLACEHOLDER.sub("?", sql).replace("%%", "%")
    return sql % {name: f":{name}" for name in names}


def _execute(
    connection: Any, cursor: Any, sql: str, params: dict[str, Any] | list[Any], name: str
) -> None:
    """Run a statement here through a Django cursor: on PostgreSQL as the
    EXECUTE of its prepared statement (``_to_send``)."""
    if connection.vendor == "postgresql":
        sent = _to_send(connection, sql, params, name)
        cursor.execute(sent.shown, sent.shown_params)
    else:
        cursor.execute(sql, params)


# PostgreSQL plans a statement every time it receives one: 1.6 ms for the
# queue's hand-out and 0.1 to 0.5 ms for the others here, often more than
# running them takes (README, Benchmarks). So each statement here is
# prepared (PREPARE) on a connection's first use of it and then run by name
# (EXECUTE), and the connection keeps its plan (plan_cache_mode, set in
# workbench.settings.postgres_options: left to choose, PostgreSQL planned the
# progress statement again on every run). The PREPARE goes through the
# driver's connection, as the connection's settings do, so query logs and
# counts show what each request sends: the EXECUTE.
_PG_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),  # before int: a bool is an int
    (int, "bigint"),
    (datetime, "timestamptz"),
    (uuid.UUID, "uuid"),
    (str, "text"),
    (Jsonb, "jsonb"),  # a JSONField's value, as Django adapts it for psycopg
)
_PREPARED: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()


@cache
def _numbered(sql: str, named: bool) -> tuple[str, tuple[str, ...]]:
    """``sql`` with PostgreSQL's $1, $2… for its placeholders, and (named ones)
    the names in their numbers' order."""
    if not named:
        numbers = itertools.count(1)
        return re.sub(r"%s", lambda _: f"${next(numbers)}", sql), ()
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"%\((\w+)\)s", number, sql), tuple(names)


@cache
def _statement_name(name: str, text: str, types: tuple[str, ...]) -> str:
    """``name`` says which statement it is in query logs; the digest tells apart
    the forms one name takes (with a form token or not, how many sources)."""
    return f"wb_{name}_" + hashlib.sha1(f"{text}|{types}".encode()).hexdigest()[:12]


def _prepared(connection: Any, name: str, text: str, values: Sequence[Any]) -> str | None:
    """The name of ``text`` (with $1, $2… for ``values``) as a statement
    prepared on this connection, or None to send it as it is: a value of a
    type not listed (such as NULL), a connection that binds values on the
    server (psycopg prepares then), or a database behind a pooler in
    transaction mode, which Django's setting DISABLE_SERVER_SIDE_CURSORS says
    (the next transaction may run on a server connection that never saw the
    PREPARE)."""
    database = connection.settings_dict
    if database.get("DISABLE_SERVER_SIDE_CURSORS") or database["OPTIONS"].get(
        "server_side_binding"
    ):
        return None
    types = []
    for value in values:
        pg_type = next((t for python, t in _PG_TYPES if isinstance(value, python)), None)
        if pg_type is None:
            return None
        types.append(pg_type)
    statement = _statement_name(name, text, tuple(types))
    driver = connection.connection
    prepared = _PREPARED.setdefault(driver, set())
    if statement not in prepared:
        typed = f"({', '.join(types)})" if types else ""
        with connection.wrap_database_errors, driver.cursor() as cursor:
            cursor.execute(f"PREPARE {statement}{typed} AS {text}")
        prepared.add(statement)
    return statement


def _to_send(
    connection: Any, sql: str, params: dict[str, Any] | list[Any], name: str
) -> pipeline.Statement:
    """``sql`` as PostgreSQL is sent it: by the name of its prepared statement,
    shown in query logs as its EXECUTE; else with $1, $2… placeholders."""
    named = isinstance(params, dict)
    text, names = _numbered(sql, named)
    values = [params[name] for name in names] if named else list(params)
    prepared = _prepared(connection, name, text, values)
    if prepared is None:
        return pipeline.Statement(text, values, None, sql, params)
    placeholders = f"({', '.join(['%s'] * len(values))})" if values else ""
    return pipeline.Statement(text, values, prepared, f"EXECUTE {prepared}{placeholders}", values)


@cache
def _insert_sql(
    model: type[models.Model], using: str, rows: int, returning: bool, with_pk: bool
) -> tuple[str, list[Any]]:
    q = connections[using].ops.quote_name
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    values = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(f.column) for f in fields)}) "
        f"VALUES {', '.join([values] * rows)}"
    )
    if returning:
        sql += f" RETURNING {q(model._meta.pk.column)}"
    return sql, fields


def insert(
    objects: Sequence[models.Model], using: str = "default", *, read_pk: bool = True
) -> None:
    """Insert new rows of one model, as ``save()`` (one row: its pk is set) or
    ``bulk_create`` (several: in one statement, pks not read back) would.

    For the few models the labelling loop writes, which have no signals or
    save() of their own: the INSERT is built once, where the ORM builds and
    compiles it for every row (0.3 ms each). ``read_pk=False``: nothing is
    read back, not even one row's pk, so that the insert can travel with the
    statements after it (``write``). Objects whose pk is set are inserted
    with it, and nothing is read back either.
    """
    if not objects:
        return
    if read_pk and len(objects) == 1 and objects[0].pk is None:
        sql, fields = _insert_sql(type(objects[0]), using, 1, True, False)
        params = _insert_params(objects, fields, using)
        objects[0].pk = _fetch_one(using, sql, params, _insert_name(objects))[0]
        _inserted(objects, using)
    else:
        write(using, [insert_statement(objects, using)])


def insert_statement(objects: Sequence[models.Model], using: str = "default") -> Statement:
    """The INSERT of ``insert(objects, read_pk=False)``, to run with ``write``;
    the objects count as saved from here on."""
    with_pk = objects[0].pk is not None
    sql, fields = _insert_sql(type(objects[0]), using, len(objects), False, with_pk)
    params = _insert_params(objects, fields, using)
    _inserted(objects, using)
    return sql, params, _insert_name(objects)


def _insert_params(objects: Sequence[models.Model], fields: Sequence[Any], using: str) -> list[Any]:
    connection = connections[using]
    return [
        field.get_db_prep_save(field.pre_save(obj, add=True), connection)
        for obj in objects
        for field in fields
    ]


def _insert_name(objects: Sequence[models.Model]) -> str:
    return f"insert_{objects[0]._meta.model_name}"


def _inserted(objects: Sequence[models.Model], using: str) -> None:
    for obj in objects:
        obj._state.adding = False
        obj._state.db = using


def count_label_statements(
    claim_id: int, user_id: int, now: datetime | None, using: str = "default"
) -> list[Statement]:
    """Count a new label on its claim; with ``now``, also drop the annotator's
    reservation of it (used up) and their expired ones (to run with ``write``)."""
    from claims.models import Claim, Reservation

    connection = connections[using]
    q = connection.ops.quote_name
    statements: list[Statement] = [
        (
            f"UPDATE {q(Claim._meta.db_table)} SET annotation_count = annotation_count + 1 "
            "WHERE id = %s",
            [claim_id],
            "count_label",
        )
    ]
    if now is not None:
        statements.append(
            (
                f"DELETE FROM {q(Reservation._meta.db_table)} "
                "WHERE user_id = %s AND (claim_id = %s OR expires_at <= %s)",
                [user_id, claim_id, connection.ops.adapt_datetimefield_value(now)],
                "drop_reservations",
            )
        )
    return statements


def write(using: str, statements: Sequence[Statement], *, commit: bool = False) -> None:
    """Run writes that read nothing back (INSERT, UPDATE, DELETE with ``%s``
    placeholders): on PostgreSQL as one statement, each but the last in a WITH
    of it, prepared as one (named after the first); elsewhere one after another.

    ``commit``: they are the last statements of the atomic block they run in,
    and on PostgreSQL the COMMIT travels with them (``_fetch_together``).

    One statement instead of several: psycopg and the server each spend
    time on every statement, more than on these writes (README, Benchmarks).
    PostgreSQL runs every part once, all reading the same snapshot, in no set
    order: the parts must not touch the same rows. Django's foreign keys are
    checked at the commit, so a row may refer to one inserted by another part.
    """
    connection = connections[using]
    if connection.vendor == "postgresql" and len(statements) > 1:
        parts = [f"w{n} AS ({sql})" for n, (sql, _, _) in enumerate(statements[:-1])]
        statements = [
            (
                f"WITH {', '.join(parts)} {statements[-1][0]}",
                [value for _, params, _ in statements for value in params],
                # A name for query logs: the first part's, and how many follow.
                f"{statements[0][2]}_and_{len(statements) - 1}",
            )
        ]
    _fetch_together(using, statements, commit=commit)


@cache
def _session_sql(using: str, *, with_project: bool) -> str:
    from django.contrib.auth import get_user_model

    from claims.models import Project, UserSession

    user = get_user_model()
    q = connections[using].ops.quote_name
    project = (
        f""",
            {_columns(Project, "p", using)}, {_project_figures("s.user_id", using)}"""
        if with_project
        else ""
    )
    joined = (
        f"""
          LEFT JOIN {q(Project._meta.db_table)} p ON p.slug = %(slug)s"""
        if with_project
        else ""
    )
    return f"""
        SELECT s.session_data, {_columns(user, "u", using)}{project}
        FROM {q(UserSession._meta.db_table)} s
          LEFT JOIN {q(user._meta.db_table)} u ON u.{q(user._meta.pk.column)} = s.user_id{joined}
        WHERE s.session_key = %(key)s AND s.expire_date > %(now)s"""


def session_with_user(
    session_key: str, now: datetime, using: str = "default", *, project_slug: str | None = None
) -> tuple[str, AbstractBaseUser | None, Project | None] | None:
    """A live session's data, the user signed in with it (None if nobody is)
    and, given ``project_slug``, that project as ``project_with_role`` reads it
    for the session's user (None if there is no such project or nobody is
    signed in), all in one statement; None when there is no such session
    (``claims.sessions``)."""
    from django.contrib.auth import get_user_model

    params = {"key": session_key, "now": connections[using].ops.adapt_datetimefield_value(now)}
    if project_slug is not None:
        params["slug"] = project_slug
    with_project = project_slug is not None
    row = _fetch_one(
        using,
        _session_sql(using, with_project=with_project),
        params,
        "session_project" if with_project else "session",
    )
    if row is None:
        return None
    user_model = get_user_model()
    width = 1 + len(user_model._meta.concrete_fields)
    user = None if row[1] is None else _instance(user_model, row[1:width], using)
    project = None
    if with_project and user is not None and row[width] is not None:
        project = _project_from(row[width:], user, using)
    return row[0], user, project


def _project_figures(user_id: str, using: str) -> str:
    """The columns read with a project: the role of the user whose id
    ``user_id`` gives, and the count and last change of its label set."""
    from claims.models import Label, Membership

    q = connections[using].ops.quote_name
    label = q(Label._meta.db_table)
    return f"""
            (SELECT m.role FROM {q(Membership._meta.db_table)} m
             WHERE m.project_id = p.id AND m.user_id = {user_id}),
            (SELECT COUNT(*) FROM {label} l WHERE l.project_id = p.id),
            (SELECT MAX(l.updated_at) FROM {label} l WHERE l.project_id = p.id)"""


@cache
def _project_sql(using: str) -> str:
    from claims.models import Project

    q = connections[using].ops.quote_name
    return f"""
        SELECT {_columns(Project, "p", using)}, {_project_figures("%(user)s", using)}
        FROM {q(Project._meta.db_table)} p WHERE p.slug = %(slug)s"""


def project_with_role(slug: str, user: AbstractBaseUser, using: str = "default") -> Project | None:
    """The project by its slug, with the user's role (``Project.role_of`` reads it)
    and the stamp of its label set (``Project.label_choices`` reads that)."""
    row = _fetch_one(using, _project_sql(using), {"user": user.pk, "slug": slug}, "project")
    return None if row is None else _project_from(row, user, using)


def _project_from(row: Sequence[Any], user: AbstractBaseUser, using: str) -> Project:
    from claims.models import Project

    project = _instance(Project, row[:-3], using)
    if not user.is_superuser:
        project.member_role = row[-3]
    project.label_count, project.labels_updated = row[-2], row[-1]
    return project


@cache
def _claim_sql(using: str) -> str:
    from claims.models import Article, Claim

    q = connections[using].ops.quote_name
    return f"""
        SELECT {_columns(Claim, "c", using)}, {_columns(Article, "a", using)}
        FROM {q(Claim._meta.db_table)} c JOIN {q(Article._meta.db_table)} a ON a.id = c.article_id
        WHERE c.id = %(claim)s AND c.project_id = %(project)s"""


def claim_with_article(claim_id: int, project: Project, using: str = "default") -> Claim | None:
    """The project's claim with its article (what select_related("article") reads)."""
    row = _fetch_one(using, _claim_sql(using), {"claim": claim_id, "project": project.pk}, "claim")
    return None if row is None else _claim_from(row, project, using)


def _claim_from(row: Sequence[Any], project: Project, using: str) -> Claim:
    """A claim and its article from a row of their columns (``_claim_sql``)."""
    from claims.models import Article, Claim

    width = len(Claim._meta.concrete_fields)
    claim = _instance(Claim, row[:width], using)
    claim.article = _instance(Article, row[width:], using)
    claim.article.project = claim.project = project
    return claim


@cache
def _source_sql(using: str) -> str:
    from claims.models import Source, SourceAlias

    q = connections[using].ops.quote_name
    return f"""
        SELECT {_columns(Source, "s", using)}
        FROM {q(SourceAlias._meta.db_table)} sa JOIN {q(Source._meta.db_table)} s
          ON s.id = sa.source_id
        WHERE s.project_id = %(project)s AND sa.normalized = %(normalized)s
        ORDER BY sa.source_id, sa.alias LIMIT 1"""


def source_named(project_id: int, normalized: str, using: str = "default") -> Source | None:
    """The project's source one of whose aliases is ``normalized`` (looked up for
    every source of every label saved)."""
    from claims.models import Source

    row = _fetch_one(
        using, _source_sql(using), {"project": project_id, "normalized": normalized}, "source"
    )
    return None if row is None else _instance(Source, row, using)


@cache
def _spans_sql(using: str) -> str:
    from claims.models import Claim

    q = connections[using].ops.quote_name
    table = q(Claim._meta.db_table)
    return f"SELECT id, start, {q('end')} FROM {table} WHERE article_id = %s ORDER BY start"


@cache
def _hand_out_sql(using: str) -> str:
    from claims.models import Annotation, Article, Assignment, Claim, Reservation, Skip

    q = connections[using].ops.quote_name
    claim, reservation = q(Claim._meta.db_table), q(Reservation._meta.db_table)
    annotation, skip = q(Annotation._meta.db_table), q(Skip._meta.db_table)
    assignment, article = q(Assignment._meta.db_table), q(Article._meta.db_table)
    index = q("index")
    not_mine = (
        f"NOT EXISTS (SELECT 1 FROM {annotation} a "
        f"WHERE a.claim_id = c.id AND a.annotator_id = %(user)s)"
    )
    # Open: under K labels counting others' live reservations, neither
    # labelled nor skipped by this annotator, and in an article assigned to
    # them if a manager assigned them any. The two uncorrelated sub-queries
    # about assignments are evaluated once per statement.
    open_claim = f"""
        c.project_id = %(project)s AND c.annotation_count < %(k)s AND {not_mine}
        AND NOT EXISTS (SELECT 1 FROM {skip} s WHERE s.claim_id = c.id AND s.user_id = %(user)s)
        AND c.annotation_count + (
            SELECT COUNT(*) FROM {reservation} r
            WHERE r.claim_id = c.id AND r.expires_at > %(now)s AND r.user_id <> %(user)s
        ) < %(k)s
        AND (
            NOT EXISTS (
                SELECT 1 FROM {assignment} g JOIN {article} ar ON ar.id = g.article_id
                WHERE ar.project_id = %(project)s AND g.user_id = %(user)s
            )
            OR EXISTS (
                SELECT 1 FROM {assignment} g
                WHERE g.article_id = c.article_id AND g.user_id = %(user)s
            )
        )"""
    # The article of the annotator's latest new label (by creation, so that
    # editing an old label does not pull them back into its article). The
    # label first, then its claim: written as a join, PostgreSQL put a
    # Memoize between the two, whose hash table it allocated on every run,
    # used or not: 2.1 of the hand-out's 2.5 ms.
    current_article = f"""(
        SELECT lc.article_id FROM {claim} lc WHERE lc.id = (
            SELECT la.claim_id FROM {annotation} la
            WHERE la.project_id = %(project)s AND la.annotator_id = %(user)s
            ORDER BY la.created_at DESC, la.id DESC LIMIT 1))"""
    held = f"""
        SELECT c.id FROM {claim} c JOIN {reservation} r ON r.claim_id = c.id
        WHERE c.project_id = %(project)s AND r.user_id = %(user)s AND r.expires_at > %(now)s
          AND c.annotation_count < %(k)s AND {not_mine}
        ORDER BY c.article_id, c.{index} LIMIT 1"""
    in_current = f"""
        SELECT c.id FROM {claim} c
        WHERE c.article_id = {current_article} AND {open_claim}
        ORDER BY c.{index} LIMIT 1"""
    # The articles after theirs first: the claims before it are mostly
    # labelled by them, and walking past those to reach the first open claim
    # of the project took a step per label they had made (15 ms at 60,000).
    after_current = f"""
        SELECT c.id FROM {claim} c WHERE c.article_id > {current_article} AND {open_claim}
        ORDER BY c.article_id, c.{index} LIMIT 1"""
    first_open = f"""
        SELECT c.id FROM {claim} c WHERE {open_claim}
        ORDER BY c.article_id, c.{index} LIMIT 1"""
    # COALESCE evaluates its arguments in order and stops at the first that
    # is not NULL (on both databases), and each look-up stops at its first
    # row: the later look-ups never run when an earlier one finds a claim.
    # (A UNION ALL sorted by branch ran them all.) The LIMIT keeps the
    # databases from copying the COALESCE into the WHERE clause, which ran the
    # look-ups twice; the WHERE also lets SQLite tell the SELECT from the ON
    # CONFLICT clause.
    return f"""
        INSERT INTO {reservation} (claim_id, user_id, expires_at)
        SELECT picked.id, %(user)s, %(expires)s
        FROM (
            SELECT COALESCE(({held}), ({in_current}), ({after_current}), ({first_open})) AS id
            LIMIT 1
        ) picked
        WHERE picked.id IS NOT NULL
        ON CONFLICT (claim_id, user_id) DO UPDATE SET expires_at = excluded.expires_at
        RETURNING claim_id"""


@cache
def _handed_out_claim_sql(using: str) -> str:
    """PostgreSQL: the hand-out, answering with what the labelling page shows of
    the claim handed out: the claim and its article (``_claim_sql``'s columns)
    and the article's claims as (id, start, end) in text order (``_spans_sql``),
    one array. SQLite has no INSERT in a WITH clause: there they are read after."""
    from claims.models import Article, Claim

    q = connections[using].ops.quote_name
    claim = q(Claim._meta.db_table)
    return f"""
        WITH handed AS ({_hand_out_sql(using)})
        SELECT {_columns(Claim, "c", using)}, {_columns(Article, "a", using)},
            ARRAY(SELECT ARRAY[s.id, s.start, s.{q("end")}] FROM {claim} s
                  WHERE s.article_id = c.article_id ORDER BY s.start)
        FROM handed JOIN {claim} c ON c.id = handed.claim_id
          JOIN {q(Article._meta.db_table)} a ON a.id = c.article_id"""


def hand_out(
    project: Project,
    user_id: int,
    now: datetime,
    expires: datetime,
    using: str,
    *,
    along: Sequence[Statement] = (),
) -> tuple[Claim | None, list[tuple[int, int, int]], list[list[tuple[Any, ...]]]]:
    """Reserve the annotator's next claim until ``expires``.

    Returns the claim with its article (None when none is left), the
    article's claims as (id, start, end) in text order, and the rows of each
    statement ``along``, which are read first: on PostgreSQL all of it in one
    round trip to the server, the ``along`` statements before the queue's
    lock is taken, so they do not lengthen it.
    """
    from claims.models import Project

    connection = connections[using]
    ops = connection.ops
    params: dict[str, Any] = {
        "project": project.pk,
        "user": user_id,
        "k": project.annotations_per_claim,
        "now": ops.adapt_datetimefield_value(now),
        "expires": ops.adapt_datetimefield_value(expires),
    }
    if not connection.features.has_select_for_update:
        # SQLite: the statement is its own transaction (see the module's docstring).
        read_along = [_fetch(using, *statement) for statement in along]
        row = _fetch_one(using, _hand_out_sql(using), params, "hand_out")
        claim = None if row is None else claim_with_article(row[0], project, using)
        if claim is None:
            return None, [], read_along
        spans = _fetch(using, _spans_sql(using), [claim.article_id], "spans")
        return claim, [tuple(span) for span in spans], read_along
    # Serialise hand-outs per project (see the module's docstring). NO KEY
    # UPDATE, not UPDATE: a label being saved meanwhile inserts rows
    # referencing the project (a KEY SHARE lock) while holding its claim, and
    # our insert waits on that claim; a full UPDATE lock would make the two
    # wait on each other. The commit does not wait for the write-ahead log to
    # reach the disk (synchronous_commit off, for this transaction only): the
    # lock is held until the commit, and a reservation lost in a crash is
    # only handed out again.
    lock = (
        "SELECT set_config('synchronous_commit', 'off', true) "
        f"FROM {ops.quote_name(Project._meta.db_table)} WHERE id = %(project)s FOR NO KEY UPDATE"
    )
    # The lock and the hand-out travel together, in one transaction
    # (``_fetch_together``): the lock is taken before the hand-out reads (each
    # statement reads committed rows as of its own start) and held to the
    # commit. Outside a caller's transaction, one round trip to the server
    # instead of four (BEGIN, the lock, the hand-out, COMMIT).
    *read_along, _, handed_out = _fetch_together(
        using,
        [
            *along,
            (lock, {"project": project.pk}, "queue_lock"),
            (_handed_out_claim_sql(using), params, "hand_out"),
        ],
    )
    if not handed_out:
        return None, [], read_along
    *columns, spans = handed_out[0]
    return _claim_from(columns, project, using), [tuple(span) for span in spans], read_along


@cache
def _progress_sql(using: str, *, since_anchor: bool, before: bool, with_total: bool) -> str:
    from claims.models import Annotation, Claim, Skip

    q = connections[using].ops.quote_name
    claim, annotation, skip = (
        q(Claim._meta.db_table),
        q(Annotation._meta.db_table),
        q(Skip._meta.db_table),
    )
    mine = f"FROM {annotation} a WHERE a.project_id = %(project)s AND a.annotator_id = %(user)s"
    my_skips = (
        f"FROM {skip} s JOIN {claim} sc ON sc.id = s.claim_id "
        f"WHERE sc.project_id = %(project)s AND s.user_id = %(user)s"
    )
    earlier = " AND a.created_at < %(before)s" if before else ""
    earlier_skip = " AND s.created_at < %(before)s" if before else ""
    since = " AND a.created_at > %(anchor)s" if since_anchor else ""
    columns = [
        # COUNT in a scalar sub-query: the database counts index entries of
        # (project, annotator, created_at), from the anchor on if there is one.
        f"(SELECT COUNT(*) {mine}{since})",
        f"(SELECT a.created_at {mine} ORDER BY a.created_at DESC LIMIT 1)",
        f"(SELECT a.created_at {mine}{earlier} ORDER BY a.created_at DESC LIMIT 1)",
        f"(SELECT a.claim_id {mine}{earlier} ORDER BY a.created_at DESC LIMIT 1)",
        f"(SELECT s.created_at {my_skips}{earlier_skip} ORDER BY s.created_at DESC LIMIT 1)",
        f"(SELECT s.claim_id {my_skips}{earlier_skip} ORDER BY s.created_at DESC LIMIT 1)",
        f"(SELECT COUNT(*) FROM {claim} c WHERE c.project_id = %(project)s)"
        if with_total
        else "NULL",
    ]
    return "SELECT " + ", ".join(columns)


def progress_statement(
    project_id: int,
    user_id: int,
    *,
    anchor: datetime | None,
    before: datetime | None,
    with_total: bool,
    using: str = "default",
) -> Statement:
    """The labelling page's figures in one statement of index look-ups
    (``progress_figures`` reads its row): labels since ``anchor`` or all, when
    the latest label was made, the latest label and the latest skip before
    ``before`` (or at all) as (created_at, claim_id) pairs, the project's
    claim count if ``with_total``."""
    adapt = connections[using].ops.adapt_datetimefield_value
    params = {"project": project_id, "user": user_id}
    if anchor is not None:
        params["anchor"] = adapt(anchor)
    if before is not None:
        params["before"] = adapt(before)
    sql = _progress_sql(
        using, since_anchor=anchor is not None, before=before is not None, with_total=with_total
    )
    return sql, params, "progress"


def progress_figures(row: Sequence[Any]) -> tuple[Any, ...]:
    """The figures of ``progress_statement``'s row, its dates as dates."""
    times = (1, 2, 4)
    return tuple(_as_datetime(v) if i in times else v for i, v in enumerate(row))


def progress_row(
    statement: Statement, spans_of: int, using: str = "default"
) -> tuple[tuple[Any, ...], list[tuple[int, int, int]]]:
    """The figures of ``statement`` (``progress_statement``) and the claims of
    article ``spans_of`` as (claim id, start, end) in text order, read in the
    same round trip on PostgreSQL."""
    figures, spans = _fetch_together(using, [statement, (_spans_sql(using), [spans_of], "spans")])
    return progress_figures(figures[0]), [tuple(span) for span in spans]


def _as_datetime(value: Any) -> datetime | None:
    """A date read by hand: SQLite gives a computed column's date as text, in UTC."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = parse_datetime(value)
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed


@cache
def _label_state_sql(
    using: str, *, with_token: bool, lock: bool, wordings: int, next_id: bool
) -> str:
    from claims.models import (
        Annotation,
        AnnotationRevision,
        Claim,
        Reservation,
        Skip,
        Source,
        SourceAlias,
    )

    q = connections[using].ops.quote_name
    claim, annotation = q(Claim._meta.db_table), q(Annotation._meta.db_table)
    revision, reservation = q(AnnotationRevision._meta.db_table), q(Reservation._meta.db_table)
    skip = q(Skip._meta.db_table)
    live = f"FROM {reservation} r WHERE r.claim_id = c.id AND r.expires_at > %(now)s"
    replayed = (
        f"(SELECT v.annotation_id FROM {revision} v WHERE v.form_token = %(token)s LIMIT 1)"
        if with_token
        else "NULL"
    )
    columns = [
        _columns(Claim, "c", using),
        # Under the lock: a twin request (double click) that held it may have
        # committed this very token while we waited.
        replayed,
        f"(SELECT a.id FROM {annotation} a "
        f"WHERE a.claim_id = c.id AND a.annotator_id = %(user)s LIMIT 1)",
        f"EXISTS (SELECT 1 {live} AND r.user_id = %(user)s)",
        f"(SELECT COUNT(*) {live} AND r.user_id <> %(user)s)",
        f"EXISTS (SELECT 1 FROM {skip} s WHERE s.claim_id = c.id AND s.user_id = %(user)s)",
        f"EXISTS (SELECT 1 FROM {reservation} r WHERE r.user_id = %(user)s "
        f"AND (r.claim_id = c.id OR r.expires_at <= %(now)s))",
        # The id a new label would get (see label_state).
        f"nextval(pg_get_serial_sequence('{annotation}', 'id'))" if next_id else "NULL",
    ]
    sql = f"SELECT {', '.join(columns)}"
    if wordings:
        # The project's sources the posted names are aliases of, one row each
        # (as source_named finds them); no row of them leaves one row of NULLs.
        names = ", ".join(f"%(wording{n})s" for n in range(wordings))
        sql += f""", named.wording, {_columns(Source, "named", using)}
            FROM {claim} c LEFT JOIN (
                SELECT sa.normalized AS wording, sa.alias AS alias, {_columns(Source, "s", using)}
                FROM {q(SourceAlias._meta.db_table)} sa
                  JOIN {q(Source._meta.db_table)} s ON s.id = sa.source_id
                WHERE s.project_id = %(project)s AND sa.normalized IN ({names})
            ) named ON 1 = 1"""
    else:
        sql += f" FROM {claim} c"
    sql += " WHERE c.id = %(claim)s AND c.project_id = %(project)s"
    if wordings:
        sql += " ORDER BY named.id, named.alias"
    return sql + " FOR NO KEY UPDATE OF c" if lock else sql


def label_state(
    claim_id: int,
    project_id: int,
    user_id: int,
    form_token: Any,
    now: datetime,
    wordings: Sequence[str],
    using: str,
) -> tuple[Claim, dict[str, Any], dict[str, Source]] | None:
    """What saving a label decides on, read in one statement under the claim's lock.

    The project's claim (None when it has none of this id); the state (label
    count, the annotation a revision with this form token belongs to, my
    annotation, whether I hold a live reservation, how many others do,
    whether I skipped the claim, whether I have reservations to drop); and
    the project's sources the normalised ``wordings`` name, by wording.

    On PostgreSQL the state also holds ``next_id``, an id from the labels'
    sequence: a new label inserted with it needs no RETURNING, so its insert
    can travel with the statements after it (``write``) instead of taking
    a round trip of its own. An id drawn for a label not saved is a gap in
    the sequence, as a rolled-back insert leaves.
    """
    from claims.models import Claim, Source

    connection = connections[using]
    wordings = list(dict.fromkeys(wordings))
    params = {
        "claim": claim_id,
        "project": project_id,
        "user": user_id,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    params |= {f"wording{n}": wording for n, wording in enumerate(wordings)}
    if form_token is not None:
        from claims.models import AnnotationRevision

        token_field = AnnotationRevision._meta.get_field("form_token")
        params["token"] = token_field.get_db_prep_value(form_token, connection)
    sql = _label_state_sql(
        using,
        with_token=form_token is not None,
        lock=connection.features.has_select_for_update,
        wordings=len(wordings),
        next_id=connection.vendor == "postgresql",
    )
    rows = _fetch(using, sql, params, "label_state")
    if not rows:
        return None
    width = len(Claim._meta.concrete_fields)
    claim = _instance(Claim, rows[0][:width], using)
    names = (
        "replayed", "mine", "reserved_by_me", "reserved_by_others", "skipped",
        "reservations_to_drop", "next_id",
    )  # fmt: skip
    state = dict(zip(names, rows[0][width : width + len(names)], strict=True))
    named: dict[str, Source] = {}
    for row in rows if wordings else ():
        wording, source = row[width + len(names)], row[width + len(names) + 1 :]
        if wording is not None and wording not in named:
            named[wording] = _instance(Source, source, using)
    return claim, state, named
