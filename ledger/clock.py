"""The one clock of deadlines (an approval's expiry): the time now, which tests can move forward.

Tests move it through a file named by the TALLY_TEST_CLOCK_FILE setting (an offset in seconds), read
on every call so that a Celery worker or a web server started by the test moves with it. The setting
is refused when DEBUG is off (config/settings.py), so production always runs on the real time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.utils import timezone


def now() -> datetime:
    return timezone.now() + offset()


def offset() -> timedelta:
    path = getattr(settings, "TALLY_TEST_CLOCK_FILE", "")
    if not path:
        return timedelta()
    try:
        return timedelta(seconds=float(Path(path).read_text() or 0))
    except FileNotFoundError:
        return timedelta()


def move(by: timedelta) -> None:
    """Move the test clock forward by `by` (tests only: there is no file to write otherwise)."""
    path = getattr(settings, "TALLY_TEST_CLOCK_FILE", "")
    if not path:
        raise RuntimeError("the clock can only be moved in tests (TALLY_TEST_CLOCK_FILE)")
    Path(path).write_text(str((offset() + by).total_seconds()))
