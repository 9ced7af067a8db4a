"""Partitioned projections (projections/partitions.py): live catch-up and rebuild throughput with the
split projections (account_summary, statement, daily_activity) as 1, 2 and 4 partitions.

One generated log (bench.eventgen, loaded with COPY, VACUUM (ANALYZE)) in bench_rebuild. For each
number of partitions n:

- rebuild: `rebuild_projections --in-place` of every projection in a fresh process with
  TALLY_PROJECTION_PARTITIONS set to n (a session per partition and projection, side by side);
- live catch-up: the tables emptied again, then one process per lane (what the Celery catch-up task
  of that lane runs: runner.catch_up(lane=k) with the live batch size, until caught up; lane 1 also
  takes the projections that are not split), started together; the time until every lane is at the
  head of the log. n = 4 is four processes, as two Celery workers of concurrency 2 (the default on
  this 2-core machine) run them; n = 1 is the one lane of today.

Events per second count every event of the log (all types) over the wall time. Each run's read models
are checked against the generator's balances. Everything shares the same two cores: the gain is what
side-by-side sessions get out of Postgres on this machine, not what more hosts would add.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from typing import Any

from bench import eventgen
from bench.common import (
    REBUILD_DB,
    Profile,
    database_url,
    manage,
    percentile,
    recreate_database,
    run_together,
    say,
    setup_django,
)
from bench.rebuild import check_balances

EVENTS = {"quick": 30_000, "full": 400_000}
# Partitions per split projection, in the order measured; quick mode leaves out 2, which no goal names.
LAYOUTS = {"quick": (1, 4), "full": (1, 2, 4)}
SPLIT = ("account_summary", "statement", "daily_activity")


def measure(run: Any) -> None:
    run.step(
        "partitions",
        None,
        f"partitioned projections: catch-up and rebuild at {', '.join(map(str, LAYOUTS[run.profile.name]))} partitions",
        _measure,
        run.profile,
    )


def setting(n: int) -> str:
    return ",".join(f"{name}={n}" for name in SPLIT)


def _measure(profile: Profile) -> dict[str, Any]:
    import psycopg

    events = EVENTS[profile.name]
    # Not copied from bench_tally: another family's processes may still be connected to it, which
    # a template copy refuses.
    recreate_database(REBUILD_DB)
    manage("migrate", "--no-input", database=REBUILD_DB)
    gen = eventgen.LedgerGenerator(total=events, seed=11)
    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        eventgen.generate_and_load(conn, gen, events)
        conn.execute("VACUUM (ANALYZE) ledger_event")
    results: dict[str, Any] = {"events": gen.events_written, "rebuild": {}, "catch_up": {}, "lag": {}}
    previous = os.environ.get("TALLY_PROJECTION_PARTITIONS")
    try:
        for n in LAYOUTS[profile.name]:
            os.environ["TALLY_PROJECTION_PARTITIONS"] = setting(n)  # the spawned children read it as they start
            say(f"  {n} partition{'s' if n > 1 else ''}: rebuild in place, then live catch-up in {n} process(es)")
            rebuild = run_together(_rebuild_child, [{}], timeout=3600)[0]
            rebuild["balance_mismatches"] = check_balances(gen)
            results["rebuild"][str(n)] = rebuild
            run_together(_reset_child, [{}], timeout=600)
            lanes = run_together(_lane_child, [{"lane": k} for k in range(1, n + 1)], timeout=3600)
            wall = max(lane["ended"] for lane in lanes) - min(lane["started"] for lane in lanes)
            results["catch_up"][str(n)] = {
                "seconds": wall,
                "per_second": gen.events_written / wall,
                "lanes": lanes,
                "balance_mismatches": check_balances(gen),
            }
        for n in (1, LAYOUTS[profile.name][-1]):
            os.environ["TALLY_PROJECTION_PARTITIONS"] = setting(n)
            say(f"  the read side's lag under the fastest write load this machine makes, {n} partition(s)")
            run_together(_rebuild_child, [{}], timeout=3600)  # tables of this layout, caught up
            results["lag"][str(n)] = _lag(n, LAG_SECONDS[profile.name], seed=1000 + n)
    finally:
        if previous is None:
            os.environ.pop("TALLY_PROJECTION_PARTITIONS", None)
        else:
            os.environ["TALLY_PROJECTION_PARTITIONS"] = previous
    for figure in ("rebuild", "catch_up"):
        one, four = results[figure]["1"]["per_second"], results[figure]["4"]["per_second"]
        results[f"{figure}_gain"] = four / one
    results["valid"] = all(
        r["balance_mismatches"] == 0 for figure in ("rebuild", "catch_up") for r in results[figure].values()
    )
    return results


def _rebuild_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    setup_django(REBUILD_DB)
    from django.core.management import call_command

    ready()
    started = time.perf_counter()
    call_command("rebuild_projections", "--no-input", "--in-place", stdout=io.StringIO(), stderr=io.StringIO())
    seconds = time.perf_counter() - started
    from ledger import store

    return {"seconds": seconds, "per_second": store.head_position() / seconds}


def _reset_child(job: dict[str, Any], ready: Callable[[], Any]) -> None:
    """Every projection emptied, as the layout to measure: the next catch-up replays the whole log."""
    setup_django(REBUILD_DB)
    from projections import runner

    ready()
    runner.reset()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM (ANALYZE) projections_accountsummary, projections_statementline, projections_dailyactivity"
        )


def _lane_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    setup_django(REBUILD_DB)
    from django.db import connection

    from projections import runner

    with connection.cursor() as cursor:  # connected before the clock starts, as a running worker is
        cursor.execute("SELECT 1")
    ready()
    started = time.time()
    applied = batches = 0
    while True:
        report = runner.catch_up(lane=job["lane"], wait_seconds=5)
        applied, batches = applied + report.applied, batches + report.batches
        if report.failed or report.skipped:
            raise RuntimeError(f"lane {job['lane']}: {report}")
        if report.caught_up:
            break
    return {"lane": job["lane"], "started": started, "ended": time.time(), "batches": batches}


LAG_SECONDS = {"quick": 4.0, "full": 30.0}
SAMPLE_SECONDS = 0.25


def _lag(n: int, seconds: float, seed: int) -> dict[str, Any]:
    """A writer COPYing generated events as fast as it can for `seconds` (the event table's own
    ceiling on this machine, its chain trigger and indexes included), lanes catching up over and
    over meanwhile as nudged workers do, and a sampler reading how far behind the log the furthest
    behind status row is (in positions, which count events)."""
    jobs = [{"role": "writer", "seconds": seconds, "seed": seed}, {"role": "sampler", "seconds": seconds}]
    jobs += [{"role": "lane", "lane": k, "seconds": seconds} for k in range(1, n + 1)]
    done = run_together(_lag_child, jobs, timeout=seconds + 600)
    writer, samples = done[0], done[1]["samples"]
    third = max(len(samples) // 3, 1)
    return {
        "write_per_second": writer["events"] / writer["seconds"],
        "behind_p50": percentile(samples, 50),
        "behind_p95": percentile(samples, 95),
        "behind_max": max(samples),
        "first_third_mean": sum(samples[:third]) / third,
        "last_third_mean": sum(samples[-third:]) / third,
        "drained_seconds": max(lane["drained_after"] for lane in done[2:]),
    }


def _lag_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    setup_django(REBUILD_DB)
    from django.db import connection

    from projections import runner

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    if job["role"] == "writer":
        import psycopg

        gen = eventgen.LedgerGenerator(total=10_000_000, seed=job["seed"])  # accounts of its own
        with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
            ready()
            started, written = time.perf_counter(), 0
            for batch in gen.batches(10_000_000, per_batch=500):
                eventgen.load(conn, batch)
                written += len(batch.events)
                if time.perf_counter() - started > job["seconds"]:
                    break
            return {"events": written, "seconds": time.perf_counter() - started}
    ready()
    started = time.perf_counter()
    if job["role"] == "sampler":
        samples = []
        while time.perf_counter() - started < job["seconds"]:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT (SELECT max(position) FROM ledger_event) - min(position) FROM projections_projectionstatus"
                )
                samples.append(float(cursor.fetchone()[0] or 0))
            time.sleep(SAMPLE_SECONDS)
        return {"samples": samples}
    while True:  # a lane: catch up again at once, as a worker nudged on every commit does
        report = runner.catch_up(lane=job["lane"], wait_seconds=1)
        if report.failed:
            raise RuntimeError(f"lane {job['lane']}: {report.failed}")
        elapsed = time.perf_counter() - started
        if elapsed > job["seconds"] and report.caught_up and not report.applied:
            return {"drained_after": elapsed - job["seconds"]}


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import NOT_YET, Row, at_least, check, get

    found = get(results, "partitions")
    made = []
    for figure, label in (("catch_up", "Live catch-up"), ("rebuild", "Rebuild (in place)")):
        row = Row(
            f"partitions_{figure}",
            f"{label}, events/s: 4 partitions in 4 processes / 1 partition",
            "x",
            goal=">= 1.6x",
        )
        if not isinstance(found, dict) or figure not in found:
            row.note = NOT_YET
            made.append(row)
            continue
        row.tally = found[f"{figure}_gain"]
        row.met = check(row.tally, at_least(1.6))
        rates = ", ".join(f"{n}: {found[figure][n]['per_second']:,.0f}/s" for n in sorted(found[figure]))
        row.note = f"{found['events']:,} events, all projections; by partitions {rates}" + (
            "" if found["valid"] else " — WRONG balances"
        )
        made.append(row)
    lag = Row(
        "partitions_lag",
        "Read side behind the log under the fastest write load here, p95 events: 4 partitions / 1",
        "x",
        goal="bounded",
    )
    if not isinstance(found, dict) or not found.get("lag"):
        lag.note = NOT_YET
        return [*made, lag]
    one, four = found["lag"]["1"], found["lag"][max(found["lag"], key=int)]
    lag.tally = four["behind_p95"] / max(one["behind_p95"], 1)
    lane = found["catch_up"]["1"]["per_second"]
    load = four["write_per_second"] / lane
    lag.met = check(four["last_third_mean"], lambda last: last <= max(2 * four["first_third_mean"], 10_000))
    lag.note = (
        f"a writer COPYing generated events flat out makes {four['write_per_second']:,.0f} events/s, {load:.2f}x "
        f"what one lane catches up ({lane:,.0f}/s): the goal's load of 1.5x one lane cannot be made on this "
        f"machine. Behind p50/p95/max: 1 partition {one['behind_p50']:,.0f}/{one['behind_p95']:,.0f}/"
        f"{one['behind_max']:,.0f}, 4 partitions {four['behind_p50']:,.0f}/{four['behind_p95']:,.0f}/"
        f"{four['behind_max']:,.0f} events; last third's mean against the first's (growing?) "
        f"{four['last_third_mean']:,.0f} / {four['first_third_mean']:,.0f}; drained "
        f"{four['drained_seconds']:.1f} s after the load stopped"
    )
    return [*made, lag]
