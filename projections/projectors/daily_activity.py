"""Daily activity: counts and sums of deposits, withdrawals and transfers per day and currency."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from datetime import date

from django.utils import timezone

from ledger.eventstore import RecordedEvent
from projections.projectors.base import Projector, Row, execute, fetch

# A transfer is counted once, on its sending side.
_COLUMN_OF = {"MoneyDeposited": 0, "MoneyWithdrawn": 1, "TransferSent": 2}
Counters = list[int]  # deposits count, sum, withdrawals count, sum, transfers count, sum


def fold(totals: dict[tuple[date, str], Counters], events: Iterable[RecordedEvent]) -> None:
    for e in events:
        day = timezone.localdate(e.recorded_at)
        counters = totals[(day, e.data["currency"])]
        column = _COLUMN_OF[e.type] * 2
        counters[column] += 1
        counters[column + 1] += e.data["amount"]


_UPSERT = """
INSERT INTO projections_dailyactivity (day, currency, deposits_count, deposits_sum, withdrawals_count,
                                       withdrawals_sum, transfers_count, transfers_sum)
SELECT * FROM unnest(%b::date[], %b::text[], %b::integer[], %b::bigint[], %b::integer[], %b::bigint[],
                     %b::integer[], %b::bigint[])
ON CONFLICT (day, currency) DO UPDATE SET
    deposits_count = projections_dailyactivity.deposits_count + excluded.deposits_count,
    deposits_sum = projections_dailyactivity.deposits_sum + excluded.deposits_sum,
    withdrawals_count = projections_dailyactivity.withdrawals_count + excluded.withdrawals_count,
    withdrawals_sum = projections_dailyactivity.withdrawals_sum + excluded.withdrawals_sum,
    transfers_count = projections_dailyactivity.transfers_count + excluded.transfers_count,
    transfers_sum = projections_dailyactivity.transfers_sum + excluded.transfers_sum
"""

_COLUMNS = "deposits_count, deposits_sum, withdrawals_count, withdrawals_sum, transfers_count, transfers_sum"


class DailyActivityProjector(Projector):
    name = "daily_activity"
    handles = frozenset(_COLUMN_OF)
    tables = ("projections_dailyactivity",)

    def apply(self, events: list[RecordedEvent]) -> None:
        # Increments, not a read-modify-write: the batch's totals are added to the stored ones.
        totals: dict[tuple[date, str], Counters] = defaultdict(lambda: [0] * 6)
        fold(totals, events)
        columns = list(zip(*[(*key, *counters) for key, counters in totals.items()], strict=True))
        execute(_UPSERT, [list(column) for column in columns])

    def expected(self, events: Iterable[RecordedEvent]) -> dict[Hashable, Row]:
        totals: dict[tuple[date, str], Counters] = defaultdict(lambda: [0] * 6)
        fold(totals, (e for e in events if e.type in self.handles))
        return {key: tuple(counters) for key, counters in totals.items()}

    def table_rows(self) -> dict[Hashable, Row]:
        return {(r[0], r[1]): r[2:] for r in fetch(f"SELECT day, currency, {_COLUMNS} FROM projections_dailyactivity")}
