"""Rebuild of every projection from a large log: speed, and memory that does not grow with the log.

The log is generated (bench.eventgen) and loaded with COPY into bench_rebuild, at the smaller of
the two sizes first; `rebuild_projections --no-input` runs in a fresh process that reports its
time and peak RSS; the log then grows to the larger size (the same history, continued) and a
fresh process rebuilds again. Equal peak RSS at both sizes means memory is flat; the rate at the
larger size is the headline figure. The rebuilt read model is checked against the generator's own
account balances (and, in quick mode, with verify_projections).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench import eventgen
from bench.common import REBUILD_DB, Profile, database_url, run_together, say, setup_django


def _status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process, from /proc. Not getrusage's ru_maxrss:
    Linux carries that over from the parent through fork and exec, so a child started by a big
    parent would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rebuild_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """A fresh process: the management command operators run, timed, with its peak memory."""
    import io

    setup_django(REBUILD_DB)
    from django.core.management import call_command
    from django.db import connection

    with connection.cursor() as cursor:  # connect before measuring, as a running worker would be
        cursor.execute("SELECT count(*) FROM ledger_event")
        events = cursor.fetchone()[0]
    baseline = _status_mb("VmRSS")
    ready()
    started = time.perf_counter()
    call_command("rebuild_projections", "--no-input", stdout=io.StringIO(), stderr=io.StringIO())
    elapsed = time.perf_counter() - started
    peak = _status_mb("VmHWM")
    verified = None
    if job.get("verify"):
        from projections.projectors import get_projectors
        from projections.verify import verify

        verified = {p.name: len(verify(p).differences) for p in get_projectors()}
    return {
        "events": events,
        "seconds": elapsed,
        "per_second": events / elapsed,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
        "verify_differences": verified,
    }


def _check_balances(gen: eventgen.LedgerGenerator) -> int:
    """Accounts whose rebuilt summary differs from the generator's own balance and version."""
    import psycopg

    expected = {a.id: (a.balance, a.version) for a in gen.accounts}
    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        rows = conn.execute("SELECT account_id::text, balance, version FROM projections_accountsummary").fetchall()
    actual = {r[0]: (r[1], r[2]) for r in rows}
    return sum(1 for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))


def run(profile: Profile) -> dict[str, Any]:
    import psycopg

    small, large = profile.rebuild_sizes
    gen = eventgen.LedgerGenerator(total=large, seed=2026)
    results: dict[str, Any] = {"sizes": [small, large], "runs": []}
    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        for size in (small, large):
            started = time.perf_counter()
            written = eventgen.generate_and_load(conn, gen, size - gen.events_written)
            loaded = time.perf_counter() - started
            say(
                f"  {gen.events_written:,} events in the log ({written:,} loaded at {written / loaded:,.0f}/s); "
                "rebuilding in a fresh process"
            )
            run_result = run_together(
                _rebuild_child, [{"verify": profile.name == "quick" and size == small}], timeout=3600
            )[0]
            run_result["load_per_second"] = written / loaded
            run_result["accounts"] = len(gen.accounts)
            run_result["balance_mismatches"] = _check_balances(gen)
            results["runs"].append(run_result)
    first, second = results["runs"]
    results["per_second"] = second["per_second"]
    results["peak_rss_ratio"] = second["peak_rss_mb"] / first["peak_rss_mb"]
    results["valid"] = all(
        r["balance_mismatches"] == 0 and not any((r["verify_differences"] or {}).values()) for r in results["runs"]
    )
    return results
