"""Rebuild of every projection from a large log: speed, and memory that does not grow with the log.

The log is generated (bench.eventgen) and loaded with COPY into bench_rebuild, at the smaller of
the two sizes first; `rebuild_projections --no-input` runs in a fresh process that reports its
time and peak RSS; the log then grows to the larger size (the same history, continued) and a
fresh process rebuilds again. Equal peak RSS at both sizes means memory is flat; the rate at the
larger size is the headline figure. The rebuilt read model is checked against the generator's own
account balances (and, in quick mode, with verify_projections). Each log gets VACUUM (ANALYZE)
before it is replayed, the peer's too.

Beside it: the peer's batched projector doing the same three projections over the same events
(bench.peer_projection; its tables checked row for row against Tally's at the same log size), the
library's one-event-per-transaction ProjectionRunner as a labelled second figure, and the
server-side baseline (bench.rebuild_sql): the same read models built by set-based SQL inside
Postgres over the larger log, the "limit" column.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from bench import eventgen
from bench.common import REBUILD_DB, Profile, database_url, run_together, say, setup_django


def status_mb(field: str) -> float:
    """VmRSS (now) or VmHWM (the peak) of this process, from /proc. Not getrusage's ru_maxrss:
    Linux carries that over from the parent through fork and exec, so a child started by a big
    parent would report the parent's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rebuild_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """A fresh process: the management command operators run, timed, with its peak memory; in place
    (the tables filled, as the peer's projector fills its own), or blue/green (what operators run
    by default: filled beside the live tables, checked against a replay, swapped in), with the time
    each step of it took."""
    import io

    setup_django(REBUILD_DB)
    from django.core.management import call_command
    from django.db import connection

    from projections import bluegreen

    with connection.cursor() as cursor:  # connect before measuring, as a running worker would be
        cursor.execute("SELECT count(*) FROM ledger_event")
        events = cursor.fetchone()[0]
    baseline = status_mb("VmRSS")
    steps: dict[str, float] = {}
    ready()
    started = time.perf_counter()
    if job.get("blue_green"):
        # What the command runs, without its progress bars: each step's start is timestamped.
        def at(name: str, phase: bluegreen.Phase) -> None:
            steps.setdefault(str(phase), time.perf_counter() - started)

        outcome = bluegreen.rebuild(on_phase=at, pace=job["pace"])
        if not outcome.swapped:
            raise RuntimeError(f"the blue/green rebuild did not swap: {outcome}")
    else:
        call_command("rebuild_projections", "--no-input", "--in-place", stdout=io.StringIO(), stderr=io.StringIO())
    elapsed = time.perf_counter() - started
    peak = status_mb("VmHWM")
    from projections.projectors import get_projectors

    projectors = [p.name for p in get_projectors()]
    verified = None
    if job.get("verify"):
        from projections.verify import verify

        verified = {p.name: len(verify(p).differences) for p in get_projectors()}
    return {
        "events": events,
        "steps": steps,
        "seconds": elapsed,
        "per_second": events / elapsed,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
        "verify_differences": verified,
        "projectors": projectors,
    }


def check_balances(gen: eventgen.LedgerGenerator) -> int:
    """Accounts whose rebuilt summary differs from the generator's own balance and version."""
    import psycopg

    expected = {a.id: (a.balance, a.version) for a in gen.accounts}
    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        rows = conn.execute("SELECT account_id::text, balance, version FROM projections_accountsummary").fetchall()
    actual = {r[0]: (r[1], r[2]) for r in rows}
    return sum(1 for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))


def _vacuum() -> None:
    """VACUUM (ANALYZE) of the log before a rebuild: the peer's log gets the same."""
    import psycopg

    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) ledger_event")


TALLY_TABLES = ("projections_accountsummary", "projections_statementline", "projections_dailyactivity")


def two_sizes(profile: Profile, peer: bool = False) -> dict[str, Any]:
    """Tally's rebuild at both sizes; the peer's batched projector over the log at the size its
    result is checked at (the smaller one in quick mode, to stay short; the larger in a full run),
    against Tally's tables rebuilt from the same events; the set-based baseline at the larger."""
    import psycopg

    small, large = profile.rebuild_sizes
    peer_size = small if profile.name == "quick" else large
    gen = eventgen.LedgerGenerator(total=large, seed=2026)
    results: dict[str, Any] = {"sizes": [small, large], "runs": []}
    at_peer_size: dict[str, Any] = {}
    with psycopg.connect(database_url(REBUILD_DB), autocommit=True) as conn:
        for size in (small, large):
            started = time.perf_counter()
            written = eventgen.generate_and_load(conn, gen, size - gen.events_written)
            loaded = time.perf_counter() - started
            _vacuum()
            say(
                f"  {gen.events_written:,} events in the log ({written:,} loaded at {written / loaded:,.0f}/s); "
                "rebuilding in a fresh process"
            )
            run_result = run_together(
                _rebuild_child, [{"verify": profile.name == "quick" and size == small}], timeout=3600
            )[0]
            run_result["load_per_second"] = written / loaded
            run_result["accounts"] = len(gen.accounts)
            run_result["balance_mismatches"] = check_balances(gen)
            results["runs"].append(run_result)
            if size == peer_size and peer:
                from bench.peer_projection import digests

                at_peer_size = {
                    "events": run_result["events"],
                    "expected": {a.id: (a.balance, a.version) for a in gen.accounts},
                    "tally_digests": digests(REBUILD_DB, TALLY_TABLES),
                }
    say(f"  the same {gen.events_written:,} events rebuilt blue/green (built beside, checked, swapped)")
    # Flat out (--pace 1), as the in-place rebuild it is compared with: the goal is about the work.
    results["blue_green"] = run_together(_rebuild_child, [{"blue_green": True, "pace": 1.0}], timeout=3600)[0]
    results["blue_green"]["balance_mismatches"] = check_balances(gen)
    first, second = results["runs"]
    results["per_second"] = second["per_second"]
    results["blue_green_ratio"] = results["blue_green"]["seconds"] / second["seconds"]
    results["peak_rss_ratio"] = second["peak_rss_mb"] / first["peak_rss_mb"]
    results["valid"] = all(
        r["balance_mismatches"] == 0 and not any((r["verify_differences"] or {}).values())
        for r in [*results["runs"], results["blue_green"]]
    )
    results["at_peer_size"] = {k: v for k, v in at_peer_size.items() if k == "events"}
    results["_peer_check"] = at_peer_size  # for the peer's step; not written out
    return results


def peer_batched(results: dict[str, Any]) -> dict[str, Any]:
    from bench.peer_projection import rebuild_batched

    check = results.pop("_peer_check")
    return rebuild_batched(
        REBUILD_DB, check["events"], expected=check["expected"], tally_digests=check["tally_digests"]
    )


def set_based_baseline() -> dict[str, Any]:
    from bench.peer_projection import TIME_ZONE
    from bench.rebuild_sql import set_based

    return set_based(REBUILD_DB, time_zone=TIME_ZONE)


# --- the family, and its rows of the table ----------------------------------------------------------


def measure(run: Any) -> None:
    p = run.profile
    tally = run.step(
        "rebuild",
        None,
        f"Tally: rebuild all projections at {p.rebuild_sizes[0]:,} and {p.rebuild_sizes[1]:,} events",
        two_sizes,
        p,
        run.peer,
    )
    if tally is None:
        return
    run.step(
        "rebuild",
        "set_based",
        f"set-based SQL baseline: the three read models over {p.rebuild_sizes[1]:,} events inside Postgres",
        set_based_baseline,
    )
    if run.peer:
        from bench.peer_projection import rebuild_one_by_one

        check = run.results["rebuild"].get("_peer_check") or {}
        # One event per transaction is slow by design: a short log in quick mode keeps CI short.
        one_by_one = p.peer_projection_events if p.name == "full" else 500
        run.step(
            "peer",
            "rebuild",
            f"peer: batched projector, the three read models over {check.get('events', 0):,} events",
            peer_batched,
            run.results["rebuild"],
        )
        run.step(
            "peer",
            "rebuild_one_by_one",
            f"peer: the library's ProjectionRunner, one event a transaction, {one_by_one:,} events",
            rebuild_one_by_one,
            REBUILD_DB,
            one_by_one,
        )
    run.results["rebuild"].pop("_peer_check", None)


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import Row, at_most, check, get

    r = results
    rebuild = Row(
        "rebuild_rate",
        "Rebuild all projections, events/s",
        "/s",
        get(r, "rebuild", "per_second"),
        get(r, "peer", "rebuild", "per_second"),
        get(r, "rebuild", "set_based", "per_second"),
        goal=">= 50000/s, >= 5x peer",
        peer_default=get(r, "peer", "rebuild_one_by_one", "per_second"),
    )
    ratio = rebuild.ratio
    rebuild.met = check(rebuild.tally, lambda x: x >= 50_000 and (ratio is None or ratio >= 5))
    sizes = get(r, "rebuild", "sizes")
    notes = []
    if sizes:
        names = (get(r, "rebuild", "runs") or [{}])[-1].get("projectors") or []
        notes.append(
            f"Tally over {sizes[1]:,} events (rebuild_projections --in-place in a fresh process, its {len(names)} "
            f"projectors: {', '.join(names)}; the workload has no approvals, so only the first three find work)"
        )
        if get(r, "rebuild", "valid") is False:
            notes.append("TALLY'S REBUILT READ MODEL DIFFERS")
    if get(r, "peer", "rebuild", "events"):
        peer = r["peer"]["rebuild"]
        notes.append(
            f"peer: a batched projector on the library's NotificationLogReader, the same three read models "
            f"(sections of {peer['section_size']:,}, set-based writes, tracking in the same transaction) over "
            f"the first {peer['events']:,} events of the same log"
            + ("" if peer.get("valid") else " — ITS TABLES DIFFER FROM TALLY'S")
        )
    if get(r, "peer", "rebuild_one_by_one", "per_second"):
        one = r["peer"]["rebuild_one_by_one"]
        notes.append(
            f"Peer, defaults: the library's ProjectionRunner (one event per transaction, same projections) "
            f"over the first {one['events']:,} events"
        )
    if get(r, "rebuild", "set_based", "per_second"):
        sql = r["rebuild"]["set_based"]
        notes.append(
            "limit column: set-based SQL over the same log (what Postgres does with no client: three "
            "INSERT ... SELECT at once into scratch tables with the same indexes)"
            + ("" if sql.get("valid") else " — ITS TABLES DIFFER FROM TALLY'S")
        )
    rebuild.note = "; ".join(notes)
    blue_green = Row(
        "rebuild_blue_green",
        "Rebuild blue/green flat out (fill beside, check, swap) / in place, same log",
        "x",
        get(r, "rebuild", "blue_green_ratio"),
        goal="<= 1.3x",
    )
    blue_green.met = check(blue_green.tally, at_most(1.3))
    bg = get(r, "rebuild", "blue_green")
    if bg:
        in_place = r["rebuild"]["runs"][-1]
        marks = [*sorted(bg["steps"].items(), key=lambda kv: kv[1]), ("end", bg["seconds"])]
        parts = ", ".join(f"{name} {end - start:.1f} s" for (name, start), (_, end) in pairwise(marks))
        blue_green.note = (
            f"{bg['events']:,} events: blue/green {bg['seconds']:.1f} s ({parts}; "
            f"peak RSS {bg['peak_rss_mb']:.0f} MB), "
            f"in place {in_place['seconds']:.1f} s; the check replays every event in Python, which filling "
            "the tables in SQL does not. By default a blue/green rebuild works half the time (TALLY_REBUILD_PACE): "
            "see the account page's row during one"
        )
    memory = Row(
        "rebuild_memory",
        "Rebuild peak RSS, larger log / smaller log",
        "x",
        get(r, "rebuild", "peak_rss_ratio"),
        goal="<= 1.1x (flat)",
    )
    memory.met = check(memory.tally, lambda x: x <= 1.1)
    runs = get(r, "rebuild", "runs")
    if runs:
        memory.note = ", ".join(f"{run['peak_rss_mb']:.0f} MB at {run['events']:,}" for run in runs)
    return [rebuild, blue_green, memory]
