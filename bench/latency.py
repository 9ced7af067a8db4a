"""Commit -> read model visible, the way the app really does it: after each command commits, the
write side nudges through Redis; a real Celery worker (started here, as the Procfile starts it,
with beat sweeping every 2 s) catches the projections up.

Commands run open-loop at a fixed rate (100 per second: a command is issued on schedule even when
the previous one was late, so a stall is measured, not hidden). A poller with its own connection
reads the projections' checkpoints every 2 ms; a command is visible once every projection's
checkpoint has reached its (transaction id, position). Its latency is the time from the commit
returning to the first poll that saw it (so the figure is at most one poll interval pessimistic).
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from bench.common import TALLY_DB, Profile, Reader, database_url, latency_summary, redis_url, say, setup_django
from scripts.processes import CeleryProcess, wait_until

RATE = 100.0  # commands per second, as the goal names
POLL_SECONDS = 0.002
DRAIN_SECONDS = 10.0  # after the last command, how long a command may still become visible


def paced_visibility(
    command: Callable[[int], Any], seen: Callable[[], Any], *, rate: float, seconds: float
) -> dict[str, Any]:
    """Issue command(i) at `rate` per second for `seconds`; command returns the key of what it
    committed (keys rise with commit order), seen() the highest key the read model shows."""
    pending: deque[tuple[Any, float]] = deque()
    lock = threading.Lock()
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            observed_at = time.perf_counter()  # the read's snapshot is taken after this instant
            key = seen()
            with lock:
                while pending and pending[0][0] <= key:
                    latencies.append(observed_at - pending.popleft()[1])
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, name="bench-visibility-poller", daemon=True)
    poller.start()
    total = int(rate * seconds)
    started = time.perf_counter()
    late = 0
    for i in range(total):
        due = started + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.5 / rate:
            late += 1
        key = command(i)
        committed = time.perf_counter()
        with lock:
            pending.append((key, committed))
    issued_for = time.perf_counter() - started
    deadline = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < deadline:
        with lock:
            if not pending:
                break
        time.sleep(0.01)
    stop.set()
    poller.join(5)
    return {
        "commands": total,
        "rate_target": rate,
        "rate_achieved": total / issued_for,
        "late_commands": late,
        "not_visible_after_drain": len(pending),
        "latency_ms": latency_summary(latencies),
    }


# --- Celery, as the Procfile runs it --------------------------------------------------------------------


def celery(kind: str, database: str, log_dir: Path) -> CeleryProcess:
    """`celery -A config worker|beat` on a database of the harness and Redis database 9; the worker
    with the Procfile's two pool processes."""
    env = {**os.environ, "DATABASE_URL": database_url(database), "REDIS_URL": redis_url()}
    return CeleryProcess(kind, env=env, log=log_dir / f"celery-{kind}.log", concurrency=2)


def flush_bench_redis() -> None:
    """Empty Redis database 9 (the harness's own): no stale nudge flag or queued task from an
    earlier run may delay or speed up this one."""
    import redis

    redis.Redis.from_url(redis_url()).flushdb()


def checkpoint_reader(database: str) -> Reader[tuple[int, int]]:
    """The lowest (tx_id, position) over all projections, read with a connection of our own."""
    import psycopg

    sql = "SELECT tx_id, position FROM projections_projectionstatus"

    def read(conn: psycopg.Connection) -> tuple[int, int]:
        rows = conn.execute(sql, prepare=True).fetchall()
        return min((int(t), int(p)) for t, p in rows) if rows else (0, 0)

    return Reader(psycopg.connect(database_url(database), autocommit=True), read)


def tally_visibility(profile: Profile, *, rate: float = RATE) -> dict[str, Any]:
    setup_django(TALLY_DB)
    from ledger.domain.commands import Deposit, OpenAccount
    from ledger.execute import execute
    from projections import runner

    runner.catch_up()  # what the write benchmarks left: not part of this figure
    flush_bench_redis()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    worker = celery("worker", TALLY_DB, log_dir).start()
    beat = celery("beat", TALLY_DB, log_dir).start()
    read = checkpoint_reader(TALLY_DB)
    try:
        accounts: list[UUID] = [uuid4() for _ in range(50)]
        last = [
            execute(
                OpenAccount(account_id=account, owner="Ada Lovelace", currency="EUR"), actor="teller", source="bench"
            ).checkpoint
            for account in accounts
        ][-1]
        wait_until(
            lambda: read() >= (last.tx_id, last.position),
            timeout=60,
            interval=0.01,
            message=f"the Celery worker to catch up (logs: {log_dir})",
        )

        def command(i: int) -> tuple[int, int]:
            result = execute(
                Deposit(account_id=accounts[i % len(accounts)], amount=100, currency="EUR"),
                actor="teller",
                source="bench",
            )
            return (result.tx_id, result.position)

        say(f"  {int(rate * profile.visibility_seconds)} deposits at {rate:.0f}/s, Celery logs in {log_dir}")
        result = paced_visibility(command, read, rate=rate, seconds=profile.visibility_seconds)
    finally:
        read.close()
        beat.stop()
        worker.stop()
    return result
