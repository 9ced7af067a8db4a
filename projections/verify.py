"""Verification: replay every event in Python and compare with what the tables hold.

The replay's rows are streamed into a temporary table with COPY and Postgres lines them up with
the real table (a full join on the key): memory stays flat however long the log is, where holding
both sides in Python dictionaries took 1.8 GB at 1,000,000 events.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Hashable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import batched
from typing import Any, cast

import psycopg
from django.db import connection, transaction

from ledger import store
from ledger.store import Checkpoint, RecordedEvent
from ledger.store.sql import Row, copy_cursor, execute
from projections import digest, partitions, schemas, skips
from projections.models import ProjectionStatus
from projections.projectors import Projector

COPY_BATCH = 10_000


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
    digest_differs: bool = False  # the replay's digest is not the table's: compared row by row next


# A paced check digests one table at a time: each checker's digest is paced, but side by side they
# were as many Postgres backends at work at once. With that and the feed's rest counted on its time
# (below), the account page's p95 in the rounds of a rebuild's check fell from 149-199 ms to 31-211 ms
# (make bench --quick --only rebuild http, at half the page's capacity; 16-30 ms while building).
_one_table_at_a_time = threading.Lock()

# Events a batch of the one reading of the log; batches a checker may have waiting (memory stays flat).
READ_BATCH = 5_000
WAITING_BATCHES = 4


def verify(projector: Projector, *, schema: str | None = None) -> Verdict:
    """verify_all() of one projector, as a whole: every partition's differences together."""
    verdicts = verify_all([projector], schema=schema)
    if len(verdicts) == 1:
        return verdicts[0]
    whole = Verdict(projector.name, digest_differs=any(v.digest_differs for v in verdicts))
    for v in verdicts:
        whole.events, whole.rows = whole.events + v.events, whole.rows + v.rows
        whole.differences.extend(v.differences)
    return whole


def verify_all(projectors: list[Projector], *, schema: str | None = None, pace: float = 1.0) -> list[Verdict]:
    """Compare each projector's table with a replay of the events up to its checkpoint, leaving out
    the events an operator told it to pass over (projections/skips.py). With `schema`, the tables
    of that generation (a blue/green rebuild's shadow) instead of the live ones.

    The log is read once for all of them, only the event types some projector reads: each
    projector's replay runs in a thread with a database session of its own, fed batch by batch,
    and reads its checkpoint and its table in one repeatable-read transaction, so a runner
    committing meanwhile cannot make the comparison see a half-updated picture. Reading once
    instead of once a projector made verifying five projections about three times as fast.

    A partitioned projector (projections/partitions.py) is checked partition by partition, each
    against its own checkpoint and rows: a verdict per partition, in the layout its tables hold.
    """
    with schemas.tables_in(schema):
        projectors = partitions.expand(projectors, partitions.built())
    verdicts = _replay(projectors, schema, by_digest=True, pace=pace)
    mismatched = [p for p, v in zip(projectors, verdicts, strict=True) if v.digest_differs]
    if mismatched:  # the digests only say that something differs: name what, row by row
        named = {v.name: v for v in _replay(mismatched, schema, by_digest=False, pace=pace)}
        verdicts = [named.get(v.name, v) for v in verdicts]
    return verdicts


def _replay(projectors: list[Projector], schema: str | None, *, by_digest: bool, pace: float) -> list[Verdict]:
    checkers = [_Checker(p, schema, by_digest, pace) for p in projectors]
    with ThreadPoolExecutor(max_workers=len(checkers)) as pool:
        running = [(checker, pool.submit(checker.run)) for checker in checkers]
        for checker, future in running:
            while not checker.ready.wait(0.2):
                if future.done():
                    future.result()  # it failed before it could say where it stands: raise its error
        try:
            _feed(running, types=sorted(set().union(*(p.handles for p in projectors))), pace=pace)
        except BaseException:
            for checker in checkers:
                checker.abandoned.set()
            raise
        return [future.result() for _, future in running]


def _feed(running: list[tuple[_Checker, Future[Verdict]]], types: list[str], pace: float) -> None:
    """Read the log once, up to the furthest checkpoint, and hand each batch to every checker. With a
    `pace` below 1, rest after each batch as long as this process (the checkers' threads with it)
    needs for it to have used only that share of one core: the replay is Python, one core at most.
    What a batch cost is its CPU here or its time, whichever is more: the time includes Postgres
    reading the batch, which the CPU here does not count."""
    upto, after = max(checker.checkpoint for checker, _ in running), Checkpoint()
    while after < upto:
        wall, cpu = time.monotonic(), time.process_time()
        if not (events := store.read_all(after, limit=READ_BATCH, types=types)):
            break
        for checker, future in running:
            checker.offer(events, future)
        after = Checkpoint(events[-1].tx_id, events[-1].position)
        if pace < 1:  # what this batch cost, not a budget saved up: no burst after a quiet stretch
            took = time.monotonic() - wall
            time.sleep(max(max(time.process_time() - cpu, took) / pace - took, 0))
    for checker, future in running:
        checker.offer(None, future)


class _Checker:
    """One projector's side of verify_all: its checkpoint, its replay, its comparison."""

    def __init__(self, projector: Projector, schema: str | None, by_digest: bool, pace: float) -> None:
        self.projector, self.schema, self.by_digest, self.pace = projector, schema, by_digest, pace
        self.ready = threading.Event()
        self.checkpoint = Checkpoint()
        self.batches: queue.Queue[list[RecordedEvent] | None] = queue.Queue(maxsize=WAITING_BATCHES)
        self.abandoned = threading.Event()  # the reading failed: no more batches will come

    def offer(self, events: list[RecordedEvent] | None, running: Future[Verdict]) -> None:
        """Hand it a batch (None: the end), without waiting forever on a replay that has failed."""
        while True:
            if running.done():
                running.result()  # raises the replay's error; a finished replay takes nothing more
                return
            try:
                self.batches.put(events, timeout=0.2)
                return
            except queue.Full:
                continue

    def run(self) -> Verdict:
        verdict = Verdict(self.projector.name)
        try:
            with schemas.tables_in(self.schema), transaction.atomic():
                execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                status = ProjectionStatus.objects.filter(name=self.projector.name).first()
                self.checkpoint = Checkpoint(status.tx_id, status.position) if status else Checkpoint()
                passed_over = skips.positions(self.projector.name)
                self.ready.set()
                counted = _Counting(self._events(passed_over))
                if self.by_digest:
                    self._compare_digests(counted, verdict)
                else:
                    with copy_cursor() as cursor:
                        _load_expected(cursor, self.projector, self.projector.expected(counted))
                        verdict.rows, verdict.differences = _compare(cursor, self.projector)
                    # The sums it keeps beside its rows, against the sums of the replay's rows.
                    verdict.differences.extend(self._totals_differing("verify_expected"))
                for _ in counted:  # a replay that stopped reading early (none does) still drains its feed
                    pass
            verdict.events = counted.count
            return verdict
        finally:
            connection.close()  # this thread's own session

    def _compare_digests(self, events: Iterable[RecordedEvent], verdict: Verdict) -> None:
        """The replay's rows and the table's, digested (projections/digest.py): no row leaves Python."""
        p = self.projector
        with _one_table_at_a_time if self.pace < 1 else nullcontext():
            table = digest.of_table(p.tables[0], p.key_columns + p.row_columns, where=p.rows_where(), pace=self.pace)
        several = len(p.key_columns) > 1
        replay = digest.of_rows(
            (*(cast(tuple[Any, ...], key) if several else (key,)), *row) for key, row in p.expected(events)
        )
        verdict.rows, verdict.digest_differs = table.rows, replay != table
        if not verdict.digest_differs:  # the table's rows are the replay's: the sums it keeps, against them
            verdict.differences.extend(self._totals_differing(f"(SELECT * FROM {p.tables[0]} WHERE {p.rows_where()})"))

    def _totals_differing(self, rows: str) -> list[Difference]:
        return [Difference(*found) for found in self.projector.totals_differences(rows)]

    def _events(self, passed_over: frozenset[int]) -> Iterator[RecordedEvent]:
        """This projector's events of each batch up to its checkpoint, picked out a batch at a time:
        asked event by event (a Checkpoint made and compared for each), the picking cost six
        checkers more CPU than the replay of the account summary."""
        handles, upto = self.projector.handles, (self.checkpoint.tx_id, self.checkpoint.position)
        while (events := self._next_batch()) is not None:
            mine = [e for e in events if e.type in handles]
            if mine and (mine[-1].tx_id, mine[-1].position) > upto:
                mine = [e for e in mine if (e.tx_id, e.position) <= upto]
            if passed_over:
                mine = [e for e in mine if e.position not in passed_over]
            yield from mine

    def _next_batch(self) -> list[RecordedEvent] | None:
        while True:
            try:
                return self.batches.get(timeout=0.2)
            except queue.Empty:
                if self.abandoned.is_set():
                    raise RuntimeError("the log could not be read to the end; nothing was compared") from None


def _load_expected(cursor: psycopg.Cursor, projector: Projector, expected: Iterable[tuple[Hashable, Row]]) -> None:
    columns = ", ".join(projector.key_columns + projector.row_columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE verify_expected ON COMMIT DROP AS "
        f"SELECT {columns} FROM {projector.tables[0]} WITH NO DATA"
    )
    # In batches: the replay reads its events on this same connection, which cannot run a query
    # while a COPY is open.
    for batch in batched(expected, COPY_BATCH, strict=False):  # the last batch may be short
        with cursor.copy(f"COPY verify_expected ({columns}) FROM STDIN") as copy:
            for key, row in batch:
                copy.write_row((*(cast(tuple[Any, ...], key) if len(projector.key_columns) > 1 else (key,)), *row))


def _compare(cursor: psycopg.Cursor, projector: Projector) -> tuple[int, list[Difference]]:
    keys, values = projector.key_columns, projector.row_columns

    def side(alias: str, columns: tuple[str, ...]) -> str:
        return ", ".join(f"{alias}.{c}" for c in columns)

    table = f"(SELECT * FROM {projector.tables[0]} WHERE {projector.rows_where()})"  # a partition's rows only
    cursor.execute(f"SELECT count(*) FROM {table} t")
    rows = cursor.fetchone()[0]  # type: ignore[index]  # count(*) always answers one row
    cursor.execute(f"""
        SELECT e.{keys[0]} IS NOT NULL, t.{keys[0]} IS NOT NULL, {side("e", keys)}, {side("t", keys)},
               {side("e", values)}, {side("t", values)}
          FROM verify_expected e FULL JOIN {table} t ON ({side("e", keys)}) = ({side("t", keys)})
         WHERE e.{keys[0]} IS NULL OR t.{keys[0]} IS NULL
            OR ({side("e", values)}) IS DISTINCT FROM ({side("t", values)})
         ORDER BY {", ".join(f"coalesce(e.{c}, t.{c})" for c in keys)}""")
    k, v = len(keys), len(values)
    differences = []
    for found in cursor:
        in_replay, in_table = found[0], found[1]
        key = found[2 : 2 + k] if in_replay else found[2 + k : 2 + 2 * k]
        expected, actual = found[2 + 2 * k : 2 + 2 * k + v], found[2 + 2 * k + v :]
        differences.append(
            Difference(key if k > 1 else key[0], expected if in_replay else None, actual if in_table else None)
        )
    return rows, differences


class _Counting:
    def __init__(self, events: Iterator[RecordedEvent]) -> None:
        self.events, self.count = events, 0

    def __iter__(self) -> Iterator[RecordedEvent]:
        for event in self.events:
            self.count += 1
            yield event
