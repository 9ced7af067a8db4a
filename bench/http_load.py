"""The HTTP load client: a closed loop that finds a page's capacity, and an open loop that sends
requests on a fixed schedule and times each from the moment it was due.

Why an open loop: a closed-loop client waits for each answer before it asks again, so when the
server stalls the client stops asking, and the stall shows up as a few slow samples instead of
every request that would have been sent meanwhile (coordinated omission). Here request i is due
at start + i / rate whatever happened before it; a pool of threads sends each one at its time, and
its latency runs from when it was due to its last byte. A request that left late (every thread
was still waiting on the server) carries its wait in its latency, and the send lag is reported.

Python threads keep up at the rates measured here (a few hundred requests/s): each request costs
the client a fraction of a millisecond of CPU, and the report carries the client's own CPU time
(getrusage of this process), the server's (gunicorn's processes) and the machine's, so a client
that was the bottleneck shows: its CPU near one core (one interpreter lock), or sends late while
the server had idle workers.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

from bench.common import latency_summary, percentile
from scripts.processes import HttpSession

Step = Callable[[HttpSession, int], bool]  # one request (or round trip); True when it did what it should
ClientFactory = Callable[[], HttpSession]

OPEN_LOOP_THREADS = 48  # far more than gunicorn's workers: a thread free is always there to send on time
REQUEST_TIMEOUT = 30.0


@dataclass
class _Cpu:
    """CPU seconds used so far by this process (the client), the server's processes and the machine."""

    client: float
    server: float
    machine_busy: float
    machine_total: float

    @staticmethod
    def now(server: psutil.Process | None) -> _Cpu:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        machine = psutil.cpu_times()
        total = sum(machine)
        return _Cpu(usage.ru_utime + usage.ru_stime, _tree_cpu(server), total - machine.idle - machine.iowait, total)

    def since(self, before: _Cpu, wall: float) -> dict[str, float]:
        """Each as a share of one core (1.0 = one core busy all along); the machine's of all cores."""
        span = self.machine_total - before.machine_total
        return {
            "client_core": (self.client - before.client) / wall,
            "server_core": (self.server - before.server) / wall,
            "machine_busy": (self.machine_busy - before.machine_busy) / span if span else float("nan"),
        }


def _tree_cpu(root: psutil.Process | None) -> float:
    """user + system seconds of `root` and its children (gunicorn's master and workers). A worker
    that exited meanwhile loses its seconds: gunicorn's workers live as long as the run."""
    if root is None:
        return 0.0
    total = 0.0
    try:
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _safe(step: Step, client: HttpSession, i: int) -> bool:
    try:
        return step(client, i)
    except Exception:  # noqa: BLE001 - a failed request is counted, not fatal
        return False


def capacity(
    make_client: ClientFactory,
    step: Step,
    *,
    clients: int,
    warmup: float,
    seconds: float,
    server: psutil.Process | None = None,
) -> dict[str, Any]:
    """Requests per second the server sustains: `clients` threads each send a request as soon as
    their previous one is answered. Only requests that finish inside the timed window count (the
    warm-up's, and those still running at its end, do not)."""
    lock = threading.Lock()
    done: list[float] = []  # latencies of the requests that finished in the window
    failures = [0]
    start = time.perf_counter()
    window_start, window_end = start + warmup, start + warmup + seconds
    cpu_at: dict[str, _Cpu] = {}

    def loop(n: int) -> None:
        client = make_client()
        i = n * 1_000_000
        while True:
            t0 = time.perf_counter()
            if t0 >= window_end:
                return
            ok = _safe(step, client, i)
            t1 = time.perf_counter()
            i += 1
            if window_start <= t1 <= window_end:
                with lock:
                    done.append(t1 - t0)
                    failures[0] += not ok

    def sample_cpu() -> None:  # the CPU of the timed window only, not the warm-up's
        time.sleep(max(window_start - time.perf_counter(), 0))
        cpu_at["start"] = _Cpu.now(server)
        time.sleep(max(window_end - time.perf_counter(), 0))
        cpu_at["end"] = _Cpu.now(server)

    threads = [threading.Thread(target=loop, args=(n,), daemon=True) for n in range(clients)]
    threads.append(threading.Thread(target=sample_cpu, daemon=True))
    for t in threads:
        t.start()
    for t in threads:
        t.join(warmup + seconds + REQUEST_TIMEOUT + 5)
    return {
        "per_second": len(done) / seconds,
        "clients": clients,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "requests": len(done),
        "errors": failures[0],
        "latency_ms": latency_summary(done),
        "cpu": cpu_at["end"].since(cpu_at["start"], seconds) if "end" in cpu_at else {},
    }


def open_loop(
    make_client: ClientFactory,
    step: Step,
    *,
    rate: float,
    seconds: float,
    warmup: float,
    server: psutil.Process | None = None,
    threads: int = OPEN_LOOP_THREADS,
) -> dict[str, Any]:
    """Send request i at start + i / rate (`rate` per second for warm-up + `seconds`); latency from
    when each was due to when it was answered. The warm-up's requests are sent on the same
    schedule, not counted. Every timed request is waited for (up to its timeout) and counted."""
    if rate <= 0:
        raise ValueError("the rate must be positive")
    skipped = int(rate * warmup)
    total = skipped + max(int(rate * seconds), 1)
    lock = threading.Lock()
    cursor = [0]
    latencies: list[float] = []
    lags: list[float] = []
    failures = [0]
    start = time.perf_counter() + 0.05  # every thread is waiting before the first is due

    def loop() -> None:
        client = make_client()
        while True:
            with lock:
                i = cursor[0]
                if i >= total:
                    return
                cursor[0] += 1
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent = time.perf_counter()
            ok = _safe(step, client, i)
            answered = time.perf_counter()
            if i >= skipped:
                with lock:
                    latencies.append(answered - due)
                    lags.append(max(sent - due, 0.0))
                    failures[0] += not ok

    pool = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    timed_from = start + skipped / rate
    time.sleep(max(timed_from - time.perf_counter(), 0))
    before = _Cpu.now(server)
    for t in pool:
        t.join(warmup + seconds + REQUEST_TIMEOUT + 5)
    wall = time.perf_counter() - timed_from
    after = _Cpu.now(server)
    timed = total - skipped
    return {
        "rate": rate,
        "seconds": seconds,
        "requests": timed,
        "answered": len(latencies),
        "errors": failures[0] + (timed - len(latencies)),  # a request never answered is a failure too
        "achieved_per_second": len(latencies) / wall if wall > 0 else float("nan"),
        "latency_ms": latency_summary(latencies),
        "send_lag_ms": {"p50": percentile(lags, 50) * 1000, "p99": percentile(lags, 99) * 1000},
        "cpu": after.since(before, wall),
        "latencies_ms": [x * 1000 for x in latencies],  # kept so rounds are pooled, then dropped
    }


def pooled(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Several rounds of one open-loop figure as one: percentiles over all samples of all rounds,
    the rounds' own p95s (their spread) beside them, and the busiest round's CPU and send lag."""
    samples = [x / 1000 for r in rounds for x in r["latencies_ms"]]
    first = rounds[0]
    return {
        "rate": first["rate"],
        "rounds": len(rounds),
        "requests": sum(r["requests"] for r in rounds),
        "errors": sum(r["errors"] for r in rounds),
        "latency_ms": latency_summary(samples),
        "round_p95_ms": [r["latency_ms"]["p95"] for r in rounds],
        "achieved_per_second": min(r["achieved_per_second"] for r in rounds),
        "send_lag_p99_ms": max(r["send_lag_ms"]["p99"] for r in rounds),
        "cpu": {k: max(r["cpu"].get(k, float("nan")) for r in rounds) for k in first["cpu"]},
    }


def gunicorn_root(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def cores() -> int:
    return os.cpu_count() or 1
