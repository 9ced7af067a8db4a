"""What every benchmark family shares: the run's profile (quick or full), where the databases and
Redis are, Django set-up, worker processes that start together, and small statistics."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from scripts.processes import ROOT

if TYPE_CHECKING:
    import psycopg

# The harness's own databases; each run drops and creates them, so figures never depend on what a
# previous run left behind, and the app's (tally, tally_dev) and the tests' (test_*) are never touched.
# BENCH_DB_PREFIX and BENCH_REDIS_DB let two runs share one server without touching each other's data.
_PREFIX = os.environ.get("BENCH_DB_PREFIX", "bench_")
TALLY_DB = f"{_PREFIX}tally"  # Tally's write side and the Celery latency run
PEER_DB = f"{_PREFIX}peer"  # the eventsourcing library's tables
LIMIT_DB = f"{_PREFIX}limit"  # plain psycopg on the event table's shape
REBUILD_DB = f"{_PREFIX}rebuild"  # 1,000,000 generated events: rebuild, admin and screens
ALL_DBS = (TALLY_DB, PEER_DB, LIMIT_DB, REBUILD_DB)
REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "9"))


@dataclass(frozen=True)
class Profile:
    """How much work each benchmark does. Quick runs the very same code on small data (CI)."""

    name: str
    warmup_seconds: float  # run, not counted: connections, caches and the JIT-less Python warm up
    write_seconds: float  # timed part of each round of a write throughput figure
    write_rounds: int  # Tally and the peer alternate this many rounds; each figure is their median
    accounts_per_process: int  # deposits go round-robin over this many accounts
    history_long: int  # prior events of the "long" account (the goal names 10,000)
    history_short: int  # prior events of the "short" account (the goal names 10)
    history_samples: int  # deposits timed into each of them
    history_accounts: int  # long and short accounts each; deposits rotate over them
    rebuild_sizes: tuple[int, int]  # two log sizes: rate at the larger, peak memory at both
    peer_projection_events: int  # the peer's balance projection replays this many events
    visibility_seconds: float  # at 100 commands/s
    http_requests: int  # per HTTP figure, over 10 concurrent clients
    limit_seconds: float  # each plain-INSERT run
    limit_copy_rows: int
    # The write figures through the routing (bench/routing.py) and the ceilings read against them:
    # each round of each figure warms up this long, then counts this long.
    phase_warmup: float = 0.2
    phase_seconds: float = 0.5


QUICK = Profile(
    "quick",
    warmup_seconds=0.3,
    write_seconds=1.0,
    write_rounds=2,
    accounts_per_process=20,
    history_long=10_000,
    history_short=10,
    history_samples=30,
    history_accounts=2,
    rebuild_sizes=(30_000, 90_000),
    peer_projection_events=2_000,
    visibility_seconds=3.0,
    http_requests=100,
    limit_seconds=1.0,
    limit_copy_rows=30_000,
    phase_warmup=0.15,
    phase_seconds=0.4,
)
FULL = Profile(
    "full",
    warmup_seconds=1.0,
    write_seconds=5.0,
    write_rounds=3,
    accounts_per_process=50,
    history_long=10_000,
    history_short=10,
    history_samples=200,
    history_accounts=8,
    rebuild_sizes=(200_000, 1_000_000),
    peer_projection_events=20_000,
    visibility_seconds=20.0,
    http_requests=1_000,
    limit_seconds=5.0,
    limit_copy_rows=500_000,
    phase_warmup=0.5,
    phase_seconds=2.0,
)


def profile_dict(profile: Profile) -> dict[str, Any]:
    return asdict(profile)


# --- where things are ----------------------------------------------------------------------------


def base_database_url() -> str:
    return os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/tally"


def database_url(name: str) -> str:
    """The server of DATABASE_URL (host, port, user, password kept), database `name`."""
    parts = urlsplit(base_database_url())
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def conninfo(name: str) -> dict[str, Any]:
    """The same, as psycopg connection keywords (for the peer, which takes them one by one)."""
    from psycopg.conninfo import conninfo_to_dict

    return conninfo_to_dict(database_url(name))


def redis_url() -> str:
    """The Redis of REDIS_URL, database REDIS_DB (9): nudges and Celery messages of the harness only."""
    parts = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    return urlunsplit((parts.scheme, parts.netloc, f"/{REDIS_DB}", parts.query, parts.fragment))


def bench_environment() -> dict[str, str]:
    """Settings for every process of the run: production-like (DEBUG off, so no SQL is logged per
    query), plain HTTP on loopback, and quiet logs."""
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "bench-only-key-not-a-secret-0123456789abcdefghijklmnopqrstuvwxyz",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "TALLY_LOG_LEVEL": "WARNING",
        "REDIS_URL": redis_url(),
        "PYTHONUNBUFFERED": "1",
    }


# --- databases -----------------------------------------------------------------------------------


def admin_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def recreate_database(name: str, *, template: str | None = None) -> None:
    """Drop (ending its sessions) and create `name`. Dropping is how the harness empties an event
    table: ledger_event refuses DELETE and TRUNCATE by design."""
    if name not in ALL_DBS:
        raise ValueError(f"{name} is not one of the harness's databases")
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))


def drop_database(name: str) -> None:
    if name not in ALL_DBS:
        raise ValueError(f"{name} is not one of the harness's databases")
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(name: str) -> None:
    """Point this process (and the processes it starts) at database `name`. Call before Django is
    set up: settings read DATABASE_URL once."""
    os.environ["DATABASE_URL"] = database_url(name)


def setup_django(name: str) -> None:
    import django
    from django.conf import settings

    if settings.configured:
        current = settings.DATABASES["default"]["NAME"]
        if current != name:
            raise RuntimeError(f"Django is already set up on {current}, not {name}")
        return
    use_database(name)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    django.setup()


def manage(*args: str, database: str, check: bool = True) -> None:
    """Run a management command in a child process, on `database`."""
    import subprocess

    env = {**os.environ, "DATABASE_URL": database_url(database)}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=check, stdout=subprocess.DEVNULL)


class Reader[T]:
    """A poller's query: read(conn) on a connection of its own, asked by calling the reader, until
    close() (a commit's visibility is polled apart from the connections that write)."""

    def __init__(self, conn: psycopg.Connection, read: Callable[[psycopg.Connection], T]) -> None:
        self.conn, self.read = conn, read

    def __call__(self) -> T:
        return self.read(self.conn)

    def close(self) -> None:
        self.conn.close()


# --- processes that start together ---------------------------------------------------------------


def _child(fn: Callable[..., Any], job: Any, barrier: Any, results: Any, index: int) -> None:
    try:
        results.put((index, fn(job, barrier.wait), None))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        barrier.abort()
        results.put((index, None, traceback.format_exc()))


def run_together(
    fn: Callable[[Any, Callable[[], Any]], Any], jobs: Sequence[Any], *, timeout: float = 600
) -> list[Any]:
    """Run fn(job, ready) in one fresh process per job and return their results in job order.
    Each process does its set-up (Django, connections, accounts), then calls ready(): a barrier,
    so the timed parts of all processes start at the same instant."""
    ctx = mp.get_context("spawn")  # fresh interpreters: no connection or thread state is inherited
    barrier = ctx.Barrier(len(jobs))
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_child, args=(fn, job, barrier, results, i), daemon=True) for i, job in enumerate(jobs)
    ]
    for p in processes:
        p.start()
    collected: dict[int, Any] = {}
    errors: list[str] = []  # the failed processes' tracebacks
    deadline = time.monotonic() + timeout
    try:
        while len(collected) + len(errors) < len(jobs):
            index, value, error = results.get(timeout=max(deadline - time.monotonic(), 0.1))
            if error:
                errors.append(error)
            else:
                collected[index] = value
    finally:
        for p in processes:
            p.join(10)
            if p.is_alive():
                p.terminate()
    if errors:
        raise RuntimeError("a benchmark process failed:\n" + errors[0])
    return [collected[i] for i in range(len(jobs))]


# --- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median_of_rounds(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One figure from several rounds: the median of each number (the middle round's, for three),
    so that a burst of load from elsewhere on the machine moves it as little as possible."""
    from statistics import median

    def merge(values: list[Any]) -> Any:
        if all(isinstance(v, dict) for v in values):
            return {k: merge([v[k] for v in values]) for k in values[0]}
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return median(values)
        return values[0]

    merged = merge(list(rounds))
    merged["rounds"] = [{"per_second": r.get("per_second"), "p50": r.get("latency_ms", {}).get("p50")} for r in rounds]
    return merged


def pooled(rounds: Sequence[dict[str, Any]], *, shares: Sequence[tuple[str, str, str]] = ()) -> dict[str, Any]:
    """One figure from several rounds, each {"count", "seconds", "latencies" (seconds)}: the rate over
    all their counted time, percentiles over all their samples (not the median of each round's), and
    the rounds' own rates, whose spread says how steady the machine was. `shares` are
    (name, numerator, denominator) keys summed over the rounds (e.g. the same-worker share)."""
    count = sum(r["count"] for r in rounds)
    seconds = sum(r["seconds"] for r in rounds)
    rates = [r["count"] / r["seconds"] for r in rounds if r["seconds"]]
    out: dict[str, Any] = {
        "commands": count,
        "seconds": seconds,
        "per_second": count / seconds if seconds else math.nan,
        "latency_ms": latency_summary([x for r in rounds for x in r["latencies"]]),
        "rounds": rates,
        "spread": [min(rates), max(rates)] if rates else None,
    }
    for name, numerator, denominator in shares:
        below = sum(r.get(denominator) or 0 for r in rounds)
        out[name] = sum(r.get(numerator) or 0 for r in rounds) / below if below else None
    return out


def spread_note(figure: dict[str, Any] | None) -> str:
    """'rounds 512-561/s' for a pooled figure (empty when it has fewer than two rounds)."""
    if not figure or not figure.get("spread") or len(figure.get("rounds") or ()) < 2:
        return ""
    low, high = figure["spread"]
    return f"rounds {low:,.0f}-{high:,.0f}/s"


def analyze(database: str) -> None:
    """ANALYZE every table of `database`: the same maintenance for each side, at the same moments."""
    import psycopg

    with psycopg.connect(database_url(database), autocommit=True) as conn:
        conn.execute("ANALYZE")


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Milliseconds: count, p50, p95, p99, max, mean."""
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50": percentile(ms, 50),
        "p95": percentile(ms, 95),
        "p99": percentile(ms, 99),
        "max": max(ms) if ms else math.nan,
        "mean": sum(ms) / len(ms) if ms else math.nan,
    }


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def writer_throughput(
    writer: Callable[[Any, Callable[[], Any]], Any], kind: str, processes: int, profile: Any
) -> dict[str, Any]:
    """Run `processes` writers together (Tally's or the peer's) and sum up what they did."""
    job = {
        "kind": kind,
        "accounts": profile.accounts_per_process,
        "warmup": profile.warmup_seconds,
        "seconds": profile.write_seconds,
    }
    results = run_together(writer, [job] * processes)
    count = sum(r["count"] for r in results)
    opened = sum(r["opened"]["count"] for r in results)
    open_seconds = sum(r["opened"]["seconds"] for r in results)
    return {
        "kind": kind,
        "processes": processes,
        "commands": count,
        "seconds": profile.write_seconds,
        "per_second": count / profile.write_seconds,
        "latency_ms": latency_summary([x for r in results for x in r["latencies"]]),
        "open_per_second": opened / open_seconds,
    }
