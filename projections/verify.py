"""Verification: replay every event in memory and compare with what the tables hold."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field

from django.db import connection, transaction

from ledger import eventstore as store
from ledger.eventstore import Checkpoint, RecordedEvent
from projections.models import ProjectionStatus
from projections.projectors import Projector
from projections.projectors.base import Row


@dataclass
class Difference:
    key: Hashable
    expected: Row | None  # None: the row should not exist
    actual: Row | None  # None: the row is missing


@dataclass
class Verdict:
    name: str
    events: int = 0
    rows: int = 0
    differences: list[Difference] = field(default_factory=list)


def _events_up_to(checkpoint: Checkpoint, batch: int = 5000) -> Iterator[RecordedEvent]:
    after = Checkpoint()
    while after < checkpoint:
        events = store.read_all(after, limit=batch)
        if not events:
            return
        for event in events:
            if Checkpoint(event.tx_id, event.position) > checkpoint:
                return
            yield event
        after = Checkpoint(events[-1].tx_id, events[-1].position)


def verify(projector: Projector) -> Verdict:
    """Compare the tables with a replay of the events up to the projector's checkpoint.

    Both are read in one repeatable-read transaction, so a runner committing meanwhile cannot make
    the comparison see a half-updated picture.
    """
    verdict = Verdict(projector.name)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        status = ProjectionStatus.objects.filter(name=projector.name).first()
        checkpoint = Checkpoint(status.tx_id, status.position) if status else Checkpoint()
        counted = _Counting(_events_up_to(checkpoint))
        expected = projector.expected(counted)
        actual = projector.table_rows()
    verdict.events, verdict.rows = counted.count, len(actual)
    for key in expected.keys() | actual.keys():
        if expected.get(key) != actual.get(key):
            verdict.differences.append(Difference(key, expected.get(key), actual.get(key)))
    return verdict


class _Counting:
    def __init__(self, events: Iterator[RecordedEvent]) -> None:
        self.events, self.count = events, 0

    def __iter__(self) -> Iterator[RecordedEvent]:
        for event in self.events:
            self.count += 1
            yield event
