"""The write path's SQL: load what a command needs, append what it decided, in one statement each.

- append(): one statement, so one round trip, writes any number of events (over several streams),
  the command record and snapshots atomically; UNIQUE (stream_id, version) is the optimistic lock.
- load(): one statement returns the command record (if the id was seen), snapshots and the
  events after them, for the streams a command needs, and the keys that open their personal data.

Personal data (an account owner's name) is sealed on its way in and opened on its way out
(personal.py): the key of a new subject is inserted by the append statement that names it first,
and load() reads the keys with the events, so neither adds a round trip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from django.db import IntegrityError, connection, transaction

from ledger.store.personal import FORGETTING, SNAPSHOT_FIELDS, open_events, seal_new, unseal
from ledger.store.records import (
    Checkpoint,
    CommandRecord,
    ConcurrencyError,
    DuplicateCommand,
    Loaded,
    NewEvent,
    Snapshot,
)
from ledger.store.sql import prepared_cursor
from ledger.store.upcasting import upcast

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
UNION ALL
SELECT 3, subject_id, NULL, NULL, NULL, jsonb_build_object('key', encode(key, 'hex')), NULL, NULL
  FROM ledger_subject_key WHERE subject_id = ANY(%(streams)s)
ORDER BY 1, 2, 3
"""


def load(stream_ids: Sequence[UUID], *, command_id: UUID | None, snapshot_schema: int) -> Loaded:
    """Everything needed to decide a command, in one round trip."""
    loaded = Loaded()
    keys = loaded.keys
    with prepared_cursor(primary=True) as cursor:
        cursor.execute(_LOAD, {"command_id": command_id, "streams": list(stream_ids), "schema": snapshot_schema})
        for kind, stream_id, version, type_, schema, text, position, tx_id in cursor.fetchall():
            data = orjson.loads(text)  # Django's psycopg setup hands jsonb over as text
            if kind == 0 and command_id is not None:  # only asked for when there is an id
                loaded.command = CommandRecord(command_id, type_, data["fingerprint"], position, int(tx_id))
            elif kind == 1:
                loaded.snapshots[stream_id] = Snapshot(stream_id, version, schema, data)
            elif kind == 2:
                schema, data = upcast(type_, schema, data)
                loaded.events.append((stream_id, version, type_, schema, data))
            else:
                keys[stream_id] = bytes.fromhex(data["key"])
    open_events(((type_, data) for _, _, type_, _, data in loaded.events), keys)
    for snapshot in loaded.snapshots.values():
        for field in SNAPSHOT_FIELDS:
            snapshot.state[field] = unseal(snapshot.state.get(field), field, keys, snapshot.stream_id)
    return loaded


_FORGETTING = ", ".join(f"'{t}'" for t in sorted(FORGETTING))  # our own constants


@cache
def _append_sql(with_command: bool, with_snapshots: bool, with_keys: bool, forgets: bool) -> str:
    # The events (and snapshots) travel as one JSON document each, not as one array per column:
    # psycopg dumps a list element by element in Python, which cost more than the rest of the
    # command, while json.dumps is C. The ordinality keeps the events in the order given, so
    # positions follow it (the debit of a transfer comes before its credit).
    parts = [
        """WITH given AS (
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
)"""
    ]
    if with_command:
        parts.append("""cmd AS (
    INSERT INTO ledger_command (command_id, type, fingerprint, position)
    SELECT %(command_id)s, %(command_type)s, %(fingerprint)s, max(position) FROM ev HAVING count(*) > 0
)""")
    if with_keys:
        parts.append("""subject_key AS (
    INSERT INTO ledger_subject_key (subject_id, key)
    SELECT subject_id, decode(key, 'hex') FROM jsonb_to_recordset(%(keys)s::jsonb) AS (subject_id uuid, key text)
     WHERE EXISTS (SELECT FROM ev)
)""")
    if forgets:
        # Forgetting a customer destroys their key with the event that says so: one statement.
        parts.append(f"""forget AS (
    DELETE FROM ledger_subject_key
     WHERE subject_id IN (SELECT stream_id FROM given WHERE type IN ({_FORGETTING}))
       AND EXISTS (SELECT FROM ev)
)""")
    if with_snapshots:
        # The owner's name, sealed, from the account's opening event: no snapshot holds it in clear.
        parts.append("""snap AS (
    INSERT INTO ledger_snapshot (stream_id, version, schema, state)
    SELECT s.stream_id, s.version, s.schema,
           s.state || jsonb_build_object('owner', (SELECT o.data -> 'owner' FROM ledger_event o
                                                    WHERE o.stream_id = s.stream_id AND o.version = 1))
      FROM jsonb_to_recordset(%(snapshots)s::jsonb) AS s(stream_id uuid, version integer, schema smallint, state jsonb)
     WHERE EXISTS (SELECT FROM ev)  -- a snapshot is true only if these very events were appended
    ON CONFLICT (stream_id) DO UPDATE
       SET version = excluded.version, schema = excluded.schema, state = excluded.state, taken_at = now()
     WHERE ledger_snapshot.version < excluded.version OR ledger_snapshot.schema <> excluded.schema
)""")
    return ",\n".join(parts) + "\nSELECT max(position), pg_current_xact_id()::text FROM ev"


_compact = json.JSONEncoder(separators=(",", ":")).encode


def append(
    events: Sequence[NewEvent],
    *,
    command: tuple[UUID, str, str] | None = None,
    snapshots: Sequence[Snapshot] = (),
    recorded_at: datetime | None = None,
    keys: Mapping[UUID, bytes] | None = None,
) -> Checkpoint:
    """Append atomically and return the (transaction id, position) of the last event.

    `command` is (command_id, type, fingerprint), recorded in the same statement so a command id
    is applied at most once. Raises ConcurrencyError if a stream moved past the expected version,
    DuplicateCommand if the command id was recorded meanwhile.

    `keys` are new customers' keys to seal their personal data with (seal_new makes them
    where not given); they are inserted by the same statement.

    `recorded_at` is for importing history (seed_demo, a migration from another ledger); live
    commands leave it to the database clock.

    For the instant of the statement it also takes each stream's advisory lock (without waiting):
    while a writer that lost a race holds a stream's lock to decide again (lock_streams), a
    newcomer yields to it instead of winning the race once more, so a busy account cannot starve
    a retried command.
    """
    if not events:
        raise ValueError("append() needs at least one event")
    events, keys = seal_new(events, keys or {})
    params: dict[str, Any] = {
        "events": _compact(
            [
                {
                    "event_id": str(e.event_id),
                    "stream_id": str(e.stream_id),
                    "stream_type": e.stream_type,
                    "version": e.version,
                    "type": e.type,
                    "schema_version": e.schema_version,
                    "data": e.data,
                    "metadata": e.metadata,
                }
                for e in events
            ]
        ),
        "recorded_at": recorded_at,
    }
    if command is not None:
        params["command_id"], params["command_type"], params["fingerprint"] = command
    if snapshots:
        params["snapshots"] = _compact(
            [
                {"stream_id": str(s.stream_id), "version": s.version, "schema": s.schema, "state": s.state}
                for s in snapshots
            ]
        )
    if keys:
        params["keys"] = _compact([{"subject_id": str(s), "key": k.hex()} for s, k in keys.items()])
    forgets = any(e.type in FORGETTING for e in events)
    sql = _append_sql(command is not None, bool(snapshots), bool(keys), forgets)
    try:
        # In autocommit mode the single statement is its own transaction (one round trip); inside
        # a caller's transaction a savepoint keeps a lost race from poisoning that transaction.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            with prepared_cursor(primary=True) as cursor:
                cursor.execute(sql, params)
                position, tx_id = cursor.fetchone()
            if position is None:  # a stream was locked by a writer deciding again
                raise ConcurrencyError(in_flight=True)
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
    with prepared_cursor(primary=True) as cursor:
        for stream_id in sorted(stream_ids):  # one fixed order, so two transfers never deadlock
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s::text, 0))", [stream_id])
