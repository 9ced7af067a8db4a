"""Helpers for event-store tests: raw events, and a database session outside Django's own."""

from __future__ import annotations

from uuid import uuid4

import psycopg
from django.db import connection

from ledger.store import NewEvent


def own_connection(*, autocommit: bool = False, dbname: str | None = None) -> psycopg.Connection:
    """A session of its own on the test database (or on `dbname` of the same server), as another
    process would have: plain psycopg, without Django's cursor factory or adapters."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    if dbname is not None:
        params["dbname"] = dbname
    return psycopg.connect(**params, autocommit=autocommit)


def new_event(stream_id, version, type_="NoteTaken", data=None, schema_version=1):
    """A raw event of a type no projector handles, so committed ones never reach the read models."""
    return NewEvent(
        event_id=uuid4(),
        stream_id=stream_id,
        stream_type="account",
        version=version,
        type=type_,
        schema_version=schema_version,
        data=data
        if data is not None
        else {"account_id": str(stream_id), "amount": version, "currency": "EUR", "memo": ""},
        metadata={"actor": "test"},
    )
