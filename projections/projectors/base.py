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
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

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

    def params(self) -> dict[str, Any]:
        return {
            "after_tx": str(self.after.tx_id),
            "after_position": self.after.position,
            "upto_tx": str(self.upto.tx_id),
            "upto_position": self.upto.position,
        }


# The condition on the events `e` (ledger.store.upcasting.CURRENT_VIEW: ledger_event, upcast)
# that selects a span's events, with Span.params(). The row comparisons are the span; the
# BETWEEN on tx_id alone says the same more loosely, but in a form the planner can estimate from
# its statistics: without it, it guessed a third of the table for any span and read the whole
# table once per projector and span (a rebuild of 1,000,000 events took 34 s instead of 16 s).
IN_SPAN = """(e.tx_id, e.position) > (%(after_tx)s::text::xid8, %(after_position)s)
   AND (e.tx_id, e.position) <= (%(upto_tx)s::text::xid8, %(upto_position)s)
   AND e.tx_id BETWEEN %(after_tx)s::text::xid8 AND %(upto_tx)s::text::xid8"""


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

    @abstractmethod
    def apply(self, span: Span) -> None:
        """Write the effect of the span's events (those of the types in `handles`) to the tables."""

    @abstractmethod
    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        """The (key, row) pairs the table should hold after every one of `events`, computed in
        Python; a projector whose rows grow with the log yields them as it goes."""

    def table_rows(self) -> dict[Hashable, Row]:
        """The rows the table holds, in the shape of `expected`."""
        keys = len(self.key_columns)
        rows = fetch(f"SELECT {', '.join(self.key_columns + self.row_columns)} FROM {self.tables[0]}")
        return {(r[:keys] if keys > 1 else r[0]): r[keys:] for r in rows}

    def reset(self) -> None:
        execute(f"TRUNCATE {', '.join(self.tables)}")
