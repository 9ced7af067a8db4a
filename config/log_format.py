"""The log formats TALLY_LOG_FORMAT chooses: plain text, or one JSON object per line (written by
python-json-logger), for the app's logging (config/settings.py) and gunicorn's own (config/gunicorn.py);
and the Celery lines that are routine."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from typing import Any

FORMATS = ("plain", "json")

FORMATTERS: dict[str, dict[str, Any]] = {
    "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    # Fields in this order, then whatever the record carries besides: the command's ids
    # (ledger.log_context), a logger's `extra`, and the traceback as exc_info.
    "json": {
        "()": "pythonjsonlogger.json.JsonFormatter",
        "fmt": ["asctime", "levelname", "name", "message", "process"],
        "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
    },
}


def chosen() -> str:
    """TALLY_LOG_FORMAT as written (lower case; plain when unset): the settings refuse any other."""
    return os.environ.get("TALLY_LOG_FORMAT", "").strip().lower() or "plain"


def gunicorn_logging() -> dict[str, Any]:
    """gunicorn's logconfig_dict for JSON lines: its own lines (starting, workers booting, a worker
    timing out) and the access log's line per request in the app's JSON format, the access log on
    standard output as in plain text (config/gunicorn.py)."""
    return {
        "root": {"level": "INFO", "handlers": []},  # each worker's Django settings give root its handler
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
        "formatters": {"generic": FORMATTERS["json"]},
    }


class RoutineTasks(logging.Filter):
    """Celery logs every task it receives and finishes at INFO, and beat every task it sends: for the
    projections' sweep, every two seconds, three lines that say nothing. For the tasks named here
    (the beat's schedule) those lines are DEBUG instead: shown with TALLY_LOG_LEVEL=DEBUG, never at
    the default. Their warnings and errors (a task that raised, a retry that failed) keep their
    level, and every other task's lines are left as they are.

    Attached to the loggers that write those lines: celery.worker.strategy ("received"),
    celery.app.trace ("succeeded", and failures) and celery.beat ("Sending due task")."""

    def __init__(self, tasks: Iterable[str] = ()) -> None:
        super().__init__()
        self.tasks = frozenset(tasks)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or self._task(record) not in self.tasks:
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)

    @staticmethod
    def _task(record: logging.LogRecord) -> object:
        args = record.args
        if isinstance(args, dict):  # the worker's lines: a context with the task's name
            return args.get("name")
        if isinstance(args, tuple) and len(args) == 2:  # beat's: (schedule entry, task name)
            return args[1]
        return None
