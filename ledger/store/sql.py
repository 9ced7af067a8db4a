"""How Tally's code reaches the database: one way for each purpose, all of them here or Django's.

- Rows of a model (the admin, forms, status rows, most reads): the ORM.
- Hot, written-out statements run on every command or page view (the event store's load and
  append, the session, the user with their roles, the account page's reads, read-your-writes
  checks): `prepared_cursor()`, and `load_models()` for model instances.
- Other written-out SQL: set-based statements whose plan must see their parameters (a
  projector's span, a rebuild), locks, maintenance, rare reads: `fetch()` / `execute()`, on
  Django's own cursor (`connection.cursor()` itself where several statements share one).
- COPY, in or out (verify_projections streams its replay into a temporary table): `copy_cursor()`.

Statements through `fetch()`/`execute()` are never prepared: a prepared statement may switch to a
generic plan made without the parameters, and a span's bounds are what lets the planner tell a
catch-up of ten events from a rebuild span of 200,000. They run on Django's cursor, so errors
arrive as django.db exceptions, inside the caller's transaction, and DEBUG's query log sees them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import connection
from django.db.models import Model

Row = tuple[Any, ...]


def fetch(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> list[Row]:
    """The rows of one written-out statement (never prepared)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
    """Run one written-out statement (never prepared) for its effect."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@contextmanager
def copy_cursor() -> Iterator[psycopg.Cursor[Any]]:
    """The psycopg cursor under Django's, for COPY (which Django's cursor does not offer), in the
    caller's transaction."""
    with connection.cursor() as cursor:
        yield cursor.cursor


@contextmanager
def prepared_cursor() -> Iterator[Any]:
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
    connection.close_if_health_check_failed()  # as connection.cursor() does: a dead connection is replaced
    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    # django-stubs expect Django's wrapper where Django itself passes the driver's cursor, as here.
    make = connection.make_debug_cursor if connection.queries_logged else connection.make_cursor
    wrapped = make(raw)  # type: ignore[arg-type]
    with wrapped as cursor:
        yield cursor


def columns(model: type[Model], alias: str = "") -> str:
    """The model's columns, in field order, for the SELECT list of a query load_models reads."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{f.column}"' for f in model._meta.concrete_fields)


def load_models[M: Model](
    model: type[M], sql: str, params: Sequence[Any] | dict[str, Any], extra: Sequence[str] = ()
) -> list[M]:
    """Instances of `model` from a prepared statement whose columns are `columns(model)` followed
    by one column for each name in `extra`, set on each instance as an attribute."""
    names = [f.attname for f in model._meta.concrete_fields]
    width = len(names)
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        instance = model.from_db(connection.alias, names, row[:width])
        for name, value in zip(extra, row[width:], strict=True):
            setattr(instance, name, value)
        found.append(instance)
    return found
