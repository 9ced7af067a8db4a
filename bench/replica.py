"""The account page read from a streaming replica against the same page read from the primary.

A private primary and a hot standby of it (scripts/postgres_cluster.py: the binaries the embedded
default ships, the standby made with `pg_basebackup -R`; the machine's own Postgres allows no
replication), holding a generated log with its read models. Two gunicorns as the Procfile runs them
serve the same sessions: one with the primary only, one with `DATABASE_REPLICA_URLS` naming the
standby. The account page is loaded open-loop at half of the primary-only server's capacity, the two
servers taking turns round by round, and the figure is the ratio of their pooled p95s. On one machine
both clusters share the same two cores, so this is the cost of reading through a replica (the choice
of replica, its checks, a second cluster's caches), not the gain of adding one on another host.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench import http, http_load
from bench.common import ROOT, Profile, redis_url, run_together
from scripts.postgres_cluster import PrivatePostgres, Standby
from scripts.processes import WebServer, wait_until

DATABASE = "bench_replica"
EVENTS = {"quick": 20_000, "full": 200_000}


def measure(run: Any) -> None:
    run.step("replica", None, "HTTP account page from a streaming replica vs from the primary", _measure, run.profile)


def _measure(profile: Profile) -> dict[str, Any]:
    timing = http.TIMINGS[profile.name]
    events = EVENTS[profile.name]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-replica-"))
    with ExitStack() as running:
        primary = PrivatePostgres().start()
        running.callback(primary.close)
        primary.create_database(DATABASE)
        env = {**os.environ, "DATABASE_URL": primary.url(DATABASE), "REDIS_URL": redis_url()}
        data = _load(primary, env, events)
        standby = Standby(primary).start()
        running.callback(standby.close)
        wait_until(lambda: standby.caught_up(DATABASE), timeout=120, message="the standby to catch up")
        servers = {
            "primary": running.enter_context(_web(env, log_dir / "primary.log")),
            "replica": running.enter_context(
                _web({**env, "DATABASE_REPLICA_URLS": standby.url(DATABASE)}, log_dir / "replica.log")
            ),
        }
        workers = http.gunicorn_settings()["workers"]
        benches = {name: http.Bench(server, timing, workers) for name, server in servers.items()}
        session, step = data["sessions"]["teller"], http.steps(data)["account_page"]
        capacity = benches["primary"].capacity(session, step)
        rate = http.GOAL_SHARE * capacity["per_second"]
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in benches}
        scans_before = standby.read_model_scans(DATABASE)
        for _ in range(timing.rounds):
            for name, bench in benches.items():
                rounds[name].append(bench.load(session, step, rate))
        scans = standby.read_model_scans(DATABASE) - scans_before
    return http._drop_samples(
        {
            "events": events,
            "capacity": capacity,
            "rate": rate,
            "primary": http_load.pooled(rounds["primary"]),
            "replica": http_load.pooled(rounds["replica"]),
            "standby_scans": scans,
        }
    )


def _load(primary: PrivatePostgres, env: dict[str, str], events: int) -> dict[str, Any]:
    """Migrate, load a generated log, build its read models, and make the sessions and the accounts
    to visit (bench/http.py's `prepare`, run on the private primary)."""
    from bench import eventgen

    for args in (["migrate", "--no-input"], ["collectstatic", "--no-input", "-v0"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True)
    with primary.connect(DATABASE) as conn:
        eventgen.generate_and_load(conn, eventgen.LedgerGenerator(total=events), events)
    subprocess.run(
        [sys.executable, "manage.py", "rebuild_projections", "--no-input", "--in-place"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]  # what bench.common.database_url() builds on, in the child
    try:
        return run_together(http.prepare, [{"db": DATABASE}])[0]
    finally:
        if previous is None:
            del os.environ["DATABASE_URL"]
        else:
            os.environ["DATABASE_URL"] = previous


def _web(env: dict[str, str], log: Path) -> WebServer:
    return WebServer("gunicorn", env=env, log=log, extra=("--log-level", "warning")).start()


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import NOT_YET, Row, get

    row = Row(
        "replica_account_page",
        "HTTP account page p95 read from a streaming replica / from the primary, same rate",
        "x",
        goal="<= 1.2x",
    )
    found = get(results, "replica")
    if not isinstance(found, dict) or "replica" not in found:
        row.note = NOT_YET
        return [row]
    replica, primary = found["replica"], found["primary"]
    http.p95_ratio(row, replica, primary, 1.2)
    row.note = (
        f"{found['events']:,} events on a private primary and a hot standby of it on the same 2 cores; at "
        f"{found['rate']:.0f}/s (half the primary-only server's capacity of {found['capacity']['per_second']:.0f}/s), "
        f"p95 {replica['latency_ms']['p95']:.1f} ms through the replica, {primary['latency_ms']['p95']:.1f} ms "
        f"primary only ({replica['rounds']} rounds each, in turn); the standby made {found['standby_scans']:,} scans "
        "of the read models meanwhile" + (" — FAILED requests" if replica["errors"] or primary["errors"] else "")
    )
    return [row]
