"""The event-type catalogue: for each event type and the schema version it was stored in, how many
events the log holds and when the first and the last were recorded. The event browser's catalogue
page reads these few rows instead of counting a million events at request time.

It counts the rows as stored (ledger_event, not the upcast view): which old shapes are still in the
log, and how many, is what an operator deciding to retire an upcaster needs to know."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

from ledger.domain.streams import ALL_EVENT_TYPES
from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from projections.projectors.base import IN_SPAN, Projector, Span, sql_list

_APPLY = f"""
INSERT INTO projections_eventtype (type, schema_version, events, first_recorded_at, last_recorded_at)
SELECT e.type, e.schema_version, count(*), min(e.recorded_at), max(e.recorded_at)
  FROM ledger_event e
 WHERE e.type IN ({sql_list(sorted(ALL_EVENT_TYPES))}) AND {IN_SPAN}
 GROUP BY 1, 2
ON CONFLICT (type, schema_version) DO UPDATE SET
    events = projections_eventtype.events + excluded.events,
    first_recorded_at = least(projections_eventtype.first_recorded_at, excluded.first_recorded_at),
    last_recorded_at = greatest(projections_eventtype.last_recorded_at, excluded.last_recorded_at)
"""


class EventTypesProjector(Projector):
    name = "event_types"
    handles = frozenset(ALL_EVENT_TYPES)
    tables = ("projections_eventtype",)
    key_columns = ("type", "schema_version")
    row_columns = ("events", "first_recorded_at", "last_recorded_at")

    def apply(self, span: Span) -> None:
        execute(_APPLY, span.params())

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        seen: dict[tuple[str, int], list] = {}
        for e in events:
            if e.type not in self.handles:
                continue
            row = seen.setdefault((e.type, e.stored_schema_version), [0, e.recorded_at, e.recorded_at])
            row[0] += 1
            row[1], row[2] = min(row[1], e.recorded_at), max(row[2], e.recorded_at)
        return ((key, (count, first, last)) for key, (count, first, last) in seen.items())
