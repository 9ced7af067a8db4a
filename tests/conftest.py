"""Shared fixtures. Tests talk to a real Postgres (pytest-django's test database, created with the
migrations, so the append-only trigger is in place) and, where they need one, to real Redis and
Celery processes.

The event table refuses TRUNCATE, so pytest-django's flushing `transactional_db` cannot be used.
Tests that need real commits use `committed` instead: data written there stays, and every test
works on accounts of its own (fresh UUIDs), so tests never see each other's streams.
"""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from scripts.processes import ROOT

# Numbers the promise tests record (commands executed, races lost, faults injected, ...), quoted in
# docs/reliability.md; each run updates the keys it recorded and keeps the others.
FIGURES = ROOT / "test-artifacts" / "reliability-figures.json"


@pytest.fixture(scope="session")
def figures():
    """Numbers a test wants to report, written to FIGURES when the session ends."""
    recorded: dict[str, dict] = {}
    yield recorded
    if recorded:
        FIGURES.parent.mkdir(exist_ok=True)
        previous = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        FIGURES.write_text(json.dumps({**previous, **recorded}, indent=2, sort_keys=True, default=str) + "\n")


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Database access in autocommit mode: every command really commits."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Always create the test database, with migrations, even when only `committed` tests run
    (pytest-django would otherwise set it up only for tests marked `django_db`)."""
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        # aliases is shaped as Django's test runner passes it ({alias: serialize it?}); its keys choose.
        config = setup_databases(verbosity=0, interactive=False, aliases={"default": True})
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        # Server and worker processes started by the tests may still be closing their sessions.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="module")
def celery_stack(django_db_setup, django_db_blocker, tmp_path_factory):
    """A private Redis, a Celery worker and beat, all on the test database; this process's nudges
    go to the same Redis. Module-scoped, so tests elsewhere run with no worker in the background."""
    from django.conf import settings

    from scripts.processes import CeleryProcess, RedisProcess
    from tests.processes import child_env, point_at_redis

    previous_redis = settings.REDIS_URL
    logs = tmp_path_factory.mktemp("celery")
    # Whatever started is stopped, also when a later process fails to start.
    with ExitStack() as running:
        with django_db_blocker.unblock():
            redis = running.enter_context(RedisProcess().start())
            point_at_redis(redis.url)
            running.callback(point_at_redis, previous_redis)
            env = child_env(redis.url)
            worker = running.enter_context(CeleryProcess("worker", env=env, log=logs / "worker.log").start())
            beat = running.enter_context(CeleryProcess("beat", env=env, log=logs / "beat.log").start())
        yield type("Stack", (), {"redis": redis, "worker": worker, "beat": beat, "logs": logs})()


@pytest.fixture
def test_clock(tmp_path, settings):
    """The deadline clock (ledger/clock.py) made movable: `test_clock.move(timedelta)`; `test_clock.env`
    for child processes (a Celery worker, a web server) that must move with it."""
    from ledger import clock

    path = tmp_path / "clock"
    path.write_text("0")
    settings.TALLY_TEST_CLOCK_FILE = str(path)
    return type("TestClock", (), {"move": staticmethod(clock.move), "env": {"TALLY_TEST_CLOCK_FILE": str(path)}})()
