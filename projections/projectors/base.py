"""What every projector is: a name, the event types it handles, its tables, and its meaning twice.

`apply` projects a span of the log with set-based SQL that runs entirely inside Postgres
(INSERT ... SELECT over the span's events): no event travels to Python, so a rebuild goes at the
database's speed and the runner's memory does not grow with the log. The runner commits it
together with the projector's checkpoint. `expected` folds the same events in plain Python (after
upcasting) from nothing, and `verify_projections` compares its rows with the table's: the SQL is
checked against an independent replay, not against itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from ledger.store import Checkpoint, RecordedEvent
from ledger.store.sql import Row, execute, fetch


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of the commit-ordered log: the events after `after` up to and including `upto`.
    The runner hands out only spans below the horizon of open transactions, so a span's events are
    all committed and no later transaction can add one to it."""

    after: Checkpoint
    upto: Checkpoint
    events: int  # how many events (of every type) it holds
    last_recorded_at: datetime
    # Applied by one partition of a projector (projections/partitions.py): (k, n), the k-th of n, which
    # takes only the events of its streams; None: every event.
    part: tuple[int, int] | None = None
    # The types of its events, when the runner read them (a live span); None: not read.
    types: frozenset[str] | None = None

    def concerns(self, projector: Projector) -> bool:
        """Whether the span may hold events `projector` handles: one that handles none of its types
        has nothing to write (its `apply` reads only those), and only its checkpoint moves."""
        return self.types is None or not self.types.isdisjoint(projector.handles)

    def params(self) -> dict[str, Any]:
        return {
            "after_tx": str(self.after.tx_id),
            "after_position": self.after.position,
            "upto_tx": str(self.upto.tx_id),
            "upto_position": self.upto.position,
            "part": self.part[0] if self.part else 0,
            "buckets": buckets(*self.part) if self.part else [],
        }


# The condition on the events `e` (ledger.store.upcasting.CURRENT_VIEW: ledger_event, upcast)
# that selects a span's events, with Span.params(). The row comparisons are the span; the
# BETWEEN on tx_id alone says the same more loosely, but in a form the planner can estimate from
# its statistics: without it, it guessed a third of the table for any span and read the whole
# table once per projector and span (a rebuild of 1,000,000 events took 34 s instead of 16 s).
IN_SPAN = """(e.tx_id, e.position) > (%(after_tx)s::text::xid8, %(after_position)s)
   AND (e.tx_id, e.position) <= (%(upto_tx)s::text::xid8, %(upto_position)s)
   AND e.tx_id BETWEEN %(after_tx)s::text::xid8 AND %(upto_tx)s::text::xid8"""


# Which partition an event belongs to: its stream id's last byte (random in every uuid we make), a
# bucket of 256; the k-th of n partitions takes a contiguous run of buckets. The same in Python
# (`bucket`), and an expression index on ledger_event ((bucket), tx_id, position) finds a
# partition's events of a span without reading the others' (ledger/migrations/0007_event_bucket_index.py).
BUCKETS = 256


def bucket_sql(column: str) -> str:
    return f"get_byte(uuid_send({column}), 15)"


def bucket(stream_id: UUID) -> int:
    return stream_id.int & 0xFF


def buckets(k: int, n: int) -> list[int]:
    """The buckets of the k-th (1-based) of n partitions."""
    return list(range((k - 1) * BUCKETS // n, k * BUCKETS // n))


def in_part(stream_id: UUID, k: int, n: int) -> bool:
    """Whether stream `stream_id`'s events are the k-th of n partitions' (its buckets are a run)."""
    return (k - 1) * BUCKETS // n <= bucket(stream_id) < k * BUCKETS // n


def of_part(events: Iterable[RecordedEvent], k: int, n: int) -> Iterator[RecordedEvent]:
    """The events of the k-th of n partitions' streams."""
    return (e for e in events if in_part(e.stream_id, k, n))


# IN_SPAN and, for a partition's span, only the events of its streams (by the index above).
IN_PART = f"{IN_SPAN}\n   AND {bucket_sql('e.stream_id')} = ANY(%(buckets)s::int[])"


def by_partition(sql: Callable[[str], str]) -> dict[bool, str]:
    """A partitionable projector's statement, built with the condition on its span's events: the
    statement for a whole span (False) and for a partition's share of it (True)."""
    return {False: sql(IN_SPAN), True: sql(IN_PART)}


def sql_text(value: str | None) -> str:
    """One of our own constants (an event type, a kind; never user input) as a SQL literal."""
    return "NULL" if value is None else f"'{value}'"


def sql_list(values: Iterable[str]) -> str:
    return ", ".join(sql_text(v) for v in values)


class Projector(ABC):
    name: ClassVar[str]
    # Raise it with any change to what the tables hold for the same events (the SQL, the columns,
    # their meaning): tables built by another version are rebuilt blue/green (projections/bluegreen.py).
    version: ClassVar[int] = 1
    handles: ClassVar[frozenset[str]]
    tables: ClassVar[tuple[str, ...]]
    # How verify_projections lines `expected` up with the first of `tables`: a row's key columns
    # (the key `expected` gives, one value or a tuple) and its other columns (the Row, in order).
    key_columns: ClassVar[tuple[str, ...]]
    row_columns: ClassVar[tuple[str, ...]]

    # Whether it can run as partitions (TALLY_PROJECTION_PARTITIONS): its rows follow the streams, or
    # it keeps a row per partition where rows gather several streams (projections/partitions.py).
    partitionable: ClassVar[bool] = False

    @property
    def base(self) -> Projector:
        """The projector this one applies: itself, or the projector one partition of which it is."""
        return self

    @abstractmethod
    def apply(self, span: Span) -> None:
        """Write the effect of the span's events (those of the types in `handles`) to the tables."""

    @abstractmethod
    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        """The (key, row) pairs the table should hold after every one of `events`, computed in
        Python; a projector whose rows grow with the log yields them as it goes."""

    def expected_part(self, events: Iterable[RecordedEvent], k: int, n: int) -> Iterable[tuple[Hashable, Row]]:
        """`expected` of the k-th of n partitions: the rows the events of its streams make."""
        return self.expected(of_part(events, k, n))

    def rows_where(self) -> str:
        """The SQL condition on the first table's rows that this projector (or partition) holds."""
        return "TRUE"

    def rows_of_part(self, k: int, n: int) -> str:
        """The SQL condition on the first table's rows that the k-th of n partitions holds."""
        return f"{bucket_sql(self.key_columns[0])} BETWEEN {buckets(k, n)[0]} AND {buckets(k, n)[-1]}"

    def totals_differences(self, rows: str, part: int = 0) -> list[tuple[Hashable, Row | None, Row | None]]:
        """Rows of its other tables that this projector (or partition `part`) keeps as sums of its
        first table's rows, for screens that would otherwise add up every row, that are not the sums
        of `rows` (SQL naming rows of the first table's shape: the replay's, or the table's own once
        they are known to equal it): (key, the sum, the row kept; None where one side has none)."""
        return []

    def table_rows(self) -> dict[Hashable, Row]:
        """The rows the table holds, in the shape of `expected`."""
        keys = len(self.key_columns)
        rows = fetch(f"SELECT {', '.join(self.key_columns + self.row_columns)} FROM {self.tables[0]}")
        return {(r[:keys] if keys > 1 else r[0]): r[keys:] for r in rows}

    def reset(self) -> None:
        execute(f"TRUNCATE {', '.join(self.tables)}")
