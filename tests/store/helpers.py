"""Helpers for tests that need the database outside Django's own session."""

from __future__ import annotations

import psycopg
from django.db import connection


def own_connection(*, autocommit: bool = False, dbname: str | None = None) -> psycopg.Connection:
    """A session of its own on the test database (or on `dbname` of the same server), as another
    process would have: plain psycopg, without Django's cursor factory or adapters."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    if dbname is not None:
        params["dbname"] = dbname
    return psycopg.connect(**params, autocommit=autocommit)
