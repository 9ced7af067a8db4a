"""Celery tasks: thin wrappers around the runner. Safe to run twice or concurrently: the runner's
locks and same-transaction checkpoints make a repeated delivery harmless."""

from __future__ import annotations

import logging

from celery import shared_task

from projections import runner
from projections.nudge import QUEUED_FLAG, nudge

log = logging.getLogger(__name__)

# Stay well inside the task time limits and the broker's visibility timeout; a long catch-up
# (a rebuild) continues in a fresh task.
SLICE_SECONDS = 20


@shared_task(name="projections.catch_up", ignore_result=True)
def catch_up(nudged: bool = False) -> dict[str, object]:
    if nudged:
        _clear_queued_flag()
    # A nudged task waits briefly for a runner that holds a projector, so the events that caused
    # the nudge are not left for the next sweep; the beat sweep never waits.
    report = runner.catch_up(max_seconds=SLICE_SECONDS, wait_seconds=2 if nudged else 0)
    if not report.caught_up and not report.failed and not report.skipped:
        nudge()  # more to do: continue in a new task
    return {"applied": report.applied, "skipped": report.skipped, "failed": list(report.failed)}


@shared_task(name="projections.rebuild", ignore_result=True)
def rebuild(names: list[str] | None = None) -> None:
    """Reset the named projections; catch-up tasks (and the sweep) replay them from the start."""
    runner.reset(names)
    catch_up.delay()


def _clear_queued_flag() -> None:
    try:
        nudge.client().delete(QUEUED_FLAG)
    except Exception as exc:  # noqa: BLE001
        log.warning("could not clear the nudge flag: %s", exc)
