"""Blue/green rebuilds: new tables beside the live ones, checked, then swapped in.

A rebuild fills a projection's tables anew in the SHADOW schema (projections/schemas.py) from the
first event, with the same runner and SQL as the live catch-up, while the screens go on reading the
live tables and the live runner keeps them current. When the shadow has caught up with the log it
is compared with a fresh replay (verify_projections' check); a shadow that differs is never swapped
in and the operator is told what differs. One that agrees is caught up to the head once more and
changes places with the live tables in one short transaction under the projection's lock, so a
screen sees either the old tables or the new, both complete, and a checkpoint that never goes back
(read-your-writes holds across the swap). The tables it replaced stay in PREVIOUS until the next
rebuild: `rollback` catches them up and swaps them back the same way.

Every step is recorded on the shadow's status row (rebuild_phase) and every step can be repeated:
a rebuild killed at any moment resumes where the shadow's checkpoint is, or starts over with
`restart`; the live tables are touched only by the swap's transaction, which commits whole or not
at all.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.template.defaultfilters import pluralize
from django.utils import timezone

from ledger import store
from ledger.store import Checkpoint
from ledger.store.sql import execute, fetch
from projections import runner, schemas
from projections.models import ProjectionStatus
from projections.partitions import PROJECTION_OF_ROW, base_name, configured, parse, rows_of, unit_names
from projections.projectors import Projector, get_projectors
from projections.schemas import LIVE, PREVIOUS, SHADOW, STATUS_TABLE, SWAP, tables_in
from projections.verify import Verdict, verify_all

log = logging.getLogger(__name__)


class Phase(StrEnum):
    BUILDING = "building"
    VERIFYING = "verifying"
    SWAPPING = "swapping"
    FAILED = "failed"  # the check found differences: never swapped in; the next rebuild starts over


class RebuildBusy(RuntimeError):
    """Another process is rebuilding (or rolling back) these projections, or the live runner kept
    its lock past the wait."""


class RollbackRefused(RuntimeError):
    """There is nothing to return to, or returning would be wrong; the message says which."""


@dataclass
class Outcome:
    swapped: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    applied: int = 0  # events applied to the shadow tables
    unfinished: bool = False  # stopped at max_seconds while building: run again to go on
    marks: dict[str, str | None] = field(default_factory=dict)  # where this slice left each shadow (see `rebuild`)
    failed: dict[str, str] = field(default_factory=dict)  # a poison event stopped the build
    differences: dict[str, Verdict] = field(default_factory=dict)  # the check failed: not swapped


# How long the swap waits for the screens' reads of a live table before it tries again: a waiting
# ACCESS EXCLUSIVE lock queues every later reader behind it, so it must never wait long.
SWAP_LOCK_TIMEOUT = "500ms"
SWAP_ATTEMPTS = 20


def rebuild(
    names: list[str] | None = None,
    *,
    restart: bool = False,
    batch_size: int = runner.REBUILD_BATCH_SIZE,
    max_seconds: float | None = None,
    progress: Callable[[str, int], None] | None = None,
    on_phase: Callable[[str, Phase], None] | None = None,
    pace: float | None = None,
    expect: Mapping[str, str | None] | None = None,
) -> Outcome:
    """Rebuild the named projections (all by default) blue/green, or go on with an interrupted
    rebuild of them. With `max_seconds`, stops building after about that long (outcome.unfinished,
    with outcome.marks for the slice that goes on); the check and the swap, once reached, run to the
    end.

    `expect` is for the workers' chain of slices: each name's shadow mark (`mark`) as the task that
    asked for this slice saw it. A projection whose shadow moved since (another slice ran: the task is
    a duplicate, from a sweep that raced the chain) or that is no longer due (swapped in meanwhile) is
    left alone, so duplicates end at once instead of chaining on, or starting a rebuild over.

    `pace` (settings.TALLY_REBUILD_PACE by default) is the share of the time it works: below 1 it
    builds one projection after another and rests after each batch of building and checking, so
    that the screens, which go on serving meanwhile, keep the machine's other resources; at 1 it
    goes flat out, the projections side by side (as an in-place rebuild does)."""
    projectors = get_projectors(names)
    pace = settings.TALLY_REBUILD_PACE if pace is None else pace
    outcome = Outcome()
    announce = on_phase or (lambda name, phase: None)
    with _rebuild_lock(projectors):
        if expect is not None:
            projectors = [p for p in projectors if _still_expected(p, expect.get(p.name))]
            if not projectors:
                return outcome
        for projector in projectors:
            if _prepare(projector, restart=restart):
                outcome.resumed.append(projector.name)
        building = [p for p in projectors if _phase(p) is Phase.BUILDING]
        for projector in building:
            announce(projector.name, Phase.BUILDING)
        if building:
            report = _build(building, batch_size=batch_size, max_seconds=max_seconds, progress=progress, pace=pace)
            outcome.applied, outcome.failed = report.applied, report.failed
            if report.failed or report.skipped or not report.caught_up:
                outcome.unfinished = bool(report.skipped) or not (report.failed or report.caught_up)
                outcome.marks = {p.name: mark(p.name) for p in projectors}
                return outcome
            _vacuum(building, pace)
        for projector in projectors:
            announce(projector.name, Phase.VERIFYING)
            _set_phase(projector, Phase.VERIFYING)
        verdicts = verify_all(projectors, schema=SHADOW, pace=pace)  # one per partition of each
        for projector in projectors:
            differing = [v for v in verdicts if base_name(v.name) == projector.name and v.differences]
            if differing:
                _set_phase(projector, Phase.FAILED, note="\n".join(describe(v) for v in differing))
                outcome.differences.update((v.name, v) for v in differing)
        if outcome.differences:
            return outcome
        for projector in projectors:
            announce(projector.name, Phase.SWAPPING)
            _set_phase(projector, Phase.SWAPPING)
        _swap_in(projectors, SHADOW)
        outcome.swapped = [p.name for p in projectors]
    log.info("rebuilt %s blue/green and swapped them in", ", ".join(outcome.swapped))
    return outcome


def rollback(names: list[str] | None = None) -> list[str]:
    """Put the tables that the last rebuild replaced back in place of the live ones (which become
    the ones a second rollback returns to), caught up to the head of the log first."""
    projectors = get_projectors(names)
    with _rebuild_lock(projectors):
        for projector in projectors:
            _check_previous(projector)
        report = runner.catch_up([p.name for p in projectors], schema=PREVIOUS, wait_seconds=30)
        if report.failed or report.skipped:
            raise RollbackRefused(
                "the earlier tables could not be caught up with the log: "
                + "; ".join([*(f"{n}: {e}" for n, e in report.failed.items()), *(f"{n}: busy" for n in report.skipped)])
            )
        _swap_in(projectors, PREVIOUS)
    log.info("rolled %s back to their previous tables", ", ".join(p.name for p in projectors))
    return [p.name for p in projectors]


def outdated() -> list[str]:
    """The projections whose live tables were built by another version of their projector, or as
    another number of partitions than TALLY_PROJECTION_PARTITIONS now says."""
    built: dict[str, set[tuple[int, int]]] = {}
    for name, version in ProjectionStatus.objects.values_list("name", "version"):
        base, _, n = parse(name)
        built.setdefault(base, set()).add((version, n))
    return [p.name for p in get_projectors() if p.name in built and built[p.name] != {(p.version, configured(p))}]


def mark(name: str) -> str | None:
    """Where projection `name`'s shadow stands: the time its status rows (a row per partition) last
    changed (every batch and phase changes one), or None without a rebuild under way."""
    with tables_in(SHADOW):
        rows = ProjectionStatus.objects.filter(name__in=rows_of([name]))
        row = rows.exclude(rebuild_phase="").order_by("-updated_at").values_list("updated_at", flat=True).first()
    return row.isoformat() if row else None


def _still_expected(projector: Projector, expected: str | None) -> bool:
    now = mark(projector.name) if schemas.exists(SHADOW, STATUS_TABLE) else None
    if now != expected:
        return False
    if now is None:
        return projector.name in outdated()
    return _phase(projector) is not Phase.FAILED


# A rebuild goes on in a new task after each slice: a shadow updated this recently is between two.
BETWEEN_SLICES = timedelta(seconds=15)


def due() -> dict[str, str | None]:
    """What the workers' sweep should rebuild: the outdated projections, and the rebuilds that were
    interrupted (a killed worker or command) and not failed, unless one is at it now; each with its
    shadow's mark, for `rebuild(expect=...)`."""
    names = set(outdated())
    shadows = progress()
    now = timezone.now()
    busy = {p.projection for p in shadows if p.running or (p.updated_at and now - p.updated_at < BETWEEN_SLICES)}
    known = {p.name for p in get_projectors()}
    names.update(p.projection for p in shadows if p.phase != Phase.FAILED and p.projection in known)
    return {name: mark(name) for name in sorted(names - busy)}


# --- what the screens show of a rebuild ----------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    name: str
    phase: str
    position: int
    target: int | None  # the head of the log when the rebuild began
    rate: float | None  # events per second over the last batch
    started_at: datetime | None
    note: str  # why it failed, or the build's error
    updated_at: datetime | None
    running: bool  # a process is at it now (else it was interrupted and waits to be run again)

    @property
    def projection(self) -> str:
        """The projection this row is of: its name, or the projector's whose partition it is."""
        return base_name(self.name)

    @property
    def done(self) -> float | None:
        return min(self.position / self.target, 1.0) if self.target else None


def progress() -> list[Progress]:
    """Each rebuild under way, interrupted or failed, from its shadow status rows (one per partition)."""
    if not schemas.exists(SHADOW, STATUS_TABLE):
        return []
    rows = fetch(
        f"""SELECT name, rebuild_phase, position, rebuild_target, rebuild_rate, rebuild_started_at, last_error,
                   updated_at
              FROM {SHADOW}.{STATUS_TABLE} ORDER BY name"""
    )
    held = _held_rebuild_locks()
    return [
        Progress(
            name, phase, position, target, rate, started, note, updated, running=_rebuild_key(base_name(name)) in held
        )
        for name, phase, position, target, rate, started, note, updated in rows
    ]


def previous_available(name: str) -> bool:
    """Whether `rollback` has tables to return to for projection `name`."""
    return bool(
        schemas.exists(PREVIOUS, STATUS_TABLE)
        and fetch(f"SELECT 1 FROM {PREVIOUS}.{STATUS_TABLE} WHERE {PROJECTION_OF_ROW} = %s", [name])
    )


# --- the steps -------------------------------------------------------------------------------------


def _rebuild_key(name: str) -> int:
    return runner.lock_key(f"rebuild:{name}")


@contextmanager
def _rebuild_lock(projectors: list[Projector]) -> Iterator[None]:
    """One rebuild or rollback of a projection at a time, across every process and host."""
    keys = [_rebuild_key(p.name) for p in projectors]
    taken: list[int] = []
    try:
        for key, projector in zip(keys, projectors, strict=True):
            if not fetch("SELECT pg_try_advisory_lock(%s)", [key])[0][0]:
                raise RebuildBusy(f"{projector.name} is being rebuilt or rolled back by another process")
            taken.append(key)
        yield
    finally:
        if connection.connection is not None and not connection.connection.closed:
            for key in taken:
                execute("SELECT pg_advisory_unlock(%s)", [key])


def _held_rebuild_locks() -> set[int]:
    rows = fetch(
        """SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
            WHERE locktype = 'advisory' AND objsubid = 1 AND granted AND database = (
                  SELECT oid FROM pg_database WHERE datname = current_database())"""
    )
    # pg_locks shows a bigint key as two halves; shifted back together in a bigint they are the key.
    return {key for (key,) in rows}


def _shadow_row(projector: Projector) -> ProjectionStatus | None:
    """The first of the shadow's rows (the rebuild's phase is on each)."""
    with tables_in(SHADOW):
        return ProjectionStatus.objects.filter(name__in=unit_names([projector])).order_by("name").first()


def _phase(projector: Projector) -> Phase | None:
    row = _shadow_row(projector)
    return Phase(row.rebuild_phase) if row and row.rebuild_phase else None


def _set_phase(projector: Projector, phase: Phase, note: str = "") -> None:
    with tables_in(SHADOW):
        ProjectionStatus.objects.filter(name__in=unit_names([projector])).update(
            rebuild_phase=phase, last_error=note, updated_at=timezone.now()
        )


def _prepare(projector: Projector, *, restart: bool) -> bool:
    """Make the projector's shadow tables ready; True when an interrupted rebuild's are kept."""
    schemas.ensure_status_table(SHADOW)
    row = _shadow_row(projector)
    with tables_in(SHADOW):
        layout = sorted(rows_of([projector.name]))
    resumable = (
        not restart
        and row is not None
        and row.rebuild_phase in (Phase.BUILDING, Phase.VERIFYING, Phase.SWAPPING)
        and row.version == projector.version
        and layout == sorted(unit_names([projector]))  # as many partitions as configured now
        and all(schemas.column_shape(SHADOW, t) == schemas.column_shape(LIVE, t) for t in projector.tables)
    )
    if resumable:
        return True
    with transaction.atomic():
        for table in projector.tables:
            schemas.create_like_live(SHADOW, table)
        with tables_in(SHADOW):
            ProjectionStatus.objects.filter(name__in=layout).delete()
            target, now = store.head_position(), timezone.now()
            ProjectionStatus.objects.bulk_create(
                ProjectionStatus(
                    name=name,
                    version=projector.version,
                    rebuilding=True,
                    rebuild_phase=Phase.BUILDING,
                    rebuild_started_at=now,
                    rebuild_target=target,
                    updated_at=now,
                )
                for name in unit_names([projector])
            )
    return False


def _build(
    projectors: list[Projector],
    *,
    batch_size: int,
    max_seconds: float | None,
    progress: Callable[[str, int], None] | None,
    pace: float,
) -> runner.Report:
    """Fill the shadow tables: flat out side by side (each partition in a session of its own), or
    paced one projection (or partition) after another."""
    names = unit_names(projectors)
    if pace >= 1:
        return runner.catch_up_each(
            names, wait_seconds=30, batch_size=batch_size, progress=progress, schema=SHADOW, max_seconds=max_seconds
        )
    report = runner.Report(caught_up=True)
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    for name in names:
        left = None if deadline is None else max(deadline - time.monotonic(), 0)
        one = runner.catch_up(
            [name],
            wait_seconds=30,
            batch_size=min(batch_size, PACED_BATCH),
            progress=progress and partial(progress, name),
            schema=SHADOW,
            max_seconds=left,
            pace=pace,
        )
        report.applied = max(report.applied, one.applied)  # events of the log read, as side by side
        report.batches += one.batches
        report.skipped += one.skipped
        report.failed.update(one.failed)
        report.caught_up = report.caught_up and one.caught_up
    return report


# A paced build rests after every batch: batches this size keep each stretch of work short.
PACED_BATCH = 5_000


def _vacuum(projectors: Iterable[Projector], pace: float) -> None:
    # All new rows: measured now, the screens' queries are planned from their real size the moment
    # the tables are swapped in (the statistics move with the tables). Paced, with the cost-based
    # delay autovacuum itself uses, so that it does not take the machine's disk and CPU for itself.
    # From a session that appends no events (schemas.tables_in): ANALYZE writes its statistics in a
    # transaction of its own, which would otherwise hold the live read side back as long as it runs.
    tables = ", ".join(f"{SHADOW}.{t}" for p in projectors for t in p.tables)
    delay = 0 if pace >= 1 else 2
    with tables_in(SHADOW):
        execute(f"SET vacuum_cost_delay = {delay}")
        try:
            execute(f"VACUUM (ANALYZE) {tables}")
        finally:
            execute("SET vacuum_cost_delay TO DEFAULT")


def describe(verdict: Verdict, shown: int = 5) -> str:
    rows, events = len(verdict.differences), verdict.events
    differ = "row differs" if rows == 1 else "rows differ"
    lines = [f"{rows} {differ} from a replay of {events} event{pluralize(events)}:"]
    for diff in verdict.differences[:shown]:
        if diff.actual is None:
            lines.append(f"missing {diff.key}: expected {diff.expected}")
        elif diff.expected is None:
            lines.append(f"extra {diff.key}: the shadow has {diff.actual}")
        else:
            lines.append(f"differs {diff.key}: expected {diff.expected}, the shadow has {diff.actual}")
    return "\n".join(lines)


def _check_previous(projector: Projector) -> None:
    if not previous_available(projector.name):
        raise RollbackRefused(f"{projector.name} has no earlier tables to return to (none were kept by a rebuild)")
    for table in projector.tables:
        if schemas.column_shape(PREVIOUS, table) != schemas.column_shape(LIVE, table):
            raise RollbackRefused(
                f"{projector.name}'s earlier table {table} has other columns than the live one (a migration "
                "changed it since): rebuild instead"
            )
    with tables_in(PREVIOUS):
        rows = rows_of([projector.name])
        version = ProjectionStatus.objects.filter(name__in=rows).values_list("version", flat=True).first()
    if sorted(rows) != sorted(unit_names([projector])):
        raise RollbackRefused(
            f"{projector.name}'s earlier tables were built as {len(rows)} partition{pluralize(len(rows))}, and "
            f"TALLY_PROJECTION_PARTITIONS now says {configured(projector)}: set it back first, or the read side "
            "would rebuild them again at once"
        )
    if version != projector.version:
        raise RollbackRefused(
            f"{projector.name}'s earlier tables were built by version {version} of the projector, and version "
            f"{projector.version} is deployed: deploy the code that built them first, or the read side would "
            "rebuild them again at once"
        )


def _swap_in(projectors: list[Projector], incoming: str) -> None:
    """Catch the `incoming` generation up to the head under the live tables' locks and exchange them.

    Each attempt holds the live runner's locks only for its own catch-up and exchange: between
    attempts the live read side goes on, so a swap that waits for readers never stalls the screens'
    read-your-writes for longer than one attempt (held across all of them, it once kept a deposit
    from its page for 15 s under load). After each attempt the live tables are caught up here, for
    the commands whose nudge found them held and gave up."""
    names = [p.name for p in projectors]
    runner.catch_up(names, schema=incoming, wait_seconds=30)  # most of the way, while the live ones go on
    # The live runner's locks: of the partitions the live tables are built as, and of those they will be.
    with tables_in(incoming):
        coming = rows_of(names)
    held = sorted({*rows_of(names), *coming})
    for attempt in range(SWAP_ATTEMPTS):
        swapped = _try_exchange(projectors, incoming, held)
        runner.catch_up(names, wait_seconds=0)
        if swapped:
            return
        log.info("swap of %s waited for readers past %s, attempt %d", names, SWAP_LOCK_TIMEOUT, attempt + 1)
        time.sleep(0.05 * (attempt + 1))
    raise RebuildBusy(f"the live tables of {', '.join(names)} were never free for the swap; try again")


def _try_exchange(projectors: list[Projector], incoming: str, held: list[str]) -> bool:
    """One attempt at the swap: False if the screens' reads kept a live table past SWAP_LOCK_TIMEOUT."""
    locked = runner.try_lock(held, wait_seconds=30)
    try:
        if len(locked) < len(held):
            raise RebuildBusy(f"{', '.join(sorted(set(held) - set(locked)))} stayed busy in a runner; try again")
        # The rest of the way, while the live ones stand still.
        report = runner.catch_up([p.name for p in projectors], schema=incoming, wait_seconds=30)
        if report.failed or report.skipped:
            raise RebuildBusy(f"the new tables could not be caught up: {report.failed or report.skipped}")
        with transaction.atomic():
            execute(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'")
            for projector in projectors:
                _exchange(projector, incoming)
        return True
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) != runner.LOCK_NOT_AVAILABLE:
            raise
        return False
    finally:
        runner.unlock(locked)


_CHECKPOINT_FIELDS = ("tx_id", "position", "last_event_at", "events_applied", "batches_applied", "version")
_ERROR_FIELDS = ("last_error", "last_error_position", "last_error_at")


def _statuses(schema: str, name: str) -> dict[str, dict[str, Any]]:
    """The status rows of projection `name` in `schema`: its own, or one per partition (none for live
    tables that no runner has filled yet)."""
    columns = (*_CHECKPOINT_FIELDS, *_ERROR_FIELDS)
    rows = fetch(
        f"SELECT name, {', '.join(columns)} FROM {schema}.{STATUS_TABLE} WHERE {PROJECTION_OF_ROW} = %s", [name]
    )
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in rows}


def _checkpoints(rows: dict[str, dict[str, Any]]) -> list[Checkpoint]:
    return [Checkpoint(row["tx_id"], row["position"]) for row in rows.values()]


def _exchange(projector: Projector, incoming: str) -> None:
    """Inside the swap's transaction: the `incoming` tables become the live ones and the live ones
    the PREVIOUS ones, with their checkpoints (a row per partition, as each generation is built)."""
    name = projector.name
    live, new = _statuses(LIVE, name), _statuses(incoming, name)
    if not new:
        raise RuntimeError(f"{name} has no status row in {incoming}; nothing was swapped")
    # Live tables no runner has filled yet (a new installation rebuilt before its workers ran) have
    # no checkpoint to be ahead of, and leave nothing to roll back to.
    if live and min(_checkpoints(new)) < max(_checkpoints(live)):
        raise RuntimeError(f"{name}'s new tables are behind the live ones; nothing was swapped")
    for schema in (PREVIOUS, SWAP):
        execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    schemas.ensure_status_table(PREVIOUS)
    for table in projector.tables:
        execute(f"ALTER TABLE {incoming}.{table} SET SCHEMA {SWAP}")
        execute(f"DROP TABLE IF EXISTS {PREVIOUS}.{table}")  # the generation before last (empty on a rollback)
        execute(f"ALTER TABLE {LIVE}.{table} SET SCHEMA {PREVIOUS}")
        execute(f"ALTER TABLE {SWAP}.{table} SET SCHEMA {LIVE}")
    for schema in {PREVIOUS, incoming, LIVE}:
        execute(f"DELETE FROM {schema}.{STATUS_TABLE} WHERE {PROJECTION_OF_ROW} = %s", [name])
    now = timezone.now()
    with tables_in(PREVIOUS):
        ProjectionStatus.objects.bulk_create(ProjectionStatus(name=n, updated_at=now, **row) for n, row in live.items())
    ProjectionStatus.objects.bulk_create(ProjectionStatus(name=n, updated_at=now, **row) for n, row in new.items())
