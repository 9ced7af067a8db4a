"""The projection runner: catches projectors up with the event log, batch by batch.

Each batch is one transaction that marks out the next span of the log after a checkpoint, has
every projector waiting at that checkpoint apply it (in SQL, inside Postgres), and moves their
checkpoints, so a crash at any instant neither skips nor repeats an event. A rebuild is the same
catch-up from the first event, in bigger spans. A session-level advisory lock per projector keeps
two runners (Celery workers, the management command) from running the same projector at once. A
projector that raises applies as much of the span as goes in up to the bad event, keeps its
checkpoint just before it, records the error, and sits out the rest of the run; the others keep
going.
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ledger import store
from ledger.store import Checkpoint
from ledger.store.sql import execute, generic_plans, pipeline, prepared_cursor
from projections import metrics, partitions, schemas, skips
from projections.models import ProjectionStatus
from projections.projectors import Projector, get_projectors, get_runnable
from projections.projectors.base import Span
from projections.projectors.process import ProcessManager

log = logging.getLogger(__name__)

# Events per batch (one transaction) of a live catch-up: small enough that a worker's transaction
# stays short and its time slice is kept.
BATCH_SIZE = 10_000
# Events per batch of rebuild_projections. No event comes into Python, so the process's memory does
# not depend on it; bigger spans pay the per-batch statements less often and fold more events into
# each summary row.
REBUILD_BATCH_SIZE = 200_000
# A span of at most this many events is applied with the statements' generic plans (prepared, planned
# once: ledger.store.sql.generic_plans), the few events a nudge finds; a longer one is planned for
# its bounds each time, as a rebuild's must be.
LIVE_SPAN = 500


def lock_key(name: str, schema: str | None = None) -> int:
    """The advisory lock of projector `name`'s tables in `schema` (the live ones by default): a
    rebuild's shadow tables are caught up by a runner of their own while the live ones go on."""
    scope = name if schema in (None, schemas.LIVE) else f"{schema}.{name}"
    digest = hashlib.blake2b(f"tally.projection.{scope}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass
class Report:
    applied: int = 0  # events read and applied across all batches
    batches: int = 0
    skipped: list[str] = field(default_factory=list)  # projectors another runner holds
    failed: dict[str, str] = field(default_factory=dict)
    caught_up: bool = False


@dataclass
class _Lane:
    """The projectors at one checkpoint: they share each span and advance together."""

    checkpoint: Checkpoint
    projectors: list[Projector]


def ensure_status_rows(projectors: Iterable[Projector]) -> None:
    # One statement on every catch-up (this runs on each nudge), not a get_or_create per projector.
    # A new row's tables are empty: whatever fills them from the first event is this version.
    ProjectionStatus.objects.bulk_create(
        [ProjectionStatus(name=p.name, version=p.version) for p in projectors], ignore_conflicts=True
    )


# The SQLSTATE of a lock wait that ran out of lock_timeout: the one error that means "busy".
LOCK_NOT_AVAILABLE = "55P03"


def try_lock(names: Iterable[str], *, wait_seconds: float = 0, schema: str | None = None) -> list[str]:
    """Take the advisory lock of each projector that no other runner holds (waiting up to
    `wait_seconds` for a busy one); return the names locked. Any error but a lock timeout (a lost
    connection, a cancelled statement) propagates, with the locks taken so far released: when the
    statement that takes the free ones fails part-way, every one it may have taken."""
    keys = {name: lock_key(name, schema) for name in names}
    locked: list[str] = []
    try:
        with connection.cursor() as cursor:
            # All that are free in one statement (a live catch-up takes every projector's lock on each
            # nudge: one round trip, not three per projector); then, one by one, a wait for the busy.
            try:
                cursor.execute(
                    "SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", [list(keys.values())]
                )
            except BaseException:
                locked.extend(keys)  # it may have taken any of them before it failed: give each back
                raise
            free = {row[0] for row in cursor.fetchall()}
            locked.extend(name for name, key in keys.items() if key in free)
            if wait_seconds > 0 and len(free) < len(keys):
                # Waiting while holding locks taken in no order can deadlock with another runner doing
                # the same, each holding what the other waits for (Postgres ends one of them after
                # deadlock_timeout). Waits go in ascending key order, holding only smaller keys: a
                # circle of waiters cannot form. What was taken above the first busy key goes back.
                first_busy = min(key for key in keys.values() if key not in free)
                above = [name for name in locked if keys[name] > first_busy]
                unlock(above, schema=schema)
                locked = [name for name in locked if name not in above]
                for name, key in sorted(keys.items(), key=lambda item: item[1]):
                    if name not in locked and _wait_for_lock(cursor, key, wait_seconds):
                        locked.append(name)
    except BaseException:
        if locked and not _connection_lost():
            unlock(locked, schema=schema)
        raise
    return locked


def _wait_for_lock(cursor, key: int, wait_seconds: float) -> bool:
    cursor.execute("SELECT set_config('lock_timeout', %s, false)", [f"{int(wait_seconds * 1000)}ms"])
    try:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
        return True
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False  # another runner still holds it
        raise
    finally:
        # On a lost connection there is no session to reset, and trying would hide the real error.
        if not _connection_lost():
            cursor.execute("SELECT set_config('lock_timeout', '0', false)")


def _connection_lost() -> bool:
    return connection.connection is None or connection.connection.closed


def unlock(names: Iterable[str], *, schema: str | None = None) -> None:
    keys = [lock_key(name, schema) for name in names]
    if keys:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", [keys])


def catch_up(
    names: list[str] | None = None,
    *,
    max_seconds: float | None = None,
    wait_seconds: float = 0,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    schema: str | None = None,
    pace: float = 1.0,
    lane: int | None = None,
) -> Report:
    """Bring the named projectors (all by default) up to the end of the log, or until
    `max_seconds` have passed. Projectors held by another runner are skipped. With `schema`, the
    named projectors' tables in that schema (a blue/green rebuild's), not the live ones. With a
    `pace` below 1, it works only that share of the time, resting after each batch. A name is a
    projector (all its partitions) or one partition ("statement:2/4"); with `lane` k, only the k-th
    partitions of the split projectors, and the projectors not split with lane 1 (`lanes`)."""
    if connection.in_atomic_block:
        raise RuntimeError("catch_up() commits batch by batch; call it outside a transaction")
    report = Report()
    with schemas.tables_in(schema):
        # One read of the status rows' names gives the layout and the rows still to make: on each
        # nudge, no statement more than before partitions (the rows' INSERT only when one is missing).
        existing = partitions.status_names()
        projectors = units(names, schema=schema, lane=lane, layout=partitions.built(existing))
        if missing := [p for p in projectors if p.name not in existing]:
            ensure_status_rows(missing)
        locked = try_lock([p.name for p in projectors], wait_seconds=wait_seconds, schema=schema)
        report.skipped = [p.name for p in projectors if p.name not in locked]
        try:
            _run([p for p in projectors if p.name in locked], report, max_seconds, batch_size, progress, pace)
        finally:
            unlock(locked, schema=schema)
    return report


def units(
    names: list[str] | None = None,
    *,
    schema: str | None = None,
    lane: int | None = None,
    layout: dict[str, int] | None = None,
) -> list[Projector]:
    """What a catch-up of `names` applies, in the layout the tables of `schema` (on the search path)
    were built with (projections/partitions.py; `layout` when already read): each projector, or
    each of its partitions."""
    bases = sorted({partitions.base_name(n) for n in names}) if names else None
    # The process managers too (by default): they follow the log the same way. Never another
    # generation's: they act, and acting twice is what their own checkpoint is there to prevent.
    runnable = get_runnable(bases) if schema in (None, schemas.LIVE) else get_projectors(bases)
    found = partitions.expand(runnable, partitions.built() if layout is None else layout)
    if names:
        found = [u for u in found if u.name in names or u.base.name in names]
    if lane is not None:
        found = [u for u in found if partitions.parse(u.name)[1] == lane]
    return found


def lanes() -> int:
    """How many catch-up tasks a nudge or sweep starts side by side, one per partition index: the
    most partitions of any projector, as the live tables are built or as configured."""
    return max([partitions.configured_lanes(), *partitions.built().values()])


def catch_up_each(
    names: list[str],
    *,
    wait_seconds: float = 0,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[str, int], None] | None = None,
    schema: str | None = None,
    max_seconds: float | None = None,
) -> Report:
    """catch_up() for each named projector at the same time, each in a thread with a database
    connection (so transactions, lock and checkpoint) of its own. A rebuild's statements then run
    on two or more of Postgres's cores instead of one projector after another on one; the
    statement projector alone is most of the work, so the others finish in its shadow."""

    def one(name: str) -> Report:
        try:
            return catch_up(
                [name],
                max_seconds=max_seconds,
                wait_seconds=wait_seconds,
                batch_size=batch_size,
                progress=progress and partial(progress, name),
                schema=schema,
            )
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        reports = list(pool.map(one, names))
    return Report(
        applied=max(r.applied for r in reports),
        batches=sum(r.batches for r in reports),
        skipped=[name for r in reports for name in r.skipped],
        failed={name: error for r in reports for name, error in r.failed.items()},
        caught_up=all(r.caught_up for r in reports),
    )


def _run(
    projectors: list[Projector],
    report: Report,
    max_seconds: float | None,
    batch_size: int,
    progress: Callable[[int], None] | None,
    pace: float = 1.0,
) -> None:
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    statuses = {s.name: s for s in ProjectionStatus.objects.filter(name__in=[p.name for p in projectors])}
    passed_over = skips.checkpoints([p.name for p in projectors])
    active = list(projectors)
    while active:
        if deadline is not None and time.monotonic() > deadline:
            return
        lane = _lowest_lane(active, statuses)
        started = time.monotonic()
        try:
            span = _apply_together(lane, batch_size, statuses, started, passed_over)
        except _NotTogether as gave_up:  # rolled back: the span again, one projector at a time
            if _connection_lost():  # a new session would hold none of the locks (nor the search path)
                raise gave_up.__cause__ or gave_up from None
            span = _apply_one_by_one(lane, batch_size, statuses, started, passed_over, report)
            active = [p for p in active if p.name not in report.failed]
        if span is None:
            _finish(lane, statuses)
            active = [p for p in active if p not in lane.projectors]
            continue
        metrics.batch_visible(span, [statuses[p.name] for p in lane.projectors if p in active])
        report.applied += span.events
        report.batches += 1
        if progress:
            progress(span.events)
        rest(started, pace)
    report.caught_up = not report.failed


def _apply_one_by_one(
    lane: _Lane,
    batch_size: int,
    statuses: dict[str, ProjectionStatus],
    started: float,
    passed_over: dict[str, list[Checkpoint]],
    report: Report,
) -> Span | None:
    """The next span, each projector of the lane in a savepoint of its own (see `_apply`): the way
    after `_apply_together` gave up. A projector that fails is named in `report.failed`."""
    with transaction.atomic():
        span = next_span(lane.checkpoint, batch_size)
        if span is not None:
            for projector in lane.projectors:
                status = statuses[projector.name]
                if error := _apply(projector, span, status, started, passed_over.get(projector.name, ())):
                    report.failed[projector.name] = error
    return span


# The end of the next span: the `limit`-th event after the checkpoint in (tx_id, position) order,
# or the last one below the horizon of open transactions if fewer are there. The horizon is the
# event store's own SQL, the one read_all uses (not a copy of it), so the runner never moves past an
# event that a slower transaction may still commit before it. The count comes from the same scan,
# which reads the (tx_id, position) index and the last event's row only (the lower bound on tx_id
# alone is there for the planner's estimate, as in IN_SPAN). The outer ORDER BY names head's
# columns: a bare tx_id would be the tx_id::text output column, sorted as text.
_SPAN_EVENTS = f"""FROM ledger_event
         WHERE (tx_id, position) > (%(tx_id)s::text::xid8, %(position)s) AND tx_id >= %(tx_id)s::text::xid8
           AND tx_id < ({store.HORIZON_SQL})
         ORDER BY tx_id, position LIMIT %(limit)s"""
_NEXT_SPAN = f"""
SELECT head.tx_id::text, head.position, count(*) OVER (),
       (SELECT recorded_at FROM ledger_event l WHERE l.position = head.position)
  FROM (SELECT tx_id, position {_SPAN_EVENTS}) head
 ORDER BY head.tx_id DESC, head.position DESC LIMIT 1
"""


def rest(started: float, pace: float) -> None:
    """After a stretch of work begun at `started`, rest so that the work takes `pace` of the time."""
    if pace < 1:
        time.sleep((time.monotonic() - started) * (1 / max(pace, 0.01) - 1))


# _NEXT_SPAN with the types of the span's events: a live span's, which few projectors handle (a
# deposit's: four of the eight), so that the others send no statement (projectors/base.py,
# Span.concerns). Not a rebuild's: reading each event's type would cost its long spans for nothing.
_NEXT_SPAN_TYPED = f"""
WITH head AS (SELECT tx_id, position, type {_SPAN_EVENTS})
SELECT last.tx_id::text, last.position, (SELECT count(*) FROM head),
       (SELECT recorded_at FROM ledger_event l WHERE l.position = last.position),
       (SELECT array_agg(DISTINCT type) FROM head)
  FROM (SELECT tx_id, position FROM head ORDER BY tx_id DESC, position DESC LIMIT 1) last
"""


def next_span(after: Checkpoint, limit: int) -> Span | None:
    """The next `limit` events (or all there are) after `after`; None when there are none. A span
    of a live catch-up's size or less says which types of events it holds."""
    # Prepared: its plan is the same index scan whatever the bounds (a generic plan read a rebuild's
    # span of 200,000 as fast as one planned for it), and the horizon's text made parsing and
    # planning it each time 0.8 ms of a live catch-up's 10 (0.2-0.6 ms prepared).
    typed = limit <= BATCH_SIZE
    with prepared_cursor() as cursor:
        params = {"tx_id": str(after.tx_id), "position": after.position, "limit": limit}
        cursor.execute(_NEXT_SPAN_TYPED if typed else _NEXT_SPAN, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    tx_id, position, events, recorded_at, *types = rows[0]
    return Span(
        after, Checkpoint(int(tx_id), position), events, recorded_at, types=frozenset(types[0]) if typed else None
    )


def _lowest_lane(active: list[Projector], statuses: dict[str, ProjectionStatus]) -> _Lane:
    def checkpoint(p: Projector) -> Checkpoint:
        return Checkpoint(statuses[p.name].tx_id, statuses[p.name].position)

    lowest = min(checkpoint(p) for p in active)
    return _Lane(lowest, [p for p in active if checkpoint(p) == lowest])


class _NotTogether(Exception):
    """A projector failed, or has events to pass over, in the span: apply it one projector at a time."""


def _apply_together(
    lane: _Lane,
    batch_size: int,
    statuses: dict[str, ProjectionStatus],
    started: float,
    passed_over: dict[str, list[Checkpoint]],
) -> Span | None:
    """The next span applied by every projector of the lane and their checkpoints moved, in one
    transaction without a savepoint each and one UPDATE of their status rows: with the locks taken
    and given back in one statement each, a live catch-up of one command is 21 statements, not 67.
    Raises _NotTogether, with nothing applied, when a projector fails or passes over an event in it:
    `_apply_one_by_one` then goes one by one, each projector in a savepoint, finding the failing event."""
    with transaction.atomic():
        span = next_span(lane.checkpoint, batch_size)
        if span is None:
            return None
        if any(span.after < c <= span.upto for p in lane.projectors for c in passed_over.get(p.name, ())):
            raise _NotTogether()
        # The projectors' statements in one round trip (they write their own tables and wait for no
        # answer but their own rows: a catch-up of one deposit took 6.7-8.3 ms so, 8.5-10.4 ms one
        # statement at a time); a process manager acts through the write path, whose errors must
        # arrive where they happen, so it goes after them, statement by statement.
        # Those that handle none of the span's events send nothing; their checkpoints move with the rest.
        busy = [p for p in lane.projectors if span.concerns(p)]
        acting = [p for p in busy if isinstance(p, ProcessManager)]
        try:
            with pipeline(), generic_plans() if span.events <= LIVE_SPAN else nullcontext():
                for projector in busy:
                    if projector not in acting:
                        projector.apply(span)
            for process in acting:
                process.apply(span)
        except Exception as exc:
            raise _NotTogether() from exc
        _advance_together([statuses[p.name] for p in lane.projectors], span, started)
    return span


# _advance for the status rows of a whole lane: the same span, so the same new checkpoint for each.
_ADVANCE_TOGETHER = """
UPDATE projections_projectionstatus
   SET tx_id = %(tx_id)s, position = %(position)s, last_event_at = %(last_event_at)s, updated_at = %(now)s,
       events_applied = events_applied + %(events)s, batches_applied = batches_applied + 1,
       last_error = CASE WHEN last_error_position <= %(position)s THEN '' ELSE last_error END,
       last_error_at = CASE WHEN last_error_position <= %(position)s THEN NULL ELSE last_error_at END,
       last_error_position = CASE WHEN last_error_position <= %(position)s THEN NULL ELSE last_error_position END,
       rebuild_rate = CASE WHEN rebuilding THEN %(rate)s ELSE rebuild_rate END
 WHERE name = ANY(%(names)s)
"""


def _advance_together(statuses: list[ProjectionStatus], span: Span, started: float) -> None:
    now = timezone.now()
    execute(
        _ADVANCE_TOGETHER,
        {
            "tx_id": span.upto.tx_id,
            "position": span.upto.position,
            "last_event_at": span.last_recorded_at,
            "now": now,
            "events": span.events,
            "rate": span.events / max(time.monotonic() - started, 1e-6),
            "names": [s.name for s in statuses],
        },
    )
    transaction.on_commit(partial(_advanced, statuses, span, now))


def _advanced(statuses: list[ProjectionStatus], span: Span, now: datetime) -> None:
    """The lane's status objects as their rows now are (only once committed: a rollback leaves both)."""
    for status in statuses:
        status.tx_id, status.position = span.upto.tx_id, span.upto.position
        status.last_event_at, status.updated_at = span.last_recorded_at, now
        if status.last_error_position is not None and span.upto.position >= status.last_error_position:
            status.last_error_position = None


def _apply(
    projector: Projector, span: Span, status: ProjectionStatus, started: float, passed_over: Iterable[Checkpoint]
) -> str | None:
    """Apply a span inside a savepoint, passing over the events an operator told this projector to
    skip; on failure, find the first event that fails."""
    for part, skip in skips.around(span, passed_over):
        if skip:  # the checkpoint moves past it; the tables never see it
            _advance(status, part, started)
            continue
        try:
            with transaction.atomic():
                projector.apply(part)
        except Exception as exc:  # noqa: BLE001 - any bug in one projector must not stop the others
            return _apply_until_failure(projector, part, status, exc)
        _advance(status, part, started)
    return None


def _apply_until_failure(projector: Projector, span: Span, status: ProjectionStatus, failure: Exception) -> str | None:
    """Bisect: `suspect` events from the checkpoint on are known to fail together. Apply the first
    half of them; if it goes in, keep it (the checkpoint moves) and suspect the rest, else suspect
    that half. One failing event is the bad one, found in log2(span) tries rather than one per event.
    If a failure does not repeat, the rest of the span is tried again as a whole."""
    after, remaining, suspect = span.after, span.events, span.events
    while True:
        head = next_span(after, max(suspect // 2, 1))
        if head is None:  # cannot be: the span's events are committed, and none is ever deleted
            raise RuntimeError(f"the events after {after} are gone")
        try:
            with transaction.atomic():
                projector.apply(head)
        except Exception as exc:  # noqa: BLE001
            failure = exc
            if head.events == 1:
                break
            suspect = head.events
            continue
        _advance(status, head, time.monotonic())
        after, remaining, suspect = head.upto, remaining - head.events, suspect - head.events
        if not remaining:
            return None  # every event went in: the span's failure did not repeat
        if not suspect:
            suspect = remaining
    message = "".join(traceback.format_exception_only(failure)).strip()
    log.error("projection %s failed at position %s: %s", projector.name, head.upto.position, message)
    ProjectionStatus.objects.filter(name=status.name).update(
        last_error=f"{message}\n\n{''.join(traceback.format_exception(failure))[-4000:]}",
        last_error_position=head.upto.position,
        last_error_at=timezone.now(),
    )
    return message


def _advance(status: ProjectionStatus, span: Span, started: float) -> None:
    status.tx_id, status.position = span.upto.tx_id, span.upto.position
    status.last_event_at, status.updated_at = span.last_recorded_at, timezone.now()
    changes: dict[str, object] = {
        "tx_id": span.upto.tx_id,
        "position": span.upto.position,
        "last_event_at": span.last_recorded_at,
        "updated_at": status.updated_at,
        "events_applied": F("events_applied") + span.events,
        "batches_applied": F("batches_applied") + 1,
    }
    if status.last_error_position is not None and span.upto.position >= status.last_error_position:
        changes.update(last_error="", last_error_position=None, last_error_at=None)
        status.last_error_position = None
    if status.rebuilding:
        changes["rebuild_rate"] = span.events / max(time.monotonic() - started, 1e-6)
    ProjectionStatus.objects.filter(name=status.name).update(**changes)


def _finish(lane: _Lane, statuses: dict[str, ProjectionStatus]) -> None:
    """The lane reached the end of the log: a rebuild in progress is complete."""
    names = [p.name for p in lane.projectors if statuses[p.name].rebuilding]
    if names:
        ProjectionStatus.objects.filter(name__in=names).update(rebuilding=False)
        for name in names:
            statuses[name].rebuilding = False


def reset(names: list[str] | None = None, *, wait_seconds: float = 30) -> list[str]:
    """Empty the named projectors' tables and checkpoints, marked as rebuilding; the next catch-up
    replays them from the first event, as the configured partitions. Waits for a running catch-up
    (of their partitions as built, or as they will be) to finish its batch."""
    projectors = get_projectors(names)
    now_built = partitions.rows_of([p.name for p in projectors])
    to_build = partitions.unit_names(projectors)
    locked = try_lock(sorted({*now_built, *to_build}), wait_seconds=wait_seconds)
    try:
        busy = sorted({*now_built, *to_build} - set(locked))
        if busy:
            raise RuntimeError(f"projection {', '.join(busy)} is busy in another runner; try again")
        target = store.head_position()
        with transaction.atomic():
            ProjectionStatus.objects.filter(name__in=set(now_built) - set(to_build)).delete()
            ensure_status_rows(partitions.expand(projectors))
            for projector in projectors:
                projector.reset()
                # Whatever fills them now is this version of the projector.
                ProjectionStatus.objects.filter(name__in=partitions.unit_names([projector])).update(
                    version=projector.version
                )
            ProjectionStatus.objects.filter(name__in=to_build).update(
                tx_id=0,
                position=0,
                last_event_at=None,
                events_applied=0,
                updated_at=timezone.now(),
                last_error="",
                last_error_position=None,
                last_error_at=None,
                rebuilding=True,
                rebuild_started_at=timezone.now(),
                rebuild_target=target,
                rebuild_rate=None,
            )
    finally:
        unlock(locked)
    return [p.name for p in projectors]
