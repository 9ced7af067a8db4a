"""rebuild_projections killed with SIGKILL at each step of a blue/green rebuild (building, catching up
past where it began, verifying, inside the swap's transaction): the live tables the screens read are
untouched each time, and the rebuild completes when started again.

Runs on a private Postgres (see tests/faults/conftest.py), so that its tens of thousands of events
stay out of the shared test database."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager, nullcontext

import psycopg
import pytest

from scripts.processes import ROOT, kill, wait_until
from tests.faults.test_worker_killed_mid_rebuild import BULK_EVENTS, BULK_SQL, BULK_STREAMS

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

TABLES = ["projections_accountsummary", "projections_statementline", "projections_dailyactivity"]


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )


def start_rebuild(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "rebuild_projections", "--no-input", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def live_state(conn) -> tuple:
    """The live tables (which ones, and what they hold) and their checkpoints."""
    return (
        conn.execute(
            "SELECT array_agg(to_regclass('public.' || t)::oid) FROM unnest(%s::text[]) t", [TABLES]
        ).fetchone(),
        conn.execute("SELECT count(*), sum(balance), sum(available) FROM projections_accountsummary").fetchone(),
        conn.execute("SELECT count(*), sum(balance_after) FROM projections_statementline").fetchone(),
        conn.execute("SELECT sum(deposits_sum), sum(withdrawals_sum) FROM projections_dailyactivity").fetchone(),
        conn.execute("SELECT array_agg((name, position) ORDER BY name) FROM projections_projectionstatus").fetchone(),
    )


def shadow(conn) -> dict[str, tuple[str, int, int]]:
    if not conn.execute("SELECT to_regclass('tally_shadow.projections_projectionstatus')").fetchone()[0]:
        return {}
    rows = conn.execute(
        "SELECT name, rebuild_phase, position, rebuild_target FROM tally_shadow.projections_projectionstatus"
    ).fetchall()
    return {name: (phase, position, target) for name, phase, position, target in rows}


@contextmanager
def notes_written(conn_factory: Callable[[], psycopg.Connection]):
    """Events of a type no projection reads, appended all along: the log grows while the rebuild runs."""
    stop = threading.Event()

    def write() -> None:
        with conn_factory() as conn:
            while not stop.is_set():
                conn.execute(
                    "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version,"
                    " data, metadata) VALUES (gen_random_uuid(), gen_random_uuid(), 'account', 1, 'NoteTaken', 1,"
                    " '{}', '{\"actor\": \"writer\"}')"
                )
                stop.wait(0.002)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@contextmanager
def live_table_read_open(conn_factory: Callable[[], psycopg.Connection]):
    """A screen's read of a live table in a transaction left open: the swap's lock waits behind it."""
    with conn_factory() as reader:
        reader.autocommit = False
        reader.execute("SELECT 1 FROM projections_statementline LIMIT 1")
        yield
        reader.rollback()


def swap_waiting_for_its_lock(conn) -> bool:
    return bool(
        conn.execute(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'ALTER TABLE%%SET SCHEMA%%'"
        ).fetchone()
    )


STEPS = {
    "building": lambda s: s and any(ph == "building" and 0 < p < t for ph, p, t in s.values()),
    "catching up": lambda s: s and any(ph == "building" and p > t for ph, p, t in s.values()),
    "verifying": lambda s: s and any(ph == "verifying" for ph, _, _ in s.values()),
}


def test_a_rebuild_killed_at_every_step_leaves_the_live_tables_intact_and_completes_when_run_again(
    private_postgres, figures
):
    pg = private_postgres
    db = pg.create_database("rebuild_killed", from_template=pg.template)
    env = pg.env(db)
    with pg.connect(db) as conn:
        conn.execute(BULK_SQL, {"events": BULK_EVENTS, "streams": BULK_STREAMS})
        assert manage(env, "run_projections", "--once").returncode == 0
        before = live_state(conn)
        killed_at = []

        def connect() -> psycopg.Connection:
            return pg.connect(db)

        for step, reached in STEPS.items():

            def at_step(reached: Callable[[dict], bool] = reached) -> bool:
                return bool(reached(shadow(conn)))

            with notes_written(connect) if step == "catching up" else nullcontext():
                rebuild = start_rebuild(env, "--batch-size", "2000", "--restart")
                wait_until(at_step, timeout=90, interval=0.002, process=rebuild, message=step)
                kill(rebuild)
            killed_at.append((step, shadow(conn)))
            assert live_state(conn)[:4] == before[:4], step  # the screens' tables: untouched

        with live_table_read_open(connect):
            rebuild = start_rebuild(env)
            wait_until(lambda: swap_waiting_for_its_lock(conn), timeout=90, process=rebuild, message="the swap")
            kill(rebuild)
        assert live_state(conn)[:4] == before[:4]  # the swap's transaction died whole
        assert {phase for phase, _, _ in shadow(conn).values()} == {"swapping"}

        done = manage(env, "rebuild_projections", "--no-input")
        assert done.returncode == 0, done.stderr
        assert "Resumed the interrupted rebuild" in done.stdout
        after = live_state(conn)
        assert after[0] != before[0] and after[1:4] == before[1:4]  # new tables, the same figures
        assert not shadow(conn)

    verify = manage(env, "verify_projections")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    figures["rebuild_killed_at_each_step"] = {
        "events": BULK_EVENTS,
        "kills": len(killed_at) + 1,
        "killed_at": {step: sorted(s.values()) for step, s in killed_at},
        "verify_output": verify.stdout.strip().splitlines(),
    }
