"""Reading the store: one stream in version order, and the whole log in commit order, gap-safe
(see the comment on HORIZON_SQL)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from ledger.store.personal import open_events
from ledger.store.records import Checkpoint, RecordedEvent
from ledger.store.sql import fetch
from ledger.store.upcasting import upcast

_COLUMNS = (
    "position, tx_id::text, event_id, stream_id, stream_type, version, type, schema_version, "
    "data, metadata, recorded_at"
)


def _recorded(row: tuple[Any, ...]) -> RecordedEvent:
    position, tx_id, event_id, stream_id, stream_type, version, type_, schema, data, metadata, at = row
    current, data = upcast(type_, schema, orjson.loads(data))
    return RecordedEvent(
        position,
        int(tx_id),
        event_id,
        stream_id,
        stream_type,
        version,
        type_,
        current,
        data,
        orjson.loads(metadata),
        at,
        schema,
    )


def _opened(rows: list[tuple[Any, ...]]) -> list[RecordedEvent]:
    """Rows as events, with their personal data opened (clear text, or the erased name: personal.py)."""
    events = [_recorded(row) for row in rows]
    open_events((e.type, e.data) for e in events)
    return events


def read_stream(
    stream_id: UUID,
    *,
    to_version: int | None = None,
    as_of: datetime | None = None,
    types: Iterable[str] | None = None,
) -> list[RecordedEvent]:
    """One stream in version order, optionally only up to a version or a moment in time, or only
    events of some types."""
    sql = f"SELECT {_COLUMNS} FROM ledger_event WHERE stream_id = %s"
    params: list[Any] = [stream_id]
    if types is not None:
        sql += " AND type = ANY(%s)"
        params.append(list(types))
    if to_version is not None:
        sql += " AND version <= %s"
        params.append(to_version)
    if as_of is not None:
        sql += " AND recorded_at <= %s"
        params.append(as_of)
    return _opened(fetch(sql + " ORDER BY version", params))


# Positions come from a sequence, handed out at INSERT time, so a transaction can commit a lower
# position after a higher one is already visible. Reading in (tx_id, position) order, and only
# below the oldest transaction still running when the statement began, makes the log grow
# strictly at its end: an event is read only once no transaction that could commit before it is
# open. Transactions that pg_stat_activity shows in *other* databases of the cluster are left out
# (they can never write here, and a long one would stall every projection); one that finished
# meanwhile is not shown anywhere and so still counts, which keeps the horizon safe. So are the
# transactions of sessions named EVENTLESS_SESSION: they promise never to append an event (a
# blue/green rebuild filling new projection tables for seconds at a time), so no event can hide
# behind them, and waiting for them would stall the live read side for the whole of each batch.
# Public for every reader of the log in commit order (the projection runner bounds its spans by
# it), so that the rule lives here only. Its "%%" is for a statement run with parameters.
EVENTLESS_SESSION = "tally: appends no events"
HORIZON_SQL = f"""
SELECT coalesce(
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE x::text::bigint %% 4294967296 NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
             WHERE (datname IS DISTINCT FROM current_database() OR application_name = '{EVENTLESS_SESSION}')
               AND backend_xid IS NOT NULL)),
    pg_snapshot_xmax(pg_current_snapshot()))
"""
# ORDER BY names the table's columns: a bare "tx_id" would mean the output column of that name,
# which _COLUMNS makes text (tx_id::text). Sorting by that text cannot use the (tx_id, position)
# index, so every batch read and sorted the whole rest of the log (a rebuild grew quadratic), and
# text order is not xid8 order ('99999' sorts after '100000').
_READ_ALL = f"""
SELECT {_COLUMNS} FROM ledger_event
 WHERE (tx_id, position) > (%s::text::xid8, %s)
   AND tx_id < ({HORIZON_SQL}) AND (%s::text[] IS NULL OR type = ANY(%s::text[]))
 ORDER BY ledger_event.tx_id, ledger_event.position
 LIMIT %s
"""


START = Checkpoint()  # the start of the log


def read_all(after: Checkpoint = START, *, limit: int = 1000, types: list[str] | None = None) -> list[RecordedEvent]:
    """The next `limit` events after `after` in commit order (of `types` only, when given)."""
    return _opened(fetch(_READ_ALL, [str(after.tx_id), after.position, types, types, limit]))


def head_position() -> int:
    """The highest position written so far (committed or not yet visible), 0 for an empty store."""
    return fetch("SELECT coalesce(max(position), 0) FROM ledger_event")[0][0]


_READ_SPAN = f"""
SELECT {_COLUMNS} FROM ledger_event
 WHERE (tx_id, position) > (%s::text::xid8, %s) AND (tx_id, position) <= (%s::text::xid8, %s)
   AND tx_id BETWEEN %s::text::xid8 AND %s::text::xid8 AND type = ANY(%s)
 ORDER BY ledger_event.tx_id, ledger_event.position
"""


def read_span(after: Checkpoint, upto: Checkpoint, types: Iterable[str]) -> list[RecordedEvent]:
    """The events of `types` after `after` up to and including `upto`, in commit order: a span the
    projection runner marked out (below the horizon, so complete), for a process manager."""
    params = [str(after.tx_id), after.position, str(upto.tx_id), upto.position, str(after.tx_id), str(upto.tx_id)]
    return _opened(fetch(_READ_SPAN, [*params, sorted(types)]))


def read_command(command_id: UUID) -> list[RecordedEvent]:
    """The events one command appended, in log order; by the command-id expression index."""
    sql = f"SELECT {_COLUMNS} FROM ledger_event WHERE (metadata ->> 'command_id') = %s ORDER BY position"
    return _opened(fetch(sql, [str(command_id)]))


def read_correlated(correlation_id: UUID, *, limit: int = 200) -> list[RecordedEvent]:
    """The events of one correlation (a request and all it caused), in log order; by the
    correlation expression index."""
    sql = f"SELECT {_COLUMNS} FROM ledger_event WHERE (metadata ->> 'correlation_id') = %s ORDER BY position LIMIT %s"
    return _opened(fetch(sql, [str(correlation_id), limit]))
