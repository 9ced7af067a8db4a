"""How Tally's code reaches the database: one way for each purpose, all of them here or Django's.

- Rows of a model (the admin, forms, status rows, most reads): the ORM.
- Hot, written-out statements run on every command or page view (the event store's load and
  append, the session, the user with their roles, the account page's reads, read-your-writes
  checks): `prepared_cursor()`, and `load_models()` for model instances.
- Other written-out SQL: set-based statements whose plan must see their parameters (a
  projector's span, a rebuild), locks, maintenance, rare reads: `fetch()` / `execute()`, on
  Django's own cursor (`connection.cursor()` itself where several statements share one).
- COPY, in or out (verify_projections streams its replay into a temporary table): `copy_cursor()`.
- Several statements whose answers nothing waits for (the projectors' applies of one span):
  `fetch()` / `execute()` inside `pipeline()`, sent together.

Reads go to the request's reading database: a replica while ledger/store/replicas.py has chosen one
for a screen (`reading_from`), the primary everywhere else; `fetch()`, `prepared_cursor()` and
`load_models()` follow it, and the ORM follows it for the ledger's and the projections' models
(config/replicas.py). What must see the primary's latest state (the write path, users, read-your-
writes' "was this written") asks for it with `primary=True`; `execute()` and COPY always run there.

Statements through `fetch()`/`execute()` are never prepared (but inside `generic_plans()`, which the
runner opens for a live span of a few events): a prepared statement may switch to a generic plan made
without the parameters, and a span's bounds are what lets the planner tell a catch-up of ten events
from a rebuild span of 200,000. They run on Django's cursor, so errors
arrive as django.db exceptions, inside the caller's transaction, and DEBUG's query log sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

Row = tuple[Any, ...]

# Which database this request's reads go to. A context variable, so each web thread has its own.
_reading: ContextVar[str] = ContextVar("tally_reading", default=DEFAULT_DB_ALIAS)


def reading_alias() -> str:
    """The alias of the database this request reads from (DEFAULT_DB_ALIAS: the primary)."""
    return _reading.get()


@contextmanager
def reading_from(alias: str) -> Iterator[None]:
    """Reads inside go to database `alias` (a replica), unless read_from_primary() says otherwise."""
    token = _reading.set(alias)
    try:
        yield
    finally:
        _reading.reset(token)


def read_from_primary() -> None:
    """The rest of the enclosing reading_from() reads the primary: the replica has not caught up with
    what this request must show."""
    _reading.set(DEFAULT_DB_ALIAS)


def _reads(primary: bool) -> BaseDatabaseWrapper:
    return connection if primary else connections[_reading.get()]


def fetch(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[Row]:
    """The rows of one written-out statement (never prepared but inside `generic_plans()`), from the
    reading database."""
    with _written_out_cursor(primary=False) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
    """Run one written-out statement (never prepared but inside `generic_plans()`) for its effect."""
    with _written_out_cursor(primary=True) as cursor:
        cursor.execute(sql, params)


# Whether fetch() and execute() prepare their statements, with generic plans (`generic_plans()`).
_generic: ContextVar[bool] = ContextVar("tally_generic_plans", default=False)


def _written_out_cursor(*, primary: bool) -> Any:
    if _generic.get():
        return prepared_cursor(primary=primary)
    return _reads(primary).cursor()


@contextmanager
def generic_plans() -> Iterator[None]:
    """`fetch()` and `execute()` inside prepare their statements (from their third run in a
    connection) and run them with Postgres's generic plan, made once for any parameters, in the
    caller's transaction. For set-based statements known to touch a few rows (a live span's: the
    runner's choice): parsing and planning them cost more than running them. Measured 2026-12-07 on
    the six projectors' statements for a span of one deposit: 5.6 ms unprepared, 3.3 ms prepared
    with Postgres choosing the plan (it kept re-planning the biggest three), 1.9 ms with the generic
    plan. Never for a rebuild's spans: a plan blind to the span's bounds is what made rebuilds slow
    (see prepared_cursor). The plan mode is set back at the end of the block; after an error, the
    caller's rollback undoes it."""
    execute("SET LOCAL plan_cache_mode = force_generic_plan")
    token = _generic.set(True)
    try:
        yield
    finally:
        _generic.reset(token)
    execute("SET LOCAL plan_cache_mode TO DEFAULT")


@contextmanager
def copy_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """The psycopg cursor under Django's, for COPY (which Django's cursor does not offer), in the
    caller's transaction."""
    with connection.cursor() as cursor:
        yield cursor.cursor


@contextmanager
def pipeline() -> Iterator[None]:
    """Statements run inside (on the primary) are sent without waiting for each one's answer:
    psycopg's pipeline mode, one round trip for the lot instead of one each. A `fetch()` inside waits
    for its own rows (and everything sent before it). An error of any of them is raised by the
    statement that reads a result after it, or at the end of the block, as psycopg's own exception
    (not django.db's), and the statements after it are not run: use it only where the caller treats
    any error of the block as the block's, inside a transaction that then rolls back."""
    connection.ensure_connection()
    with connection.connection.pipeline():
        yield


@contextmanager
def prepared_cursor(*, primary: bool = False) -> Iterator[Any]:
    """A server-binding cursor on Django's connection.

    Django's own cursors bind parameters on the client, so every execution sends the whole SQL
    text and Postgres parses and plans it again. A server-binding cursor sends parameters apart,
    so psycopg prepares a statement once it has run `prepare_threshold` times (set in the
    database OPTIONS; Django's client-binding cursors ignore it) and later executions skip
    parsing and planning. Wrapped the way Django wraps its own, so errors arrive as django.db
    exceptions and DEBUG's query log and CaptureQueriesContext still see every statement (with
    $n placeholders).

    Against Django's own `server_side_binding` option (every cursor server-binding, so every
    statement prepared on its third run; measured 2026-12-01, account page and accounts list through
    gunicorn, three alternating rounds of 1,000 requests): p95 108 / 83 ms and 128 / 78 ms (median of
    rounds), no difference beyond the machine's noise. Kept because that option prepares every
    statement, the projectors' set-based ones too, and a prepared statement may fall back to a
    generic plan made without its parameters: a span's bounds are what tells the planner a catch-up
    of ten events from a rebuild span of 200,000 (with a plan blind to them a rebuild took twice as
    long). Here only the statements chosen for it are prepared.
    """
    db = _reads(primary)
    db.close_if_health_check_failed()  # as connection.cursor() does: a dead connection is replaced
    db.ensure_connection()
    raw = psycopg.Cursor(db.connection)
    # django-stubs expect Django's wrapper where Django itself passes the driver's cursor, as here.
    make = db.make_debug_cursor if db.queries_logged else db.make_cursor
    wrapped = make(raw)  # type: ignore[arg-type]
    with wrapped as cursor:
        yield cursor


def columns(model: type[Model], alias: str = "") -> str:
    """The model's columns, in field order, for the SELECT list of a query load_models reads."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{f.column}"' for f in model._meta.concrete_fields)


def load_models[M: Model](
    model: type[M],
    sql: str,
    params: Sequence[Any] | dict[str, Any],
    extra: Sequence[str] = (),
    *,
    primary: bool = False,
) -> list[M]:
    """Instances of `model` from a prepared statement whose columns are `columns(model)` followed
    by one column for each name in `extra`, set on each instance as an attribute."""
    names = [f.attname for f in model._meta.concrete_fields]
    width = len(names)
    with prepared_cursor(primary=primary) as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    alias = DEFAULT_DB_ALIAS if primary else reading_alias()
    found = []
    for row in rows:
        instance = model.from_db(alias, names, row[:width])
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found
