"""Daily activity: counts and sums of deposits, withdrawals and transfers per day and currency.

A reversal counts on its own day as the movement of the opposite direction (a deposit's as a
withdrawal, a withdrawal's as a deposit, a transfer's as a transfer back, once, on the side that had
sent it): each day's figures stay what moved that day, and a past day's never change."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import date

from django.utils import timezone

from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections.projectors.base import Projector, Span, by_partition, of_part, sql_list, sql_text
from projections.projectors.reversal import REVERSAL

# A transfer is counted once, on its sending side.
_COLUMN_OF = {"MoneyDeposited": 0, "MoneyWithdrawn": 1, "TransferSent": 2}
Counters = list[int]  # deposits count, sum, withdrawals count, sum, transfers count, sum
# The type a reversal of each original type counts as (of a transfer's receiving side: not counted).
_REVERSAL_COUNTS_AS = {
    "MoneyDeposited": "MoneyWithdrawn",
    "MoneyWithdrawn": "MoneyDeposited",
    "TransferSent": "TransferSent",
}


def fold(totals: dict[tuple[date, str], Counters], events: Iterable[RecordedEvent]) -> None:
    zone = timezone.get_default_timezone()
    for e in events:
        day = timezone.localdate(e.recorded_at, zone)
        counted_as = _REVERSAL_COUNTS_AS.get(e.data["original_type"]) if e.type == REVERSAL else e.type
        if counted_as is None:
            continue
        counters = totals[(day, e.data["currency"])]
        column = _COLUMN_OF[counted_as] * 2
        counters[column] += 1
        counters[column + 1] += e.data["amount"]


_COLUMNS = "deposits_count, deposits_sum, withdrawals_count, withdrawals_sum, transfers_count, transfers_sum"

_COUNTED_AS = (
    f"CASE WHEN e.type = {sql_text(REVERSAL)} THEN CASE e.data ->> 'original_type' "
    + " ".join(f"WHEN {sql_text(o)} THEN {sql_text(t)}" for o, t in _REVERSAL_COUNTS_AS.items())
    + " END ELSE e.type END"
)
_COUNTERS = ", ".join(
    f"count(*) FILTER (WHERE e.counted_as = {sql_text(t)}), "
    f"coalesce(sum((e.data ->> 'amount')::bigint) FILTER (WHERE e.counted_as = {sql_text(t)}), 0)"
    for t in sorted(_COLUMN_OF, key=_COLUMN_OF.__getitem__)
)


# The span's totals per day and currency are added to the stored ones: increments, not a
# read-modify-write. Days are those of the configured zone (settings.TIME_ZONE), never of whatever
# zone happens to be active in the process that applies the span (timezone.override, a request's
# zone): the table must not depend on who caught it up.
#
# Partitioned (projections/partitions.py), each partition adds to rows of its own (`part`, 0 when not
# split) and the screens sum a day's rows: exact, and no two partitions' transactions ever wait for
# each other on the busiest row of the table, today's.
def _apply_sql(in_span: str) -> str:
    return f"""
INSERT INTO projections_dailyactivity (day, currency, part, {_COLUMNS})
SELECT (e.recorded_at AT TIME ZONE %(time_zone)s)::date, e.data ->> 'currency', %(part)s, {_COUNTERS}
  FROM (SELECT e.*, {_COUNTED_AS} AS counted_as
          FROM {EVENTS} e
         WHERE e.type IN ({sql_list(sorted([*_COLUMN_OF, REVERSAL]))}) AND {in_span}) e
 WHERE e.counted_as IS NOT NULL
 GROUP BY 1, 2
ON CONFLICT (day, currency, part) DO UPDATE SET
""" + ",\n".join(f"    {c} = projections_dailyactivity.{c} + excluded.{c}" for c in _COLUMNS.split(", "))


_APPLY = by_partition(_apply_sql)


class DailyActivityProjector(Projector):
    name = "daily_activity"
    handles = frozenset({*_COLUMN_OF, REVERSAL})
    tables = ("projections_dailyactivity",)
    key_columns = ("day", "currency", "part")
    row_columns = tuple(_COLUMNS.split(", "))
    partitionable = True  # a row per partition, summed on read

    def apply(self, span: Span) -> None:
        execute(_APPLY[span.part is not None], {**span.params(), "time_zone": timezone.get_default_timezone_name()})

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        return self._rows(events, part=0)

    def expected_part(self, events: Iterable[RecordedEvent], k: int, n: int) -> Iterable[tuple[Hashable, Row]]:
        return self._rows(of_part(events, k, n), part=k)

    def rows_of_part(self, k: int, n: int) -> str:
        return f"part = {k}"

    def _rows(self, events: Iterable[RecordedEvent], part: int) -> Iterable[tuple[Hashable, Row]]:
        totals: dict[tuple[date, str], Counters] = defaultdict(lambda: [0] * 6)
        fold(totals, (e for e in events if e.type in self.handles))
        return (((day, currency, part), tuple(counters)) for (day, currency), counters in totals.items())
