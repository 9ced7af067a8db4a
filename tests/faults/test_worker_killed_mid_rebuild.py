"""A Celery worker killed with SIGKILL in the middle of a blue/green rebuild: the live tables are
untouched, and the sweep has a new worker finish it.

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


def shadow_statuses(conn) -> dict[str, tuple[str, int, int | None]]:
    """The blue/green rebuild's own status rows: (phase, position, target) per projection."""
    if not conn.execute("SELECT to_regclass('tally_shadow.projections_projectionstatus')").fetchone()[0]:
        return {}
    rows = conn.execute(
        "SELECT name, rebuild_phase, position, rebuild_target FROM tally_shadow.projections_projectionstatus"
        " WHERE name = ANY(%s)",
        [list(PROJECTIONS)],
    ).fetchall()
    return {name: (phase, position, target) for name, phase, position, target in rows}


def live_tables(conn) -> dict[str, object]:
    """What the screens read: each live table's identity, the checkpoints and the money."""
    return {
        "tables": conn.execute(
            "SELECT array_agg(to_regclass('public.' || t)::oid ORDER BY t) FROM unnest(%s::text[]) t",
            [["projections_accountsummary", "projections_statementline", "projections_dailyactivity"]],
        ).fetchone()[0],
        "balances": conn.execute("SELECT count(*), sum(balance) FROM projections_accountsummary").fetchone(),
        "lines": conn.execute("SELECT count(*) FROM projections_statementline").fetchone()[0],
    }


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
                rows = conn.execute(
                    "SELECT count(*) FROM projections_projectionstatus WHERE name = ANY(%s) AND position >= %s",
                    [list(PROJECTIONS), BULK_EVENTS],
                ).fetchone()
                return rows[0] == len(PROJECTIONS)

            wait_until(live, timeout=90, interval=0.2, message="the sweep to project every event")
            before = live_tables(conn)

            # Not set as the current app: the project's shared tasks would then publish to this broker,
            # gone once the test ends (a later test's admin action could not reach its workers).
            with Celery(broker=redis.url, set_as_current=False) as client:
                # In live-sized batches, so that the worker can be killed between two of them.
                client.send_task(
                    "projections.rebuild", args=[list(PROJECTIONS)], kwargs={"batch_size": runner.BATCH_SIZE}
                )

            def mid_rebuild() -> bool:  # building (one projection after another), one of them half way
                s = shadow_statuses(conn)
                building = len(s) == 3 and all(ph == "building" for ph, _, _ in s.values())
                return building and any(t and 0 < p < t for _, p, t in s.values())

            wait_until(mid_rebuild, timeout=60, interval=0.002, message="the rebuild to be under way")
            worker.kill()
            killed_at = shadow_statuses(conn)
            assert mid_rebuild(), killed_at
            assert live_tables(conn) == before  # the screens' tables were never touched

            time.sleep(3)  # beat keeps sweeping, but no worker is left to run anything
            assert shadow_statuses(conn) == killed_at

            second_worker = CeleryProcess("worker", env=env, log=tmp_path / "worker2.log").start()

            def swapped() -> bool:  # the sweep found the interrupted rebuild and finished it
                return not shadow_statuses(conn) and live_tables(conn)["tables"] != before["tables"]

            wait_until(swapped, timeout=120, interval=0.2, message="the rebuild to finish on the new worker")
            after = live_tables(conn)
            previous = conn.execute("SELECT count(*) FROM tally_previous.projections_statementline").fetchone()[0]

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
    per_stream = BULK_EVENTS // BULK_STREAMS  # one opening, then deposits and withdrawals in turn
    deposits, withdrawals = per_stream // 2, (per_stream - 1) // 2
    assert (
        after["balances"]
        == before["balances"]
        == (
            BULK_STREAMS,
            BULK_STREAMS * (deposits * 1000 - withdrawals * 400),
        )
    )
    assert after["lines"] == before["lines"] == previous  # the replaced tables are kept for a rollback
    figures["worker_killed_mid_rebuild"] = {
        "events": BULK_EVENTS,
        "killed_at_position": min(p for _, p, _ in killed_at.values()),
        "faults_injected": 1,
        "events_verified": BULK_EVENTS * len(PROJECTIONS),
        "verify_output": verify.stdout.strip().splitlines(),
    }
