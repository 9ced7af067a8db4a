"""A Celery worker killed with SIGKILL in the middle of a rebuild: a new worker finishes it.

Runs on a private Postgres (see tests/faults/conftest.py), so that its tens of thousands of events
stay out of the shared test database."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from celery import Celery

from projections import runner
from scripts.processes import ROOT, CeleryProcess, RedisProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

PROJECTIONS = ("account_summary", "statement", "daily_activity")

BULK_STREAMS = 400
# At least four batches of the runner, so that the worker can be killed between two of them.
BULK_EVENTS = -(-max(40_000, 4 * runner.BATCH_SIZE) // BULK_STREAMS) * BULK_STREAMS

# Valid account histories written straight into the event table (as many commands through execute()
# would take minutes): each stream opens, then alternates deposits of 10.00 and withdrawals of 4.00.
BULK_SQL = """
INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version, data, metadata)
SELECT gen_random_uuid(), s.id, 'account', n / %(streams)s + 1, k.type,
       CASE k.type WHEN 'AccountOpened' THEN 2 ELSE 1 END,
       CASE k.type
         WHEN 'AccountOpened' THEN jsonb_build_object('account_id', s.id, 'owner', 'Bulk ' || n,
                                                      'currency', 'EUR', 'overdraft_limit', 0)
         ELSE jsonb_build_object('account_id', s.id, 'currency', 'EUR', 'memo', '',
                                 'amount', CASE k.type WHEN 'MoneyDeposited' THEN 1000 ELSE 400 END)
       END,
       jsonb_build_object('actor', 'bulk', 'command_id', c.id, 'command', 'Bulk', 'correlation_id', c.id,
                          'causation_id', c.id, 'source', 'bulk')
  FROM generate_series(0, %(events)s - 1) n,
       LATERAL (SELECT md5('stream-' || n %% %(streams)s)::uuid AS id) s,
       LATERAL (SELECT gen_random_uuid() AS id) c,
       LATERAL (SELECT CASE WHEN n / %(streams)s = 0 THEN 'AccountOpened'
                            WHEN (n / %(streams)s) %% 2 = 1 THEN 'MoneyDeposited'
                            ELSE 'MoneyWithdrawn' END AS type) k
"""


def projection_statuses(conn) -> dict[str, tuple[bool, int, int | None]]:
    rows = conn.execute(
        "SELECT name, rebuilding, position, rebuild_target FROM projections_projectionstatus WHERE name = ANY(%s)",
        [list(PROJECTIONS)],
    ).fetchall()
    return {name: (rebuilding, position, target) for name, rebuilding, position, target in rows}


def test_a_rebuild_whose_worker_is_killed_finishes_on_a_new_worker_and_verifies(private_postgres, tmp_path, figures):
    pg = private_postgres
    db = pg.create_database("rebuild", from_template=pg.template)
    with pg.connect(db) as conn:
        conn.execute(BULK_SQL, {"events": BULK_EVENTS, "streams": BULK_STREAMS})
    redis = RedisProcess().start()
    env = pg.env(db, redis.url)
    worker = CeleryProcess("worker", env=env, log=tmp_path / "worker.log").start()
    beat = CeleryProcess("beat", env=env, log=tmp_path / "beat.log").start()
    second_worker = None
    try:
        with pg.connect(db) as conn:

            def live() -> bool:
                s = projection_statuses(conn)
                return len(s) == 3 and all(not r and p >= BULK_EVENTS for r, p, _ in s.values())

            wait_until(live, timeout=90, interval=0.2, message="the sweep to project every event")

            with Celery(broker=redis.url) as client:
                client.send_task("projections.rebuild")

            def mid_rebuild() -> bool:
                s = projection_statuses(conn)
                return all(r and t is not None and 0 < p < t for r, p, t in s.values())

            wait_until(mid_rebuild, timeout=60, interval=0.002, message="the rebuild to be under way")
            worker.kill()
            killed_at = projection_statuses(conn)
            assert all(r and t is not None and 0 < p < t for r, p, t in killed_at.values()), killed_at

            time.sleep(3)  # beat keeps sweeping, but no worker is left to run anything
            assert projection_statuses(conn) == killed_at

            second_worker = CeleryProcess("worker", env=env, log=tmp_path / "worker2.log").start()

            def rebuilt() -> bool:
                return all(not r for r, _, _ in projection_statuses(conn).values())

            wait_until(rebuilt, timeout=90, interval=0.2, message="the rebuild to finish on the new worker")
            finished = projection_statuses(conn)
            balances = conn.execute("SELECT count(*), sum(balance) FROM projections_accountsummary").fetchone()

        verify = subprocess.run(
            [sys.executable, "manage.py", "verify_projections"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        for process in (beat, second_worker, worker):
            if process is not None:
                process.stop()
        redis.stop()

    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert all(p >= BULK_EVENTS for _, p, _ in finished.values())
    per_stream = BULK_EVENTS // BULK_STREAMS  # one opening, then deposits and withdrawals in turn
    deposits, withdrawals = per_stream // 2, (per_stream - 1) // 2
    assert balances == (BULK_STREAMS, BULK_STREAMS * (deposits * 1000 - withdrawals * 400))
    figures["worker_killed_mid_rebuild"] = {
        "events": BULK_EVENTS,
        "killed_at_position": min(p for _, p, _ in killed_at.values()),
        "faults_injected": 1,
        "events_verified": BULK_EVENTS * len(PROJECTIONS),
        "verify_output": verify.stdout.strip().splitlines(),
    }
