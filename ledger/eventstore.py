"""The event store: one append-only Postgres table, read and written with hand-written SQL.

- append(): one statement, so one round trip, writes any number of events (over several streams),
  the command record and snapshots atomically; UNIQUE (stream_id, version) is the optimistic lock.
- load(): one statement returns the command record (if the id was seen), snapshots and the
  events after them, for the streams a command needs.
- read_all(): every event in commit order, gap-safe (see the comment on _READ_ALL).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction

from config.db import prepared_cursor
from ledger.upcasting import upcast


class ConcurrencyError(Exception):
    """Another writer appended to one of the streams first; reload and decide again."""

    def __init__(self, message: str = "The account was changed by someone else at the same moment; "
                                      "please try again.") -> None:
        super().__init__(message)


class DuplicateCommand(Exception):
    """A command with this id was recorded first by a concurrent request."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_id: UUID
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    tx_id: int
    event_id: UUID
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int  # after upcasting: always the current shape
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """A place in the commit-ordered log of all events: the last (transaction id, position) read."""

    tx_id: int = 0
    position: int = 0


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: UUID
    type: str
    fingerprint: str
    position: int
    tx_id: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    stream_id: UUID
    version: int
    schema: int
    state: dict[str, Any]


@dataclass(slots=True)
class Loaded:
    command: CommandRecord | None = None
    snapshots: dict[UUID, Snapshot] = field(default_factory=dict)
    # (stream_id, version, type, schema_version, data), already upcast to the current shape
    events: list[tuple[UUID, int, str, int, dict[str, Any]]] = field(default_factory=list)


_LOAD = """
SELECT 0, NULL::uuid, NULL::integer, type, NULL::smallint, jsonb_build_object('fingerprint', fingerprint),
       position, tx_id::text
  FROM ledger_command WHERE command_id = %(command_id)s
UNION ALL
SELECT 1, stream_id, version, NULL, schema, state, NULL, NULL
  FROM ledger_snapshot WHERE stream_id = ANY(%(streams)s) AND schema = %(schema)s
UNION ALL
SELECT 2, e.stream_id, e.version, e.type, e.schema_version, e.data, NULL, NULL
  FROM unnest(%(streams)s::uuid[]) AS s(stream_id)
 CROSS JOIN LATERAL (
       -- Per stream, with the snapshot's version looked up first (an InitPlan), so that both
       -- halves of the index condition on (stream_id, version) are known: only the events after
       -- the snapshot are read. (Joined to the snapshot table instead, the version bound was a
       -- filter applied after reading every event of the stream: a deposit into an account with
       -- 10,000 events cost 4x one into a young account.)
       SELECT * FROM ledger_event e
        WHERE e.stream_id = s.stream_id
          AND e.version > coalesce((SELECT sn.version FROM ledger_snapshot sn
                                     WHERE sn.stream_id = s.stream_id AND sn.schema = %(schema)s), 0)
       ) e
ORDER BY 1, 2, 3
"""


def load(stream_ids: Sequence[UUID], *, command_id: UUID | None, snapshot_schema: int) -> Loaded:
    """Everything needed to decide a command, in one round trip."""
    loaded = Loaded()
    with prepared_cursor() as cursor:
        cursor.execute(_LOAD, {"command_id": command_id, "streams": list(stream_ids),
                               "schema": snapshot_schema})
        for kind, stream_id, version, type_, schema, text, position, tx_id in cursor.fetchall():
            data = json.loads(text)  # Django's psycopg setup hands jsonb over as text
            if kind == 0:
                loaded.command = CommandRecord(command_id, type_, data["fingerprint"], position, int(tx_id))
            elif kind == 1:
                loaded.snapshots[stream_id] = Snapshot(stream_id, version, schema, data)
            else:
                schema, data = upcast(type_, schema, data)
                loaded.events.append((stream_id, version, type_, schema, data))
    return loaded


def _append_sql(with_command: bool, with_snapshots: bool) -> str:
    # The events (and snapshots) travel as one JSON document each, not as one array per column:
    # psycopg dumps a list element by element in Python, which cost more than the rest of the
    # command, while json.dumps is C. The ordinality keeps the events in the order given, so
    # positions follow it (the debit of a transfer comes before its credit).
    parts = ["""WITH given AS (
    SELECT * FROM ROWS FROM (jsonb_to_recordset(%(events)s::jsonb) AS (
               event_id uuid, stream_id uuid, stream_type text, version integer, type text,
               schema_version smallint, data jsonb, metadata jsonb)) WITH ORDINALITY
        AS g(event_id, stream_id, stream_type, version, type, schema_version, data, metadata, n)
), ev AS (
    INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version, data, metadata,
                              recorded_at)
    SELECT event_id, stream_id, stream_type, version, type, schema_version, data, metadata,
           coalesce(%(recorded_at)s::timestamptz, now())
      FROM given
     WHERE (SELECT bool_and(pg_try_advisory_xact_lock(hashtextextended(s::text, 0)))
              FROM (SELECT DISTINCT stream_id FROM given) AS locked(s))
     ORDER BY n
    RETURNING position
)"""]
    if with_command:
        parts.append("""cmd AS (
    INSERT INTO ledger_command (command_id, type, fingerprint, position)
    SELECT %(command_id)s, %(command_type)s, %(fingerprint)s, max(position) FROM ev HAVING count(*) > 0
)""")
    if with_snapshots:
        parts.append("""snap AS (
    INSERT INTO ledger_snapshot (stream_id, version, schema, state)
    SELECT * FROM jsonb_to_recordset(%(snapshots)s::jsonb) AS (stream_id uuid, version integer, schema smallint,
                                                               state jsonb)
     WHERE EXISTS (SELECT FROM ev)  -- a snapshot is true only if these very events were appended
    ON CONFLICT (stream_id) DO UPDATE
       SET version = excluded.version, schema = excluded.schema, state = excluded.state, taken_at = now()
     WHERE ledger_snapshot.version < excluded.version OR ledger_snapshot.schema <> excluded.schema
)""")
    return ",\n".join(parts) + "\nSELECT max(position), pg_current_xact_id()::text FROM ev"


_APPEND_SQL = {(c, s): _append_sql(c, s) for c in (False, True) for s in (False, True)}
_compact = json.JSONEncoder(separators=(",", ":")).encode


def append(events: Sequence[NewEvent], *, command: tuple[UUID, str, str] | None = None,
           snapshots: Sequence[Snapshot] = (), recorded_at: datetime | None = None) -> Checkpoint:
    """Append atomically and return the (transaction id, position) of the last event.

    `command` is (command_id, type, fingerprint), recorded in the same statement so a command id
    is applied at most once. Raises ConcurrencyError if a stream moved past the expected version,
    DuplicateCommand if the command id was recorded meanwhile.

    `recorded_at` is for importing history (seed_demo, a migration from another ledger); live
    commands leave it to the database clock.

    For the instant of the statement it also takes each stream's advisory lock (without waiting):
    while a writer that lost a race holds a stream's lock to decide again (lock_streams), a
    newcomer yields to it instead of winning the race once more, so a busy account cannot starve
    a retried command.
    """
    if not events:
        raise ValueError("append() needs at least one event")
    params: dict[str, Any] = {
        "events": _compact([{"event_id": str(e.event_id), "stream_id": str(e.stream_id), "stream_type": e.stream_type,
                             "version": e.version, "type": e.type, "schema_version": e.schema_version,
                             "data": e.data, "metadata": e.metadata} for e in events]),
        "recorded_at": recorded_at,
    }
    if command is not None:
        params["command_id"], params["command_type"], params["fingerprint"] = command
    if snapshots:
        params["snapshots"] = _compact([{"stream_id": str(s.stream_id), "version": s.version, "schema": s.schema,
                                         "state": s.state} for s in snapshots])
    sql = _APPEND_SQL[(command is not None, bool(snapshots))]
    try:
        # In autocommit mode the single statement is its own transaction (one round trip); inside
        # a caller's transaction a savepoint keeps a lost race from poisoning that transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            with prepared_cursor() as cursor:
                cursor.execute(sql, params)
                position, tx_id = cursor.fetchone()
            if position is None:  # a stream was locked by a writer deciding again
                raise ConcurrencyError()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint == "ledger_event_stream_version":
            raise ConcurrencyError() from exc
        if constraint == "ledger_command_pkey":
            raise DuplicateCommand() from exc
        raise
    return Checkpoint(int(tx_id), position)


def lock_streams(stream_ids: Sequence[UUID]) -> None:
    """Wait for, and hold until the transaction ends, the advisory lock of each stream."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_streams() needs a transaction to hold the locks")
    with prepared_cursor() as cursor:
        for stream_id in sorted(stream_ids):  # one fixed order, so two transfers never deadlock
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s::text, 0))", [stream_id])


_COLUMNS = ("position, tx_id::text, event_id, stream_id, stream_type, version, type, schema_version, "
            "data, metadata, recorded_at")


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    position, tx_id, event_id, stream_id, stream_type, version, type_, schema, data, metadata, at = row
    schema, data = upcast(type_, schema, json.loads(data))
    return RecordedEvent(position, int(tx_id), event_id, stream_id, stream_type, version, type_, schema,
                         data, json.loads(metadata), at)


def read_stream(stream_id: UUID, *, to_version: int | None = None,
                as_of: datetime | None = None) -> list[RecordedEvent]:
    """One stream in version order, optionally only up to a version or a moment in time."""
    sql = f"SELECT {_COLUMNS} FROM ledger_event WHERE stream_id = %s"
    params: list[Any] = [stream_id]
    if to_version is not None:
        sql += " AND version <= %s"
        params.append(to_version)
    if as_of is not None:
        sql += " AND recorded_at <= %s"
        params.append(as_of)
    with connection.cursor() as cursor:
        cursor.execute(sql + " ORDER BY version", params)
        return [_recorded(row) for row in cursor.fetchall()]


# Positions come from a sequence, handed out at INSERT time, so a transaction can commit a lower
# position after a higher one is already visible. Reading in (tx_id, position) order, and only
# below the oldest transaction still running when the statement began, makes the log grow
# strictly at its end: an event is read only once no transaction that could commit before it is
# open. Transactions that pg_stat_activity shows in *other* databases of the cluster are left out
# (they can never write here, and a long one would stall every projection); one that finished
# meanwhile is not shown anywhere and so still counts, which keeps the horizon safe.
# Public for every reader of the log in commit order (the projection runner bounds its spans by
# it), so that the rule lives here only. Its "%%" is for a statement run with parameters.
HORIZON_SQL = """
SELECT coalesce(
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE x::text::bigint %% 4294967296 NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
             WHERE datname IS DISTINCT FROM current_database() AND backend_xid IS NOT NULL)),
    pg_snapshot_xmax(pg_current_snapshot()))
"""
# ORDER BY names the table's columns: a bare "tx_id" would mean the output column of that name,
# which _COLUMNS makes text (tx_id::text). Sorting by that text cannot use the (tx_id, position)
# index, so every batch read and sorted the whole rest of the log (a rebuild grew quadratic), and
# text order is not xid8 order ('99999' sorts after '100000').
_READ_ALL = f"""
SELECT {_COLUMNS} FROM ledger_event
 WHERE (tx_id, position) > (%s::text::xid8, %s)
   AND tx_id < ({HORIZON_SQL})
 ORDER BY ledger_event.tx_id, ledger_event.position
 LIMIT %s
"""


def read_all(after: Checkpoint = Checkpoint(), *, limit: int = 1000) -> list[RecordedEvent]:
    with connection.cursor() as cursor:
        cursor.execute(_READ_ALL, [str(after.tx_id), after.position, limit])
        return [_recorded(row) for row in cursor.fetchall()]


def head_position() -> int:
    """The highest position written so far (committed or not yet visible), 0 for an empty store."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
        return cursor.fetchone()[0]
