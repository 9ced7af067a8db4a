"""Tasks only the test of the worker's connections loads (`celery worker --include` this module):
each appends its database session's backend pid to a file, and one fails after changing its session."""

from __future__ import annotations

from celery import shared_task
from django.db import connection

# The advisory lock the failing task leaves taken in its session, as an interrupted runner would.
LEFT_LOCK = 424_242


def _record_pid(path: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    with open(path, "a") as out:
        out.write(f"{pid}\n")


@shared_task(name="tests.record_backend_pid", ignore_result=True)
def record_backend_pid(path: str) -> None:
    _record_pid(path)


@shared_task(name="tests.fail_holding_a_lock", ignore_result=True)
def fail_holding_a_lock(path: str) -> None:
    _record_pid(path)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [LEFT_LOCK])
    raise RuntimeError("a task that fails with a lock taken in its session")
