"""Which projections have applied an event: what an event's page in the event browser says of the
read side (registered with ledger.hooks.on_event_shown in projections/apps.py)."""

from __future__ import annotations

from ledger.store.sql import fetch
from projections.partitions import Partition, live_units

# The event's stream, and each projection's checkpoint against the event's place in the log with
# any skip of it: one row per status row (one with no projection while none has started).
_CONSUMED = """
SELECT e.stream_id, s.name, (s.tx_id::text::xid8, s.position) >= (e.tx_id, e.position),
       s.last_error_position = e.position, split_part(s.last_error, E'\\n', 1), k.skipped_by, k.reason
  FROM (SELECT tx_id, position, stream_id FROM ledger_event WHERE position = %s) e
  LEFT JOIN projections_projectionstatus s ON true
  LEFT JOIN projections_skippedevent k ON k.projection = s.name AND k.position = e.position
"""


def event_consumption(position: int, event_type: str) -> list[tuple[str, str]]:
    """(projection, state) for every projection and process manager, in the order they are run; of a
    partitioned projection (projections/partitions.py), the partition the event's stream is in."""
    rows = fetch(_CONSUMED, [position])
    stream = rows[0][0] if rows else None
    found = {name: rest for _, name, *rest in rows if name is not None}
    states = []
    for projector in live_units():
        if isinstance(projector, Partition) and not (stream and projector.holds(stream)):
            continue
        if projector.name not in found:
            states.append((projector.name, "not started"))
            continue
        applied, stopped_here, error, skipped_by, reason = found[projector.name]
        if skipped_by:
            states.append((projector.name, f"skipped by {skipped_by}: {reason}"))
        elif stopped_here:
            states.append((projector.name, f"stopped at this event: {error}"))
        elif event_type not in projector.handles:
            states.append((projector.name, "passed" if applied else "not yet (it does not use this type)"))
        else:
            states.append((projector.name, "applied" if applied else "not yet"))
    return states
