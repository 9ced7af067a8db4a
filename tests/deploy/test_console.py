"""A quiet console at the default level: the beat's tasks (the 2-second sweep above all) leave no
"received", "succeeded" or "Sending due task" line, unless TALLY_LOG_LEVEL is DEBUG; their errors
and every other task's lines are logged as before. (gunicorn's access log line per request is
checked with the production server, tests/browser/test_error_pages.py.)"""

from __future__ import annotations

import logging
import time

import pytest

from config.log_format import RoutineTasks
from scripts.processes import wait_until

RECEIVED = "Task %(name)s[%(id)s] received"
SENDING = "Scheduler: Sending due task %s (%s)"


def record(logger: str, level: int, msg: str, args: tuple[object, ...] | dict[str, str]) -> logging.LogRecord:
    # A dict alone as args is kept as the record's args, as Celery's own calls do.
    return logging.LogRecord(logger, level, __file__, 1, msg, (args,) if isinstance(args, dict) else args, None)


@pytest.fixture
def routine():
    return RoutineTasks(["projections.catch_up"])


def test_a_routine_tasks_info_lines_are_debug_and_hidden_at_the_default_level(routine):
    worker = record("celery.worker.strategy", logging.INFO, RECEIVED, {"name": "projections.catch_up", "id": "1"})
    beat = record("celery.beat", logging.INFO, SENDING, ("sweep-projections", "projections.catch_up"))

    assert not routine.filter(worker)
    assert not routine.filter(beat)
    assert worker.levelname == beat.levelname == "DEBUG"


def test_at_debug_level_the_routine_lines_are_shown(routine):
    logger = logging.getLogger("celery.worker.strategy")
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        line = record(logger.name, logging.INFO, RECEIVED, {"name": "projections.catch_up", "id": "1"})
        assert routine.filter(line)
        assert line.levelno == logging.DEBUG
    finally:
        logger.setLevel(previous)


def test_errors_and_other_tasks_keep_their_level(routine):
    failed = record("celery.app.trace", logging.ERROR, "Task %(name)s raised", {"name": "projections.catch_up"})
    other = record("celery.worker.strategy", logging.INFO, RECEIVED, {"name": "projections.rebuild", "id": "2"})
    plain = record("celery.app.trace", logging.INFO, "something else", ())

    assert routine.filter(failed) and failed.levelno == logging.ERROR
    assert routine.filter(other) and other.levelno == logging.INFO
    assert routine.filter(plain) and plain.levelno == logging.INFO


def test_the_worker_and_beat_say_nothing_about_the_sweep_but_its_errors(celery_stack):
    """The worker and beat as the Procfile runs them (--loglevel INFO), for three sweeps and more."""
    from config.celery import app

    time.sleep(7)
    app.send_task("projections.catch_up", kwargs={"not_an_argument": True})  # fails: a TypeError
    worker_log = celery_stack.logs / "worker.log"
    wait_until(lambda: b"raised unexpected" in worker_log.read_bytes(), timeout=20, message="the task's error")

    worker, beat = worker_log.read_text(), (celery_stack.logs / "beat.log").read_text()
    assert [line for line in worker.splitlines() if " received" in line or " succeeded in " in line] == []
    assert "ERROR celery.app.trace: Task projections.catch_up[" in worker
    assert "Sending due task" not in beat
    assert "beat: Starting..." in beat  # beat does log, at INFO
