"""Whether the screens stay as fast as the bank grows: the accounts list and the dashboard at two
numbers of accounts, the admin event browser at two log sizes, measured with the same open loop.

Accounts: two databases of their own, each a history from bench.eventgen spread over the same
year, with the same activity per account (ten events each), one at the smaller number of accounts
and one at the larger; the read models rebuilt by `rebuild_projections`, then VACUUM ANALYZE.
Events: a copy of the rebuild's log (bench_rebuild) grown to the larger size with more of the
same history (a generator of its own: new accounts and their activity), VACUUM ANALYZE again.

Both sides of a comparison are served at the same time by gunicorns of their own (an idle one
costs nothing), and measured in turn, round by round, at the same rate: half of the capacity
measured at the smaller size. So the ratio says how much slower the same traffic is answered on
the larger data; each side's capacity is printed beside it, and each side's /healthz p95 at that
rate too (the machine's share of the difference).
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import eventgen, http_load
from bench.common import FULL, REBUILD_DB, TALLY_DB, Profile, database_url, manage, run_together, say

# Databases of this module alone, named with the run's prefix (bench_ or BENCH_DB_PREFIX) and
# dropped at the end: the harness's list of its own (common.ALL_DBS) is not this module's to grow.
_PREFIX = TALLY_DB.removesuffix("tally")
EMPTY_DB = f"{_PREFIX}http_empty"  # migrated, no events: the template of the two account databases
SMALL_DB, LARGE_DB = f"{_PREFIX}http_accounts_small", f"{_PREFIX}http_accounts_large"
GROWN_DB = f"{_PREFIX}http_events_large"
EVENTS_PER_ACCOUNT = 10


@dataclass(frozen=True)
class Sizes:
    accounts: tuple[int, int]
    events_large: int  # the grown copy of the rebuild log; the smaller side is the log as it is
    note: str = ""


SIZES = {
    "full": Sizes(accounts=(1_000, 100_000), events_large=5_000_000),
    # Quick (`python -m bench.http --quick`; `python -m bench --quick` leaves the scale out): the
    # accounts at a hundredth of the goal's sizes, the event browser not at all (growing a log takes minutes).
    "quick": Sizes(accounts=(100, 1_000), events_large=0, note="quick: a hundredth of the goal's sizes"),
}


def _admin_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def _create(name: str, *, template: str | None = None) -> None:
    """Drop and create `name` (one of this module's); from `template` when given, which nobody may
    be connected to: a few tries, as the processes of the run before let go of it."""
    import psycopg

    if name not in (EMPTY_DB, SMALL_DB, LARGE_DB, GROWN_DB):
        raise ValueError(f"{name} is not one of bench.http_scale's databases")
    for attempt in range(10):
        try:
            with _admin_connection() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
            return
        except psycopg.errors.ObjectInUse:
            if attempt == 9:
                raise
            time.sleep(1)


def drop_all() -> None:
    with _admin_connection() as conn:
        for name in (EMPTY_DB, SMALL_DB, LARGE_DB, GROWN_DB):
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _load(db: str, gen: eventgen.LedgerGenerator, events: int) -> dict[str, Any]:
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(database_url(db), autocommit=True) as conn:
        written = eventgen.generate_and_load(conn, gen, events)
    return {"events": written, "load_seconds": time.perf_counter() - started}


def accounts_database(db: str, accounts: int, seed: int) -> dict[str, Any]:
    """A bank of about `accounts` accounts, ten events each over the last year, its read models built."""
    _create(db, template=EMPTY_DB)
    events = accounts * EVENTS_PER_ACCOUNT
    gen = eventgen.LedgerGenerator(total=events, seed=seed, events_per_account=EVENTS_PER_ACCOUNT)
    loaded = _load(db, gen, events)
    # A transfer is two events, so a log of `events` holds somewhat fewer accounts: grow it, with
    # the same history, until it has them all.
    while len(gen.accounts) < accounts:
        more = _load(db, gen, (accounts - len(gen.accounts)) * EVENTS_PER_ACCOUNT)
        loaded = {k: loaded[k] + more[k] for k in loaded}
    started = time.perf_counter()
    manage("rebuild_projections", "--no-input", database=db)
    return {**loaded, "rebuild_seconds": time.perf_counter() - started, "accounts": len(gen.accounts)}


def grown_log(events_large: int, events_now: int) -> dict[str, Any]:
    """A copy of the rebuild's log grown to `events_large` events by a generator of its own (the same
    history's shape: new accounts, their deposits, withdrawals and transfers)."""
    _create(GROWN_DB, template=REBUILD_DB)
    more = max(events_large - events_now, 0)
    gen = eventgen.LedgerGenerator(total=more, seed=4242)
    return _load(GROWN_DB, gen, more)


def _pair(
    benches: tuple[Any, Any],
    sessions: tuple[str, str],
    pair: tuple[http_load.Step, http_load.Step],
    rounds: int,
) -> dict[str, Any]:
    """Capacity at both sizes, then the same rate (half the smaller size's capacity) on each in turn."""
    from bench.http import GOAL_SHARE, healthz_step

    small, large = benches
    found = (small.capacity(sessions[0], pair[0]), large.capacity(sessions[1], pair[1]))
    rate = GOAL_SHARE * found[0]["per_second"]
    if not rate:
        return {"capacity": found, "rate": 0, "error": "the smaller size's capacity run answered nothing"}
    runs: list[list[dict[str, Any]]] = [[], [], [], []]  # small, small /healthz, large, large /healthz
    for _ in range(rounds):
        runs[0].append(small.load(sessions[0], pair[0], rate))
        runs[2].append(large.load(sessions[1], pair[1], rate))
        runs[1].append(small.load(sessions[0], healthz_step, rate))
        runs[3].append(large.load(sessions[1], healthz_step, rate))
    pooled = [http_load.pooled(r) for r in runs]
    return {
        "rate": rate,
        "capacity": {"small": found[0], "large": found[1]},
        "small": pooled[0],
        "small_healthz": pooled[1],
        "large": pooled[2],
        "large_healthz": pooled[3],
    }


def _both(data: list[dict[str, Any]], key: str) -> tuple[http_load.Step, http_load.Step]:
    """The screen's request on each side, over that side's own accounts, owners and streams."""
    from bench.http import steps

    return steps(data[0])[key], steps(data[1])[key]


def measure_scale(profile: Profile, timing: Any, results: dict[str, Any], log_dir: Path) -> dict[str, Any]:
    from bench.http import Bench, prepare, start_web

    sizes = SIZES[profile.name]
    out: dict[str, Any] = {"note": sizes.note, "rate_share": 0.5}
    workers = results["gunicorn"]["workers"]
    started = time.perf_counter()
    try:
        say(f"  scale: banks of {sizes.accounts[0]:,} and {sizes.accounts[1]:,} accounts")
        _create(EMPTY_DB)
        manage("migrate", "--no-input", database=EMPTY_DB)
        built = [
            accounts_database(SMALL_DB, sizes.accounts[0], seed=11),
            accounts_database(LARGE_DB, sizes.accounts[1], seed=12),
        ]
        out["accounts_databases"] = built
        say(f"  scale: banks loaded and rebuilt in {time.perf_counter() - started:.0f} s; measuring")
        data = [run_together(prepare, [{"db": db}])[0] for db in (SMALL_DB, LARGE_DB)]
        with ExitStack() as running:
            servers = [running.enter_context(start_web(db, log_dir)) for db in (SMALL_DB, LARGE_DB)]
            benches = (Bench(servers[0], timing, workers), Bench(servers[1], timing, workers))
            sessions = (data[0]["sessions"]["teller"], data[1]["sessions"]["teller"])
            out["accounts"] = [d["account_count"] for d in data]
            for key in ("accounts_list", "dashboard"):
                out[key] = _pair(benches, sessions, _both(data, key), timing.rounds)
        events_now = results.get("events") or 0
        if not sizes.events_large:
            out["events_skipped"] = "quick mode: not measured (full mode grows a copy of the log to 5,000,000 events)"
            return out
        say(f"  scale: the event browser at {events_now:,} and {sizes.events_large:,} events")
        out["grown"] = grown_log(sizes.events_large, events_now)
        say(f"  scale: log grown by {out['grown']['events']:,} events in {out['grown']['load_seconds']:.0f} s")
        data = [run_together(prepare, [{"db": db}])[0] for db in (REBUILD_DB, GROWN_DB)]
        out["events"] = [d["events"] for d in data]
        with ExitStack() as running:
            servers = [running.enter_context(start_web(db, log_dir)) for db in (REBUILD_DB, GROWN_DB)]
            benches = (Bench(servers[0], timing, workers), Bench(servers[1], timing, workers))
            sessions = (data[0]["sessions"]["auditor"], data[1]["sessions"]["auditor"])
            for key in ("admin_list", "admin_search"):
                out[key] = _pair(benches, sessions, _both(data, key), timing.rounds)
    finally:
        drop_all()
        out["seconds"] = time.perf_counter() - started
    return out


# --- rows of the table -------------------------------------------------------------------------------

GOALS = {"accounts_list": 1.5, "dashboard": 1.5, "admin_list": 1.3, "admin_search": 1.3}
LABELS = {
    "accounts_list": "accounts list",
    "dashboard": "dashboard",
    "admin_list": "admin event list",
    "admin_search": "admin event search",
}


def _sizes_label(scale: dict[str, Any] | None, key: str, profile: str = "full") -> str:
    if isinstance(scale, dict):
        if key.startswith("admin") and scale.get("events"):
            small, large = scale["events"]
            return f"{large:,} events vs {small:,}"
        if not key.startswith("admin") and scale.get("accounts"):
            small, large = scale["accounts"]
            return f"{large:,} accounts vs {small:,}"
    sizes = SIZES[profile]
    if key.startswith("admin"):
        return f"{sizes.events_large:,} events vs {FULL.rebuild_sizes[1]:,}"
    return f"{sizes.accounts[1]:,} accounts vs {sizes.accounts[0]:,}"


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import NOT_YET, Row, at_most, check, get

    scale = get(results, "http", "scale")
    out = []
    for key, goal in GOALS.items():
        row = Row(
            f"http_scale_{key}",
            f"HTTP {LABELS[key]} p95, {_sizes_label(scale, key)}, same rate",
            "x",
            goal=f"<= {goal}x",
        )
        entry = get(results, "http", "scale", key)
        if isinstance(entry, dict) and "large" in entry:
            small, large = entry["small"]["latency_ms"]["p95"], entry["large"]["latency_ms"]["p95"]
            row.tally = large / small
            row.met = check(row.tally, at_most(goal))
            caps = entry["capacity"]
            row.note = (
                f"p95 {large:.0f} ms vs {small:.0f} ms at {entry['rate']:.0f}/s (half the smaller size's capacity); "
                f"capacity {caps['large']['per_second']:.0f}/s vs {caps['small']['per_second']:.0f}/s; /healthz p95 "
                f"{entry['large_healthz']['latency_ms']['p95']:.1f} vs "
                f"{entry['small_healthz']['latency_ms']['p95']:.1f} ms"
                f"; client CPU {entry['large']['cpu'].get('client_core', float('nan')) * 100:.0f} % of a core"
            )
            errors = entry["small"]["errors"] + entry["large"]["errors"]
            if errors:
                row.note += f", {errors} FAILED"
                row.met = False
            if scale.get("note"):
                row.note += f" ({scale['note']})"
        elif isinstance(entry, dict):
            row.note = str(entry.get("error", NOT_YET))
        elif isinstance(scale, dict) and scale.get("skipped"):
            row.note = scale["skipped"]
        elif isinstance(scale, dict) and key.startswith("admin") and scale.get("events_skipped"):
            row.note = scale["events_skipped"]
        else:
            errors = get(results, "http", "errors")
            row.note = NOT_YET if not errors else "not measured: the HTTP family failed"
        out.append(row)
    return out
