"""What every projector is: a name, the event types it handles, its tables, and a fold.

Each projector keeps its logic in one plain-Python fold. `apply` loads the rows a batch touches
(one query), folds the batch in memory and writes the result with one set-based statement; the
runner commits that together with the projector's checkpoint. `expected` runs the very same fold
over every event from nothing, and `verify_projections` compares it with `table_rows`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from typing import Any, ClassVar

import psycopg
from django.db import connection

from ledger.eventstore import RecordedEvent

Row = tuple[Any, ...]


class Projector(ABC):
    name: ClassVar[str]
    handles: ClassVar[frozenset[str]]
    tables: ClassVar[tuple[str, ...]]

    @abstractmethod
    def apply(self, events: list[RecordedEvent]) -> None:
        """Write the effect of `events` (already filtered to `handles`) to the tables."""

    @abstractmethod
    def expected(self, events: Iterable[RecordedEvent]) -> dict[Hashable, Row]:
        """The rows the tables should hold after every one of `events`, computed in memory."""

    @abstractmethod
    def table_rows(self) -> dict[Hashable, Row]:
        """The rows the tables hold, in the same shape as `expected`."""

    def reset(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {', '.join(self.tables)}")


def _cursor() -> psycopg.Cursor:
    """A cursor on Django's connection, so inside the runner's transaction, that binds parameters
    on the server. Django's own cursor binds them on the client: it quotes every element of a
    batch's arrays into the SQL text in Python, which was a quarter of a rebuild's time. With
    %b placeholders the arrays travel in binary. (Performance; the SQL is unchanged.)"""
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection)


def fetch(sql: str, params: Any = None) -> list[Row]:
    with _cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params: Any = None) -> None:
    with _cursor() as cursor:
        cursor.execute(sql, params)


def copy_rows(table: str, columns: str, rows: Iterable[Row]) -> None:
    """Insert rows with COPY: for an insert-only read model, 4x faster than INSERT ... unnest."""
    with _cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
