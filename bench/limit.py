"""What Postgres itself can do on this machine, on the event table's exact shape (bench_limit is
created from the migrated bench_tally as a template: same columns, indexes and triggers), with
plain psycopg and no application code: the ceiling each Tally figure is read against.

- single-row INSERT commits per second, 1 and 4 clients (each a process, autocommit, prepared):
  the ceiling for one command = one commit;
- the latency of such a commit (p50/p99), the floor for a command's latency;
- COPY rows per second: the ceiling for bulk writes;
- an ordered scan of the events (COPY of the (tx_id, position)-ordered log to the client): the
  ceiling for a rebuild, which must read every event in that order.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench import eventgen
from bench.common import LIMIT_DB, Profile, database_url, latency_summary, run_together

_INSERT = (
    f"INSERT INTO ledger_event ({eventgen.EVENT_COLUMNS.replace(', recorded_at', '')}) "
    "VALUES (%s, %s, 'account', %s, 'MoneyDeposited', 1, %s, %s)"
)


def _insert_client(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """One client: commit single-row INSERTs of a deposit-shaped event for warm-up + seconds."""
    import psycopg

    stream = uuid.uuid4()
    meta = json.dumps(
        {
            "actor": "teller",
            "command_id": str(uuid.uuid4()),
            "command": "Deposit",
            "correlation_id": str(uuid.uuid4()),
            "causation_id": str(uuid.uuid4()),
            "source": "bench",
        },
        separators=(",", ":"),
    )
    data = json.dumps(
        {"account_id": str(stream), "amount": 12345, "currency": "EUR", "memo": "Salary"}, separators=(",", ":")
    )
    latencies: list[float] = []
    with psycopg.connect(job["url"], autocommit=True) as conn:
        version = 0
        ready()
        start = time.perf_counter()
        warm_until, stop_at = start + job["warmup"], start + job["warmup"] + job["seconds"]
        while True:
            version += 1
            t0 = time.perf_counter()
            conn.execute(_INSERT, (uuid.uuid4(), stream, version, data, meta), prepare=True)
            t1 = time.perf_counter()
            if t1 >= stop_at:
                break
            if t0 >= warm_until:
                latencies.append(t1 - t0)
    return {"count": len(latencies), "seconds": job["seconds"], "latencies": latencies}


def insert_commits(clients: int, profile: Profile) -> dict[str, Any]:
    job = {"url": database_url(LIMIT_DB), "warmup": profile.warmup_seconds, "seconds": profile.limit_seconds}
    results = run_together(_insert_client, [job] * clients)
    count = sum(r["count"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "clients": clients,
        "commits": count,
        "seconds": profile.limit_seconds,
        "per_second": count / profile.limit_seconds,
        "latency_ms": latency_summary(latencies),
    }


def copy_rows(profile: Profile) -> dict[str, Any]:
    """COPY generated event rows (built before the clock starts) into the event table."""
    import psycopg

    gen = eventgen.LedgerGenerator(total=profile.limit_copy_rows, seed=11)
    rows, elapsed = 0, 0.0
    with psycopg.connect(database_url(LIMIT_DB), autocommit=True) as conn:
        # Only the COPY is timed; a batch is generated before its clock starts (and freed after,
        # so the harness stays small: its children's memory is measured).
        for batch in gen.batches(profile.limit_copy_rows, per_batch=50_000):
            payload = batch.event_bytes()
            started = time.perf_counter()
            with (
                conn.transaction(),
                conn.cursor() as cur,
                cur.copy(f"COPY ledger_event ({eventgen.EVENT_COLUMNS}) FROM STDIN") as copy,
            ):
                copy.write(payload)
            elapsed += time.perf_counter() - started
            rows += len(batch.events)
    return {"rows": rows, "seconds": elapsed, "per_second": rows / elapsed}


def ordered_scan(database: str) -> dict[str, Any]:
    """Every event, in the order a rebuild reads them, to the client: the rebuild's ceiling."""
    import psycopg

    sql = (
        "COPY (SELECT position, tx_id, event_id, stream_id, stream_type, version, type, schema_version, "
        "data, metadata, recorded_at FROM ledger_event ORDER BY tx_id, position) TO STDOUT"
    )
    with psycopg.connect(database_url(database), autocommit=True) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        rows = size = 0
        with cur.copy(sql) as copy:
            for chunk in copy:
                rows += bytes(chunk).count(b"\n")
                size += len(chunk)
        elapsed = time.perf_counter() - started
    return {"rows": rows, "megabytes": size / 1e6, "seconds": elapsed, "per_second": rows / elapsed}


def run(profile: Profile) -> dict[str, Any]:
    return {
        "insert_1": insert_commits(1, profile),
        "insert_4": insert_commits(4, profile),
        "copy": copy_rows(profile),
    }
