"""A Celery worker keeps its database connection between tasks, as Django keeps one between
requests (config/celery.py): a catch-up then runs on a warm connection with its statements prepared,
instead of starting a Postgres backend for every task. After a task that failed, the connection is
closed, since the task may have left its session changed."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from config.celery import app
from scripts.processes import CeleryProcess, RedisProcess, wait_until
from tests.processes import child_env, point_at_redis
from tests.projections.worker_tasks import LEFT_LOCK
from tests.store.helpers import own_connection


def test_a_worker_keeps_its_connection_between_tasks_and_closes_it_after_a_failure(committed, tmp_path):
    pids = tmp_path / "pids"

    def run(task: str, count: int) -> list[int]:
        app.send_task(task, args=[str(pids)])
        wait_until(lambda: len(_lines(pids)) >= count, timeout=20, message=f"{task} to run")
        return _lines(pids)

    previous_redis = settings.REDIS_URL
    with RedisProcess().start() as redis:
        point_at_redis(redis.url)
        worker = CeleryProcess(
            "worker",
            env=child_env(redis.url),
            log=tmp_path / "worker.log",
            extra=["--include", "tests.projections.worker_tasks"],
        )
        try:
            with worker.start(), own_connection(autocommit=True) as session:
                run("tests.record_backend_pid", 1)
                run("tests.record_backend_pid", 2)
                run("tests.fail_holding_a_lock", 3)
                first, second, failed, after = run("tests.record_backend_pid", 4)
                failed_session_left = session.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [failed]
                ).fetchone()
                lock_free = session.execute("SELECT pg_try_advisory_lock(%s)", [LEFT_LOCK]).fetchone() == (True,)
        finally:
            point_at_redis(previous_redis)

    assert first == second == failed  # one pool process, one connection kept across its tasks
    assert after != failed  # closed after the failure, a new one for the next task
    assert failed_session_left is None and lock_free  # the failed task's session ended, its lock with it


def _lines(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []
