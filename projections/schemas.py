"""Where a projection's tables live: the live ones in `public`, which every screen reads; a blue/green
rebuild's new ones in SHADOW until they are swapped in; the ones they replaced in PREVIOUS, kept for a
rollback (projections/bluegreen.py).

Each of those schemas holds the projector's tables under their live names and a status table of its
own (the checkpoints of the tables beside it). The runner and verify_projections work on another
generation by putting its schema first on the search path: the projectors' SQL, the ORM's status
rows and the checkpoints then resolve to that generation's tables, while the event log, which exists
only in `public`, is read from there. No projector names a schema, so there is one SQL per projector
whichever tables it fills.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from ledger.store import EVENTLESS_SESSION
from ledger.store.sql import execute, fetch
from projections.models import ProjectionStatus

LIVE = "public"
SHADOW = "tally_shadow"
PREVIOUS = "tally_previous"
# Tables pass through this one inside the swap's transaction when two generations change places.
SWAP = "tally_swap"
GENERATIONS = (SHADOW, PREVIOUS, SWAP)
STATUS_TABLE = ProjectionStatus._meta.db_table


@contextmanager
def tables_in(schema: str | None) -> Iterator[None]:
    """On this thread's connection, the projection tables of `schema` (the live ones when None) for
    the duration; the search path goes back to the server's default afterwards."""
    if schema is None or schema == LIVE:
        yield
        return
    if schema not in GENERATIONS:
        raise ValueError(f"not a projection schema: {schema}")
    # Named as a session that never appends an event (no projector does, and process managers never
    # run on another generation's tables): its long rebuild batches must not hold the live read
    # side back (ledger/store/read.py, HORIZON_SQL).
    execute(f"SET search_path TO {schema}, {LIVE}")
    execute("SELECT set_config('application_name', %s, false)", [EVENTLESS_SESSION])
    try:
        yield
    finally:
        # A lost connection has no search path left to restore, and trying would hide the real error.
        if connection.connection is not None and not connection.connection.closed:
            execute("SET search_path TO DEFAULT")
            execute("SET application_name TO DEFAULT")


def exists(schema: str, table: str) -> bool:
    return fetch("SELECT to_regclass(%s) IS NOT NULL", [f"{schema}.{table}"])[0][0]


def column_shape(schema: str, table: str) -> list[tuple[str, str]]:
    """The table's columns (name, type) in order: what must agree before tables change places."""
    return [
        (row[0], row[1])
        for row in fetch(
            """SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
            [f"{schema}.{table}"],
        )
    ]


def create_like_live(schema: str, table: str) -> None:
    """An empty copy of the live table in `schema`: its columns, defaults and identity, and its
    constraints and indexes under their live names (each schema has its own namespace of index
    names), so that once swapped in it is the table the migrations made, name for name."""
    execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    execute(f"DROP TABLE IF EXISTS {schema}.{table}")
    execute(
        f"CREATE TABLE {schema}.{table} (LIKE {LIVE}.{table} INCLUDING DEFAULTS INCLUDING IDENTITY "
        "INCLUDING GENERATED INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    # Definitions as Postgres prints them with every name schema-qualified (pg_catalog only on the
    # search path), so that retargeting them is replacing the one table reference.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path'), set_config('search_path', 'pg_catalog', false)")
        (search_path, _) = cursor.fetchone()
        cursor.execute(
            """SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c
                WHERE c.conrelid = %s::regclass AND c.contype IN ('p', 'u', 'x') ORDER BY c.conname""",
            [f"{LIVE}.{table}"],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            """SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
                WHERE i.indrelid = %s::regclass
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                ORDER BY i.indexrelid""",
            [f"{LIVE}.{table}"],
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute("SELECT set_config('search_path', %s, false)", [search_path])
    for name, definition in constraints:
        execute(f'ALTER TABLE {schema}.{table} ADD CONSTRAINT "{name}" {definition}')
    live_reference = f" ON {LIVE}.{table} "
    for definition in indexes:
        if definition.count(live_reference) != 1:
            raise RuntimeError(f"cannot copy index {definition!r} of {table}")
        execute(definition.replace(live_reference, f" ON {schema}.{table} "))


def ensure_status_table(schema: str) -> None:
    """The generation's own status table, shaped as the live one (remade if a migration changed that)."""
    execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    if exists(schema, STATUS_TABLE) and column_shape(schema, STATUS_TABLE) == column_shape(LIVE, STATUS_TABLE):
        return
    execute(f"DROP TABLE IF EXISTS {schema}.{STATUS_TABLE}")
    execute(f"CREATE TABLE {schema}.{STATUS_TABLE} (LIKE {LIVE}.{STATUS_TABLE} INCLUDING ALL)")
