"""Partitioned projections: one projector applied as n partitions by a hash of the stream id.

TALLY_PROJECTION_PARTITIONS sets n per projector (1 by default). The k-th of n partitions is a
projector of its own to the runner, named "statement:2/4": its own status row (checkpoint, lag,
errors, skips), its own advisory lock, its own share of every span (the events of its streams, found
through an index: projectors/base.py, IN_PART). Workers on any hosts so apply different partitions
at the same time, and a partition never runs in two at once (its lock). A worker that dies gives its
locks up with its connection; the next nudge or sweep hands them to another.

Which projectors can be split: those whose rows follow the streams (an account's summary and its
statement lines belong to its partition), and daily_activity, whose rows gather every stream of a
day: it keeps a row per day, currency and partition, each partition adding to its own row only, and
the screens sum them (exact, with no two partitions ever writing one row). event_types and the
approval and standing-order read models stay whole: small, and keyed by other streams than the
events they fold.

The tables hold one layout at a time. The live runner applies the layout the live tables were built
with (their status rows' names say it); a changed n is a new layout, built blue/green beside them by
the workers' sweep like a new projector version, checked partition by partition, and swapped in
whole (projections/bluegreen.py).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import replace
from functools import cache
from uuid import UUID

from django.conf import settings

from ledger.store import RecordedEvent
from ledger.store.sql import Row
from projections.models import ProjectionStatus
from projections.projectors import Projector, get_runnable
from projections.projectors.base import Span, in_part

SEPARATOR = ":"
# In SQL over a status table: the projection a row is of (its name, or its projector's).
PROJECTION_OF_ROW = f"split_part(name, '{SEPARATOR}', 1)"


class Partition(Projector):
    """The k-th (1-based) of n partitions of `base`; made by `units`, with base's class attributes."""

    def __init__(self, base: Projector, k: int, n: int) -> None:
        self._base, self.k, self.n = base, k, n

    @property
    def base(self) -> Projector:
        return self._base

    def apply(self, span: Span) -> None:
        self._base.apply(replace(span, part=(self.k, self.n)))

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        return self._base.expected_part(events, self.k, self.n)

    def rows_where(self) -> str:
        return self._base.rows_of_part(self.k, self.n)

    def totals_differences(self, rows: str, part: int = 0) -> list[tuple[Hashable, Row | None, Row | None]]:
        return self._base.totals_differences(rows, self.k)

    def holds(self, stream_id: UUID) -> bool:
        """Whether the events of stream `stream_id` are this partition's."""
        return in_part(stream_id, self.k, self.n)

    def reset(self) -> None:
        raise RuntimeError("a partition's tables are its projector's: reset the projector")


def unit_name(base: str, k: int, n: int) -> str:
    return base if n == 1 else f"{base}{SEPARATOR}{k}/{n}"


def parse(name: str) -> tuple[str, int, int]:
    """(projector, k, n) of a status row's name; (name, 1, 1) for a projector that is not split."""
    base, _, part = name.partition(SEPARATOR)
    if not part:
        return name, 1, 1
    k, _, n = part.partition("/")
    return base, int(k), int(n)


def base_name(name: str) -> str:
    return parse(name)[0]


def configured(projector: Projector) -> int:
    return settings.TALLY_PROJECTION_PARTITIONS.get(projector.name, 1) if projector.partitionable else 1


@cache
def units(projector: Projector, n: int) -> tuple[Projector, ...]:
    """What the runner applies of `projector` in a layout of n partitions: itself when n is 1."""
    if n == 1:
        return (projector,)
    kind = type(
        f"{type(projector).__name__}Partition",
        (Partition,),
        {
            "version": projector.version,
            "handles": projector.handles,
            "tables": projector.tables,
            "key_columns": projector.key_columns,
            "row_columns": projector.row_columns,
            "partitionable": True,
        },
    )
    made = []
    for k in range(1, n + 1):
        unit = kind(projector, k, n)
        unit.name = unit_name(projector.name, k, n)  # each unit its own name
        made.append(unit)
    return tuple(made)


def status_names() -> list[str]:
    """The status rows' names in the tables of the current search path (the live ones by default)."""
    return list(ProjectionStatus.objects.values_list("name", flat=True))


def built(names: Iterable[str] | None = None) -> dict[str, int]:
    """The layout those tables hold: partitions per projector, from their status rows' names (read
    now, or `names` already read); a projector without rows is not in it."""
    return {base: n for base, _, n in map(parse, status_names() if names is None else names)}


def configured_lanes() -> int:
    """The most partitions TALLY_PROJECTION_PARTITIONS gives any projector (1 when none is split)."""
    return max([1, *settings.TALLY_PROJECTION_PARTITIONS.values()])


def expand(projectors: Iterable[Projector], layout: dict[str, int] | None = None) -> list[Projector]:
    """The units of `projectors` in `layout` (for a projector not in it, the configured partitions)."""
    layout = layout or {}
    return [u for p in projectors for u in units(p, layout.get(p.name) or configured(p))]


def unit_names(projectors: Iterable[Projector]) -> list[str]:
    """The status rows of `projectors` as configured: each one's, or each of its partitions'."""
    return [u.name for u in expand(projectors)]


def rows_of(names: Iterable[str]) -> list[str]:
    """Status row names of `names` (projectors or units) as stored: a projector's units too."""
    return [n for n in status_names() if n in names or base_name(n) in names]


def live_units() -> list[Projector]:
    """Everything the live runner applies (projectors, partitions, process managers) as built."""
    return expand(get_runnable(), built())
