"""Commit -> read model visible, with the same projection work on both sides.

Tally does it the way the app really does: after each command commits, the write side nudges
through Redis; a real Celery worker (started here, as the Procfile starts it, with beat sweeping
every 2 s) catches its projectors up. The peer keeps the same three read models current in a
process of its own (bench.peer_projection): its batched projector woken by the log's LISTEN/NOTIFY
(the peer column) and, second, the library's ProjectionRunner (one event per transaction).

Commands run open-loop at a fixed rate (100 per second: a command is issued on schedule even when
the previous one was late, so a stall is measured, not hidden), in rounds that alternate the
sides, each database ANALYZEd before its side's rounds. A poller with its own connection reads the
checkpoints every 2 ms; a Tally command is visible once the checkpoint of every registered
projector has reached its (transaction id, position), a peer command once the tracking record has
reached its notification id. Its latency is the time from the commit returning to the first poll
that saw it (at most one poll interval pessimistic). Percentiles are over every sample of every
round; a command never seen within the drain time fails the figure. Tally's hops (bench.hops) are
recorded on the way.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from bench import hops
from bench.common import (
    PEER_DB,
    TALLY_DB,
    Profile,
    Reader,
    analyze,
    database_url,
    latency_summary,
    redis_url,
    say,
    setup_django,
)
from scripts.processes import CeleryProcess, wait_until

RATE = 100.0  # commands per second, as the goal names
POLL_SECONDS = 0.002
DRAIN_SECONDS = 10.0  # after the last command, how long a command may still become visible


def paced_visibility(
    command: Callable[[int], Any], seen: Callable[[], Any], *, rate: float, seconds: float
) -> dict[str, Any]:
    """Issue command(i) at `rate` per second for `seconds`; command returns the key of what it
    committed (keys rise with commit order), seen() the highest key the read model shows."""
    pending: deque[tuple[Any, float]] = deque()
    lock = threading.Lock()
    latencies: list[float] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            observed_at = time.perf_counter()  # the read's snapshot is taken after this instant
            key = seen()
            with lock:
                while pending and pending[0][0] <= key:
                    latencies.append(observed_at - pending.popleft()[1])
            time.sleep(POLL_SECONDS)

    poller = threading.Thread(target=poll, name="bench-visibility-poller", daemon=True)
    poller.start()
    total = int(rate * seconds)
    started = time.perf_counter()
    late = 0
    for i in range(total):
        due = started + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        elif wait < -0.5 / rate:
            late += 1
        key = command(i)
        committed = time.perf_counter()
        with lock:
            pending.append((key, committed))
    issued_for = time.perf_counter() - started
    deadline = time.perf_counter() + DRAIN_SECONDS
    while time.perf_counter() < deadline:
        with lock:
            if not pending:
                break
        time.sleep(0.01)
    stop.set()
    poller.join(5)
    return {
        "commands": total,
        "rate_target": rate,
        "rate_achieved": total / issued_for,
        "late_commands": late,
        "not_visible_after_drain": len(pending),
        "latency_ms": latency_summary(latencies),
        "samples": latencies,  # seconds; merged over rounds by the caller, not written out
    }


# --- Celery, as the Procfile runs it --------------------------------------------------------------------


def celery(
    kind: str, database: str, log_dir: Path, extra_env: dict[str, str], extra: tuple[str, ...] = ()
) -> CeleryProcess:
    """`celery -A config worker|beat` on a database of the harness and the harness's Redis
    database; the worker with the Procfile's two pool processes."""
    env = {**os.environ, "DATABASE_URL": database_url(database), "REDIS_URL": redis_url(), **extra_env}
    return CeleryProcess(kind, env=env, log=log_dir / f"celery-{kind}.log", concurrency=2, extra=extra)


def flush_bench_redis() -> None:
    """Empty Redis database 9 (the harness's own): no stale nudge flag or queued task from an
    earlier run may delay or speed up this one."""
    import redis

    redis.Redis.from_url(redis_url()).flushdb()


def checkpoint_reader(database: str, names: list[str]) -> Reader[tuple[int, int]]:
    """The lowest (tx_id, position) over every projector registered (`names`: read models added
    later count as soon as they are registered; one with no status row yet has seen nothing)."""
    import psycopg

    sql = "SELECT tx_id, position FROM projections_projectionstatus WHERE name = ANY(%s)"

    def read(conn: psycopg.Connection) -> tuple[int, int]:
        rows = conn.execute(sql, [names], prepare=True).fetchall()
        return min((int(t), int(p)) for t, p in rows) if len(rows) == len(names) else (0, 0)

    return Reader(psycopg.connect(database_url(database), autocommit=True), read)


class TallySide:
    """Tally's write side in this process, a Celery worker and beat as the Procfile runs them (the
    worker with bench.hops included, recording its hops), and 50 accounts opened and caught up."""

    def __enter__(self) -> TallySide:
        setup_django(TALLY_DB)
        from projections import runner
        from projections.projectors import get_projectors

        runner.catch_up()  # what the write benchmarks left: not part of this figure
        analyze(TALLY_DB)
        flush_bench_redis()
        self.log_dir = Path(tempfile.mkdtemp(prefix="bench-celery-"))
        self.hops_file = str(self.log_dir / "hops.tsv")
        os.environ["BENCH_HOPS_FILE"] = self.hops_file  # this process records commits and publishes
        hops.watch_publishes()
        worker_env = {"BENCH_HOPS_FILE": self.hops_file, "BENCH_HOPS_WORKER": "1"}
        self.worker = celery("worker", TALLY_DB, self.log_dir, worker_env, ("--include", "bench.hops"))
        self.beat = celery("beat", TALLY_DB, self.log_dir, {})
        self.projectors = [p.name for p in get_projectors()]
        self.read = checkpoint_reader(TALLY_DB, self.projectors)
        self.read_inbox = checkpoint_reader(TALLY_DB, ["approvals"])
        try:  # a set-up that fails stops what it started (__exit__ runs only after __enter__ returns)
            self._start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _start(self) -> None:
        from ledger.domain.commands import Deposit, OpenAccount
        from ledger.execute import execute

        self.worker.start()
        self.beat.start()
        self.accounts: list[UUID] = [uuid4() for _ in range(50)]
        # Each opened with funds for the requests for approval of the inbox figure: each request holds
        # 10,000.00 until decided (a full run sends 2,000 over the 50 accounts).
        for account in self.accounts:
            execute(
                OpenAccount(account_id=account, owner="Ada Lovelace", currency="EUR"), actor="teller", source="bench"
            )
            funded = execute(Deposit(account_id=account, amount=10**9, currency="EUR"), actor="teller", source="bench")
        last = funded.checkpoint
        wait_until(
            lambda: self.read() >= (last.tx_id, last.position),
            timeout=60,
            interval=0.01,
            message=f"the Celery worker to catch up (logs: {self.log_dir})",
        )
        self.commits: list[tuple[tuple[int, int], float]] = []  # (key, wall time) for the hops

    def command(self, i: int) -> tuple[int, int]:
        from ledger.domain.commands import Deposit
        from ledger.execute import execute

        result = execute(
            Deposit(account_id=self.accounts[i % len(self.accounts)], amount=100, currency="EUR"),
            actor="teller",
            source="bench",
        )
        key = (result.tx_id, result.position)
        self.commits.append((key, time.time()))
        return key

    def request(self, i: int) -> tuple[int, int]:
        """A teller's withdrawal at the approval threshold: recorded as a request for the inbox."""
        from ledger.approvals import route, threshold
        from ledger.domain.commands import Withdraw
        from ledger.execute import execute

        withdrawal = Withdraw(account_id=self.accounts[i % len(self.accounts)], amount=threshold("EUR"), currency="EUR")
        result = execute(route(withdrawal, actor="teller"), actor="teller", source="bench")
        return (result.tx_id, result.position)

    def hops(self) -> dict[str, Any]:
        return hops.breakdown(self.hops_file, self.commits)

    def __exit__(self, *exc: object) -> None:
        self.read.close()
        self.read_inbox.close()
        self.beat.stop()
        self.worker.stop()


def rounds_of(profile: Profile) -> int:
    return 2 if profile.name == "quick" else 3


def visibility(profile: Profile, rate: float, peer: bool) -> dict[str, Any]:
    """Rounds alternating Tally and the peer (its batched projector, then the library's runner):
    each side issues `rate` deposits per second for visibility_seconds / rounds per round.
    Percentiles are over every sample of every round; each round's p50 and p99 are kept too."""
    from bench import peer_projection

    rounds = rounds_of(profile)
    seconds = profile.visibility_seconds / rounds
    kinds = ["tally", "tally_inbox", *(["peer", "peer_runner"] if peer else [])]
    per_round: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
    with TallySide() as tally:
        for r in range(rounds):
            for kind in kinds:
                say(f"  round {r + 1}/{rounds}: {kind}, {int(rate * seconds)} deposits at {rate:.0f}/s")
                if kind == "tally":
                    per_round[kind].append(paced_visibility(tally.command, tally.read, rate=rate, seconds=seconds))
                    continue
                if kind == "tally_inbox":  # requests for approval, seen in the approvals read model
                    per_round[kind].append(
                        paced_visibility(tally.request, tally.read_inbox, rate=rate, seconds=seconds)
                    )
                    continue
                analyze(PEER_DB)
                with peer_projection.PeerSide("batched" if kind == "peer" else "runner") as side:
                    per_round[kind].append(paced_visibility(side.command, side.read, rate=rate, seconds=seconds))
        hop_breakdown = tally.hops()
        say(f"  Celery logs and hop records in {tally.log_dir}")
    merged = {kind: merge_rounds(results) for kind, results in per_round.items()}
    merged["tally"]["hops"] = hop_breakdown
    merged["tally"]["projectors"] = tally.projectors
    return merged


def merge_rounds(results: list[dict[str, Any]]) -> dict[str, Any]:
    samples = [x for r in results for x in r.pop("samples")]
    commands = sum(r["commands"] for r in results)
    return {
        "commands": commands,
        "rate_target": results[0]["rate_target"],
        "rate_achieved": min(r["rate_achieved"] for r in results),
        "late_commands": sum(r["late_commands"] for r in results),
        "not_visible_after_drain": sum(r["not_visible_after_drain"] for r in results),
        "latency_ms": latency_summary(samples),
        "rounds": [{"p50": r["latency_ms"]["p50"], "p99": r["latency_ms"]["p99"]} for r in results],
    }


# --- the family, and its rows of the table ----------------------------------------------------------


def measure(run: Any) -> None:
    run.step(
        "latency",
        None,
        "commit -> read model visible, 100 commands/s: Tally (Redis + Celery) and the peer, the same three "
        "projections, rounds alternating",
        visibility,
        run.profile,
        RATE,
        run.peer,
    )


def _within(goal: float, factor: float, ratio: float | None) -> Callable[[float], bool]:
    """The goal of a percentile: at most `goal` ms, and at most `factor` times the peer's."""
    return lambda x: x <= goal and (ratio is None or ratio <= factor)


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import Row, check, get

    out = []
    failed = [
        f"{side} {n} of {get(results, 'latency', side, 'commands')} never visible"
        for side in ("tally", "peer", "peer_runner")
        if (n := get(results, "latency", side, "not_visible_after_drain"))
    ]
    for p, goal, factor in (("p50", 50, 1.0), ("p99", 300, 2.0)):
        row = Row(
            f"visibility_{p}",
            f"Commit -> read model visible {p}, 100 commands/s",
            "ms",
            get(results, "latency", "tally", "latency_ms", p),
            get(results, "latency", "peer", "latency_ms", p),
            goal=f"<= {goal} ms, <= {factor:g}x peer",
            peer_default=get(results, "latency", "peer_runner", "latency_ms", p),
        )
        row.met = check(row.tally, _within(goal, factor, row.ratio))
        notes = []
        if failed:
            row.met = False
            notes.append("FAILED: " + ", ".join(failed))
        rounds = {s: get(results, "latency", s, "rounds") for s in ("tally", "peer", "peer_runner")}
        spread = "; ".join(f"{s} " + ", ".join(f"{r[p]:.1f}" for r in rs) + " ms" for s, rs in rounds.items() if rs)
        if spread:
            notes.append(f"{p} of each round: {spread}")
        if p == "p50" and get(results, "latency", "tally"):
            notes.insert(
                0,
                "percentiles over every sample of every round; Tally: Redis + Celery, visible once every registered "
                f"projector has it ({', '.join(get(results, 'latency', 'tally', 'projectors') or [])}); peer: "
                "the same three read models (summary, statement, daily), its batched projector on LISTEN/NOTIFY",
            )
            notes.append(
                "Peer, defaults: the library's ProjectionRunner (its LISTEN/NOTIFY subscription, one event per "
                "transaction, the same three read models)"
            )
            rates = ", ".join(
                f"{s} {get(results, 'latency', s, 'rate_achieved'):.0f}/s"
                for s in ("tally", "peer", "peer_runner")
                if get(results, "latency", s, "rate_achieved")
            )
            notes.append(f"slowest round's achieved command rate: {rates}")
        row.note = "; ".join(notes)
        out.append(row)
    inbox = get(results, "latency", "tally_inbox")
    if inbox:
        for p in ("p50", "p99"):
            row = Row(
                f"visibility_inbox_{p}",
                f"Commit -> approvals inbox visible {p}, 100 requests/s (no goal)",
                "ms",
                inbox["latency_ms"][p],
            )
            row.note = (
                "teller withdrawals at the approval threshold, recorded as requests (request and hold in one "
                "append), visible once the approvals projector has them; the same worker and rounds as the deposits"
                + (
                    f"; FAILED: {inbox['not_visible_after_drain']} never visible"
                    if inbox["not_visible_after_drain"]
                    else ""
                )
            )
            out.append(row)
    hop = get(results, "latency", "tally", "hops")
    if hop and (hop.get("median_ms") or hop.get("task_median_ms")):
        per_task = "; ".join(f"{name} {ms:.1f}" for name, ms in hop["task_median_ms"].items())
        per_command = "; ".join(f"{name} {ms:.1f}" for name, ms in hop["median_ms"].items())
        out.append(
            Row(
                "visibility_hops",
                "Commit -> visible, Tally's hops (median ms)",
                "ms",
                note=f"per catch-up task its nudge published ({hop['tasks']}): {per_task} (the first span waits "
                f"for locks the other pool process holds); per command ({hop['commands']}): {per_command}; "
                f"median span {hop['events_per_span']} events",
            )
        )
    return out
