"""Celery tasks: thin wrappers around the runner. Safe to run twice or concurrently: the runner's
locks and same-transaction checkpoints make a repeated delivery harmless."""

from __future__ import annotations

import logging

from celery import shared_task

from ledger import clock
from projections import bluegreen, runner, standing_orders
from projections.nudge import nudge, queued_flag
from projections.projectors import approval_process

log = logging.getLogger(__name__)

# Stay well inside the task time limits and the broker's visibility timeout; a long catch-up
# (a rebuild) continues in a fresh task.
SLICE_SECONDS = 20


@shared_task(name="projections.catch_up", ignore_result=True)
def catch_up(nudged: bool = False, lane: int | None = None) -> dict[str, object]:
    """Catch the projections up: all of them, or with `lane` k the k-th partitions of the split ones
    (projections/partitions.py; lane 1 also takes the projections not split). The beat's sweep
    (no lane) hands lanes 2 and on to tasks of their own, so that other workers take them."""
    if nudged:
        _clear_queued_flag(lane or 1)
    if lane is None and (count := runner.lanes()) > 1:
        for other in range(2, count + 1):
            catch_up.delay(lane=other)
        lane = 1
    # A nudged task waits briefly for a runner that holds a projector, so the events that caused
    # the nudge are not left for the next sweep; the beat sweep never waits.
    report = runner.catch_up(max_seconds=SLICE_SECONDS, wait_seconds=2 if nudged else 0, lane=lane)
    if not nudged and lane in (None, 1):
        rebuild_due()
    if not report.caught_up and not report.failed and not report.skipped:
        nudge()  # more to do: continue in a new task
    return {"applied": report.applied, "skipped": report.skipped, "failed": list(report.failed)}


# A rebuild builds for a slice like a catch-up and goes on in a new task; its check (a replay of every
# event in Python) and its swap, once reached, run to the end in one task: long on a long log.
REBUILD_TIME_LIMIT = 6 * 60 * 60


@shared_task(
    name="projections.rebuild",
    ignore_result=True,
    soft_time_limit=REBUILD_TIME_LIMIT,
    time_limit=REBUILD_TIME_LIMIT + 60,
)
def rebuild(
    names: list[str] | None = None,
    restart: bool = False,
    batch_size: int = runner.REBUILD_BATCH_SIZE,
    expect: dict[str, str | None] | None = None,
) -> dict[str, object]:
    """Rebuild the named projections (all by default) blue/green (projections/bluegreen.py), going on
    with an interrupted rebuild of them, a slice per task. Another task already at it makes this one
    a no-op; so does a slice that finds its shadow moved since it was asked for (`expect`: a duplicate
    of the chain), so that one chain of slices goes on, never several."""
    try:
        outcome = bluegreen.rebuild(
            names, restart=restart, max_seconds=SLICE_SECONDS, batch_size=batch_size, expect=expect
        )
    except bluegreen.RebuildBusy as busy:
        log.info("rebuild of %s not started: %s", names or "every projection", busy)
        return {"busy": str(busy)}
    if outcome.unfinished:
        rebuild.delay(list(outcome.marks), batch_size=batch_size, expect=outcome.marks)
    if outcome.failed or outcome.differences:
        log.error("rebuild of %s stopped: %s", names or "every projection", outcome.failed or list(outcome.differences))
    return {
        "names": names,
        "applied": outcome.applied,
        "unfinished": outcome.unfinished,
        "swapped": outcome.swapped,
        "failed": list(outcome.failed),
        "differ": list(outcome.differences),
    }


@shared_task(name="projections.roll_back", ignore_result=True, soft_time_limit=REBUILD_TIME_LIMIT)
def roll_back(names: list[str]) -> list[str]:
    """Return the named projections to the tables their last rebuild replaced (the admin's action)."""
    try:
        return bluegreen.rollback(names)
    except (bluegreen.RollbackRefused, bluegreen.RebuildBusy) as refused:
        log.error("rollback of %s not done: %s", ", ".join(names), refused)
        return []


def rebuild_due() -> list[str]:
    """Start the blue/green rebuild of projections whose tables an earlier version of their projector
    built (a deploy changed it), and go on with rebuilds a killed worker or command left, unless one
    is at it now; the live tables serve meanwhile."""
    due = bluegreen.due()
    if due:
        log.info("rebuilding %s blue/green (a new projector version, or an interrupted rebuild)", ", ".join(due))
        rebuild.delay(list(due), expect=due)
    return list(due)


def _clear_queued_flag(lane: int) -> None:
    try:
        nudge.client().delete(queued_flag(lane))
    except Exception as exc:  # noqa: BLE001
        log.warning("could not clear the nudge flag: %s", exc)


@shared_task(name="projections.expire_approvals", ignore_result=True)
def expire_approvals() -> int:
    """Beat: expire the approval requests past their deadline (the process manager then gives the
    holds back). Safe to run twice at once: each expiry's command id derives from its request."""
    return approval_process.expire_due(now=clock.now())


@shared_task(name="projections.pay_standing_orders", ignore_result=True)
def pay_standing_orders() -> int:
    """Beat: settle the standing orders' due periods, every missed one too (oldest first). Safe to
    run twice at once: each period's command id derives from its order and number."""
    return standing_orders.pay_due(on=clock.now().date())
