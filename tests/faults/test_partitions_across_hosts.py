"""Partitioned projections on Celery workers on separate hosts (network namespaces of this test's own,
scripts/netns.py): Postgres and Redis on one host, a worker on each of two others, reaching them over
their links only. One worker host's worker is killed in the middle of its batches; the partitions it
held are taken over by the other host's worker without an operator, no partition is ever held by
two hosts at once, and at the end every balance is the generator's and verify_projections is clean.
"""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from bench import eventgen
from projections.partitions import unit_name
from projections.runner import lock_key
from scripts import netns
from scripts.processes import ROOT, CeleryProcess, RedisProcess, wait_until
from tests.faults.private_postgres import PrivatePostgres
from tests.processes import child_env

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

WHY_NOT = netns.unavailable()
EVENTS = 80_000
PARTITIONS = {"account_summary": 4, "statement": 4, "daily_activity": 4}
SETTING = ",".join(f"{name}={n}" for name, n in PARTITIONS.items())
UNITS = {
    lock_key(unit_name(name, k, n)): unit_name(name, k, n) for name, n in PARTITIONS.items() for k in range(1, n + 1)
}

# Who holds which partition's lock, by the client address of the session holding it.
HOLDERS = """
SELECT (l.classid::bigint << 32) | l.objid::bigint, host(a.client_addr)
  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
 WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted AND a.client_addr IS NOT NULL
"""
BEHIND = """
SELECT count(*) FROM projections_projectionstatus s
 WHERE (s.tx_id::text::xid8, s.position) < (SELECT tx_id, position FROM ledger_event
                                             ORDER BY tx_id DESC, position DESC LIMIT 1)
"""


@pytest.mark.skipif(WHY_NOT is not None, reason=f"no hosts of our own here: {WHY_NOT}")
def test_a_killed_hosts_partitions_are_taken_over_by_another_host(tmp_path: Path) -> None:
    with netns.Hosts(workers=2) as hosts:
        pg = PrivatePostgres().start()
        redis = None
        running: list[CeleryProcess] = []
        try:
            database = pg.migrated_template("hosts")
            gen = eventgen.LedgerGenerator(total=EVENTS, seed=7)
            with pg.connect(database) as conn:
                eventgen.generate_and_load(conn, gen, EVENTS)
            pg.serve_on(hosts.run_in(hosts.database), hosts.database_addresses)
            redis = RedisProcess(prefix=hosts.run_in(hosts.database), bind=hosts.database_addresses).start()

            def on_host(k: int) -> dict[str, str]:  # a worker host's settings: its own link to the database host
                address = hosts.database_address(k)
                return {
                    **child_env(redis.url_at(address)),
                    "DATABASE_URL": pg.tcp_url(address, database),
                    "TALLY_PROJECTION_PARTITIONS": SETTING,
                }

            first = CeleryProcess(
                "worker", env=on_host(1), log=tmp_path / "w1.log", concurrency=2, prefix=hosts.run_in(hosts.workers[0])
            )
            second = CeleryProcess(
                "worker", env=on_host(2), log=tmp_path / "w2.log", concurrency=2, prefix=hosts.run_in(hosts.workers[1])
            )
            beat = CeleryProcess(
                "beat", env=on_host(2), log=tmp_path / "beat.log", prefix=hosts.run_in(hosts.workers[1])
            )
            for process in (first, second):
                running.append(process.start())
            running.append(beat.start())

            held: dict[str, set[str]] = defaultdict(set)  # partition -> the hosts seen holding it
            killed_held: set[str] = set()
            first_host, second_host = hosts.worker_address(1), hosts.worker_address(2)
            with pg.connect(database) as watch:

                def look() -> dict[str, list[str]]:
                    now: dict[str, list[str]] = defaultdict(list)
                    for key, address in watch.execute(HOLDERS).fetchall():
                        if key in UNITS:
                            now[UNITS[key]].append(address)
                            held[UNITS[key]].add(address)
                    assert all(len(hosts_now) == 1 for hosts_now in now.values()), now  # one host per partition
                    return now

                def behind() -> int:
                    """Status rows (partitions and the projections not split) short of the head."""
                    row = watch.execute(BEHIND).fetchone()
                    assert row is not None  # count(*) always answers
                    return row[0]

                def first_host_at_work() -> bool:
                    now = look()
                    mine = {unit for unit, where in now.items() if first_host in where}
                    killed_held.update(mine)
                    return bool(mine) and behind() > 0

                wait_until(first_host_at_work, timeout=60, interval=0.02, message="the first host to apply partitions")
                first.kill()  # mid-batch: its sessions end with it, and its locks with them
                # A backend notices its client is gone when its statement ends (the batch rolls back).
                wait_until(
                    lambda: not any(first_host in where for where in look().values()),
                    timeout=60,
                    interval=0.05,
                    message="the killed host's sessions to end",
                )

                taken_over: dict[str, set[str]] = defaultdict(set)  # held since the killed host's sessions ended

                def all_caught_up() -> bool:
                    for unit, where in look().items():
                        taken_over[unit].update(where)
                    return behind() == 0

                wait_until(all_caught_up, timeout=180, interval=0.05, message="every partition to reach the head")

            assert first_host in {a for where in held.values() for a in where}  # both hosts worked
            assert second_host in {a for where in held.values() for a in where}
            # What the killed host held was applied to the end by the other host.
            assert killed_held and all(second_host in taken_over[unit] for unit in killed_held), (
                killed_held,
                taken_over,
            )

            with pg.connect(database) as conn:
                rows = conn.execute("SELECT account_id::text, balance, version FROM projections_accountsummary")
                actual = {r[0]: (r[1], r[2]) for r in rows.fetchall()}
            assert actual == {a.id: (a.balance, a.version) for a in gen.accounts}  # nothing lost, nothing doubled
            verified = subprocess.run(
                [sys.executable, "manage.py", "verify_projections"],
                cwd=ROOT,
                env={**pg.env(database), "TALLY_PROJECTION_PARTITIONS": SETTING},
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert verified.stdout.count(": OK") == sum(PARTITIONS.values()) + 3  # every partition, and the rest
        finally:
            for process in running:
                process.stop()
            if redis is not None:
                redis.stop()
            pg.close()
