"""Tally's write side against the peer's, the real path without HTTP: execute(command) = load
snapshot and events (unless the process's state cache holds the accounts), decide, append events +
command record + snapshot in one statement, commit, then the after-commit nudge to Redis.

- Every command type (open, deposit, withdraw, transfer, freeze, unfreeze, close) with a realistic
  cache: commands spread over W web-like processes the way gunicorn spreads requests
  (bench/routing.py), each process with its own state cache, from 1 submitter (4 for deposits too);
  the peer behind exactly the same routing, with its aggregate cache and in its defaults.
- Deposits always cached: each process executing directly on accounts of its own, 1 and 4
  processes (the figure the harness took before), labelled as such.
- The routing alone: a request that does nothing, through the same processes.
- The cost of a deposit into an account with 10,000 prior events against one with 10.

Each round runs every figure of every side back to back (the ceilings of bench/limit.py too), the
sides' order swapped from round to round, so that a change in the machine's load hits all alike;
a figure is the rate over all its rounds' counted time and the percentiles of all their samples.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from statistics import median
from typing import Any
from uuid import UUID, uuid4

from bench import eventgen
from bench.common import (
    PEER_DB,
    TALLY_DB,
    Profile,
    analyze,
    latency_summary,
    pooled,
    setup_django,
    spread_note,
)

CURRENCY = "EUR"
# The working accounts may go this far below zero, so that withdrawals and transfers never run out
# of money however long the run (well within MAX_AMOUNT, and below any approval threshold per
# command: amounts stay under 50 EUR).
OVERDRAFT = 10**10
SUBMITTERS = 4  # of the 4-submitter deposit figure; each has accounts of its own


def _timed_loop(job: dict[str, Any], ready: Callable[[], Any], step: Callable[[int], None]) -> dict[str, Any]:
    """Call step(i) for warm-up + seconds; count and time the calls that start after the warm-up."""
    latencies: list[float] = []
    ready()
    start = time.perf_counter()
    warm_until, stop_at = start + job["warmup"], start + job["warmup"] + job["seconds"]
    i = 0
    while True:
        t0 = time.perf_counter()
        step(i)
        t1 = time.perf_counter()
        i += 1
        if t1 >= stop_at:
            break
        if t0 >= warm_until:
            latencies.append(t1 - t0)
    return {"count": len(latencies), "seconds": job["seconds"], "latencies": latencies}


class Handler(ABC):
    """What a pool process of either side answers (bench/routing.py): the commands by name, on
    account ids as text, each answering the account it was given (a new one for "open"), and the
    always-cached loop on accounts of the process's own."""

    def __init__(self) -> None:
        self.own: list[str] = []

    def handle(self, op: str, args: tuple[Any, ...]) -> Any:
        if op == "noop":
            return None
        if op == "own":  # the always-cached loop's accounts, opened before its clock starts
            (n,) = args
            while len(self.own) < n:
                self.own.append(self.command("open", (0,)))
            return len(self.own)
        if op == "direct":
            start_at, warmup, seconds = args
            own, n = self.own, len(self.own)
            return _timed_loop(
                {"warmup": warmup, "seconds": seconds},
                lambda: time.sleep(max(start_at - time.time(), 0)),
                lambda i: self.command("deposit", (own[i % n], 1 + i % 5000)),
            )
        return self.command(op, args)

    @abstractmethod
    def command(self, op: str, args: tuple[Any, ...]) -> Any:
        """Execute the command `op` on this side (Tally or the peer) and answer its account."""


class TallyHandler(Handler):
    def __init__(self) -> None:
        super().__init__()
        setup_django(TALLY_DB)
        from ledger.domain import commands as c
        from ledger.execute import execute

        def run(command: Any, actor: str = "teller") -> None:
            execute(command, actor=actor, source="bench")

        def open_account(overdraft: int) -> str:
            account = uuid4()
            run(c.OpenAccount(account_id=account, owner="Ada Lovelace", currency=CURRENCY, overdraft_limit=overdraft))
            return str(account)

        self.ops: dict[str, Callable[..., Any]] = {
            "open": open_account,
            "deposit": lambda a, amount: run(c.Deposit(account_id=UUID(a), amount=amount, currency=CURRENCY)),
            "withdraw": lambda a, amount: run(c.Withdraw(account_id=UUID(a), amount=amount, currency=CURRENCY)),
            "transfer": lambda a, b, amount: run(
                c.Transfer(account_id=UUID(a), to_account_id=UUID(b), amount=amount, currency=CURRENCY)
            ),
            "freeze": lambda a: run(c.FreezeAccount(account_id=UUID(a), reason="bench"), "supervisor"),
            "unfreeze": lambda a: run(c.UnfreezeAccount(account_id=UUID(a)), "supervisor"),
            "close": lambda a: run(c.CloseAccount(account_id=UUID(a), reason="bench"), "supervisor"),
        }

    def command(self, op: str, args: tuple[Any, ...]) -> Any:
        answer = self.ops[op](*args)
        return answer if op == "open" else args[0]


# --- the figures through the routing ----------------------------------------------------------------


@dataclass
class Side:
    """One side of the comparison: its pool of web-like processes and what it has written so far."""

    family: str  # where its figures go in the results: write, peer, peer_defaults
    label: str
    database: str
    pool: Any
    working: list[list[str]] = field(default_factory=list)  # accounts per submitter, with an overdraft
    last_writer: dict[str, int] = field(default_factory=dict)  # account -> the worker that wrote it last
    opened: list[str] = field(default_factory=list)  # by this round's "open" figure
    frozen: list[str] = field(default_factory=list)  # by this round's "freeze" figure
    rounds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _cycle(accounts: list[str], request: Callable[[str, int], Any]) -> Iterator[Any]:
    for i in count():
        yield request(accounts[i % len(accounts)], i)


def _each(accounts: list[str], op: str) -> Iterator[Any]:
    from bench.routing import Request

    for a in accounts:
        yield Request(op, (a,), (a,))


def _sources(side: Side, figure: str) -> list[Any]:
    """The submitters' requests of a figure: one iterator per submitter."""
    from bench.routing import Request

    first = side.working[0]
    if figure == "open":
        return [iter(lambda: Request("open", (0,), opens=True), None)]
    if figure in ("deposit_1", "deposit_4"):
        slices = side.working[:1] if figure == "deposit_1" else side.working[:SUBMITTERS]
        return [_cycle(s, lambda a, i: Request("deposit", (a, 1 + i % 5000), (a,))) for s in slices]
    if figure == "withdraw":
        return [_cycle(first, lambda a, i: Request("withdraw", (a, 1 + i % 5000), (a,)))]
    if figure == "transfer":
        n = len(first)
        return [
            (
                Request(
                    "transfer", (first[i % n], first[(i + 1) % n], 100 + i % 500), (first[i % n], first[(i + 1) % n])
                )
                for i in count()
            )
        ]
    # Freeze, unfreeze and close can each happen once per account (per state): they take this
    # round's newly opened accounts (frozen ones for unfreeze), in order, until they run out.
    pool = {"freeze": side.opened, "unfreeze": side.frozen, "close": side.opened}[figure]
    if not pool:
        raise RuntimeError(f"no accounts to {figure}: the figure it needs did not run")
    return [_each(pool, figure)]


def routed(side: Side, figure: str, profile: Profile) -> dict[str, Any]:
    """One round of one figure through the side's pool."""
    from bench.routing import closed_loops

    # Opening and freezing go on a little after their window, uncounted, so that the figures taking
    # their accounts (freeze, close; unfreeze) do not run out before theirs ends.
    # (Unfreezing tends to be the quicker of the two, so freezing goes on for a whole window more.)
    window = profile.phase_warmup + profile.phase_seconds
    tail = {"open": window / 2, "freeze": window}.get(figure, 0.0)
    phase = closed_loops(
        side.pool,
        _sources(side, figure),
        warmup=profile.phase_warmup,
        seconds=profile.phase_seconds,
        last_writer=side.last_writer,
        tail=tail,
    )
    if figure == "open":
        side.opened = list(phase.answers)
    elif figure == "freeze":
        side.frozen = list(phase.answers)
    return {**phase.summary(), "latencies": phase.latencies, "same_worker": phase.same_worker, "known": phase.known}


def direct(side: Side, processes: int, profile: Profile) -> dict[str, Any]:
    """One round of the always-cached deposits: `processes` pool processes at once, each on its own
    accounts (opened beforehand), executing directly: no routing, every state in its cache."""
    indexes = list(range(processes))
    side.pool.on_processes(indexes, "own", lambda i: (profile.accounts_per_process,))
    start_at = time.time() + 0.2
    results = side.pool.on_processes(
        indexes, "direct", lambda i: (start_at, profile.phase_warmup, profile.phase_seconds)
    )
    return {
        "count": sum(r["count"] for r in results),
        "seconds": profile.phase_seconds,
        "latencies": [x for r in results for x in r["latencies"]],
    }


def noop(pool: Any, submitters: int, profile: Profile) -> dict[str, Any]:
    """The routing's own cost: a request that does nothing, through the same shared socket."""
    from bench.routing import Request, closed_loops

    sources = [iter(lambda: Request("noop", ()), None) for _ in range(submitters)]
    phase = closed_loops(pool, sources, warmup=profile.phase_warmup, seconds=profile.phase_seconds)
    return {**phase.summary(), "latencies": phase.latencies}


def open_working(side: Side, profile: Profile) -> dict[str, Any]:
    """The accounts the deposit, withdrawal and transfer figures write, opened through the routing
    (not timed), so which worker holds which of them is the routing's doing too."""
    from bench.routing import Request, closed_loops

    for _ in range(SUBMITTERS):
        requests = [Request("open", (OVERDRAFT,), opens=True) for _ in range(profile.accounts_per_process)]
        phase = closed_loops(side.pool, [requests], warmup=0, seconds=600, last_writer=side.last_writer)
        side.working.append(list(phase.answers))
    return {"accounts": sum(len(w) for w in side.working)}


ROUTED = ("open", "deposit_1", "deposit_4", "withdraw", "transfer", "freeze", "unfreeze", "close")
DIRECT = (("cached_deposit_1", 1), ("cached_deposit_4", 4))
FIGURE_LABELS = {
    "open": "open account, 1 submitter",
    "deposit_1": "deposit, 1 submitter",
    "deposit_4": f"deposit, {SUBMITTERS} submitters",
    "withdraw": "withdraw, 1 submitter",
    "transfer": "transfer, 1 submitter",
    "freeze": "freeze, 1 submitter",
    "unfreeze": "unfreeze, 1 submitter",
    "close": "close, 1 submitter",
    "cached_deposit_1": "deposit, always cached, 1 process",
    "cached_deposit_4": "deposit, always cached, 4 processes",
}


def _start(run: Any) -> tuple[list[Side], Any]:
    """Every side's pool, and the ceilings' clients, set up at once; then each side's working accounts."""
    from bench import limit
    from bench.routing import WORKERS, Pool

    wanted = []
    if "write" in run.families:
        wanted.append(("write", "Tally", TALLY_DB, Pool("bench.write:TallyHandler")))
    if run.peer:
        from bench.peer import create_tables

        create_tables()
        wanted.append(("peer", "peer", PEER_DB, Pool("bench.peer:PeerHandler", {"config": "cached"})))
        # Without a cache there is no "always cached" figure to take: the routed processes suffice.
        wanted.append(
            (
                "peer_defaults",
                "peer, defaults",
                PEER_DB,
                Pool("bench.peer:PeerHandler", {"config": "defaults"}, processes=WORKERS),
            )
        )
    ceilings = limit.ceiling_pool(run.profile) if "limit" in run.families else None
    for *_, pool in wanted:
        pool.launch()
    if ceilings is not None:
        ceilings.launch()
    sides = []
    for family, label, database, pool in wanted:
        if run.step(family, "pool", f"{label}: starting {pool.workers} web-like processes", pool.wait) is not None:
            run.results[family].pop("pool", None)
            side = Side(family, label, database, pool)
            if run.step(family, "working", f"{label}: opening the working accounts", open_working, side, run.profile):
                sides.append(side)
            else:
                pool.stop()
            run.results[family].pop("working", None)
    if ceilings is not None:
        if run.step("limit", "pool", "ceiling: starting the clients", limit.wait_ceiling_pool, ceilings) is None:
            ceilings.stop()
            ceilings = None
        run.results["limit"].pop("pool", None)
    return sides, ceilings


def _one(
    run: Any, family: str, key: str, label: str, rounds: list[dict[str, Any]], fn: Callable[..., Any], *args: Any
) -> None:
    """run.step for one round of one figure; the round kept apart (with its samples) until pooled."""
    done = run.step(family, f"{key}.round", label, fn, *args)
    run.results.setdefault(family, {}).pop(f"{key}.round", None)
    if done:
        rounds.append(done)


def measure(run: Any) -> None:
    from bench import limit

    p = run.profile
    sides, ceilings = _start(run)
    ceiling_rounds: dict[str, list[dict[str, Any]]] = {}
    routing_rounds: dict[str, list[dict[str, Any]]] = {"routing_1": [], "routing_4": []}
    try:
        for r in range(p.write_rounds):
            of = f"round {r + 1}/{p.write_rounds}"
            for database in {s.database for s in sides}:  # the same maintenance for every side
                analyze(database)
            if sides:
                for key, submitters in (("routing_1", 1), ("routing_4", SUBMITTERS)):
                    label = f"routing alone (a request that does nothing), {submitters} submitter(s), {of}"
                    _one(run, "routing", key, label, routing_rounds[key], noop, sides[0].pool, submitters, p)
            order = sides if r % 2 == 0 else sides[::-1]
            for figure in ROUTED:
                for side in order:
                    label = f"{side.label}: {FIGURE_LABELS[figure]}, realistic cache, {of}"
                    _one(run, side.family, figure, label, side.rounds.setdefault(figure, []), routed, side, figure, p)
            if ceilings is not None:  # right before the always-cached deposits read against them
                limit.measure_round(run, ceilings, ceiling_rounds, r)
            for figure, processes in DIRECT:
                for side in order:
                    if side.family == "peer_defaults":  # no cache: no always-cached figure to take
                        continue
                    label = f"{side.label}: {FIGURE_LABELS[figure]}, {of}"
                    _one(
                        run, side.family, figure, label, side.rounds.setdefault(figure, []), direct, side, processes, p
                    )
    finally:
        for side in sides:
            side.pool.stop()
        if ceilings is not None:
            ceilings.stop()
    shares = (("same_worker_share", "same_worker", "known"),)
    for side in sides:
        for figure, done in side.rounds.items():
            if done:
                run.results[side.family][figure] = {
                    **pooled(done, shares=shares),
                    "ran_out": any(d.get("ran_out") for d in done),
                }
                cpu = [d["client_cpu_share"] for d in done if d.get("client_cpu_share") is not None]
                if cpu:
                    run.results[side.family][figure]["client_cpu_share"] = sum(cpu) / len(cpu)
    for key, done in routing_rounds.items():
        if done:
            run.results.setdefault("routing", {})[key] = pooled(done)
            run.results["routing"]["pool"] = sides[0].label
    if ceiling_rounds:
        limit.finish(run, ceiling_rounds)
    if run.peer:
        from bench.peer import describe

        for config, family in (("cached", "peer"), ("defaults", "peer_defaults")):
            run.results.setdefault(family, {})["config"] = describe(config)
    label = f"deposit cost, {p.history_long:,} vs {p.history_short} prior events"
    if "write" in run.families:
        run.step("write", "history", f"Tally: {label}", history_cost, p)
    if run.peer:
        from bench import peer

        run.step("peer", "history", f"peer, defaults: {label}", peer.history_cost, p)


# --- the cost of a long history --------------------------------------------------------------------


def _load_stream(conn, events: int, seed: int) -> tuple[str, int, int]:
    """Write one account's history with COPY, plus the snapshot execute() would have taken."""
    account_id = str(uuid4())
    gen, batch = eventgen.long_stream(account_id, events, seed=seed)
    eventgen.load(conn, batch)
    eventgen.store_snapshots(conn, gen.snapshot_rows())
    account = gen.accounts[0]
    return account_id, account.version, account.balance


def history_cost(profile: Profile) -> dict[str, Any]:
    """Deposits into accounts with `history_long` prior events against accounts with
    `history_short`, interleaved (long, short, short, long, ...) so that noise hits both alike.
    The figure is the ratio of the median deposit times, each deposit made as if by a process
    that has not written the account before (its cached state forgotten: the snapshot and the
    events after it are loaded). The same ratio with the cached state is noted beside it."""
    import psycopg

    from bench.common import database_url

    setup_django(TALLY_DB)
    from django.db import connection

    from ledger.domain.commands import Deposit
    from ledger.execute import execute, known_states, load_account

    with psycopg.connect(database_url(TALLY_DB), autocommit=True) as conn:
        longs = [_load_stream(conn, profile.history_long, seed=100 + i) for i in range(profile.history_accounts)]
        shorts = [_load_stream(conn, profile.history_short, seed=200 + i) for i in range(profile.history_accounts)]
    analyze(TALLY_DB)  # as the peer's tables after its histories (bench.peer.history_cost)
    # The generated histories fold to the state they were generated with (valid per the domain).
    for account_id, version, balance in longs + shorts:
        state = load_account(UUID(account_id))
        if (state.version, state.balance) != (version, balance):
            raise RuntimeError(f"generated history of {account_id} folds to {state}, not v{version} {balance}")

    def deposit(account_id: str, cached: bool = False) -> float:
        if not cached:
            known_states.forget([UUID(account_id)])
        t0 = time.perf_counter()
        execute(Deposit(account_id=UUID(account_id), amount=100, currency=CURRENCY), actor="teller", source="bench")
        return time.perf_counter() - t0

    for account_id, *_ in longs + shorts:  # warm-up: one deposit each, not counted
        deposit(account_id)
    times: dict[tuple[str, bool], list[float]] = {
        (kind, cached): [] for kind in ("long", "short") for cached in (False, True)
    }
    for i in range(profile.history_samples):
        j = i % profile.history_accounts
        for cached in (False, True):
            order = [("long", longs), ("short", shorts)]
            for kind, accounts in order if i % 2 else order[::-1]:
                times[kind, cached].append(deposit(accounts[j][0], cached))
    connection.close()
    return {
        "long_events": profile.history_long,
        "short_events": profile.history_short,
        "accounts_each": profile.history_accounts,
        "long_ms": latency_summary(times["long", False]),
        "short_ms": latency_summary(times["short", False]),
        "ratio": median(times["long", False]) / median(times["short", False]),
        "cached_long_ms": latency_summary(times["long", True]),
        "cached_short_ms": latency_summary(times["short", True]),
        "cached_ratio": median(times["long", True]) / median(times["short", True]),
    }


# --- the rows of the table -------------------------------------------------------------------------


def _notes(r: dict[str, Any], key: str) -> str:
    """What a write figure's row says beside its numbers: the same-worker share, the rounds' spread,
    the submitters' CPU, for Tally and the peer."""
    from bench.report import get

    parts = []
    for family, who in (("write", "Tally"), ("peer", "peer")):
        figure = get(r, family, key)
        if not figure:
            continue
        bits = []
        latency = figure.get("latency_ms") or {}
        if latency.get("p50") is not None:
            bits.append(f"p50 {latency['p50']:.2f} ms, p99 {latency['p99']:.2f} ms")
        if figure.get("same_worker_share") is not None:
            bits.append(f"{figure['same_worker_share']:.0%} served by the process that wrote the account last")
        if spread_note(figure):
            bits.append(spread_note(figure))
        if figure.get("client_cpu_share") is not None:
            bits.append(f"submitters' CPU {figure['client_cpu_share']:.0%} of a core")
        if figure.get("ran_out"):
            bits.append("ran out of accounts before the window ended (shorter window)")
        parts.append(f"{who}: " + ", ".join(bits))
    return "; ".join(parts)


def rows(results: dict[str, Any]) -> list[Any]:
    from bench.report import Row, check, get

    r = results
    out: list[Row] = []

    def throughput(key: str, figure: str, goal: float | None, ceiling: str | None = None) -> Row:
        note = _notes(r, key)
        if ceiling and get(r, "limit", ceiling):
            clients = ceiling.rsplit("_", 1)[1]
            note = f"Ceiling: Tally's append statement from plain psycopg, {clients} client(s); " + note
        row = Row(
            key,
            figure,
            "/s",
            get(r, "write", key, "per_second"),
            get(r, "peer", key, "per_second"),
            get(r, "limit", ceiling, "per_second") if ceiling else None,
            peer_default=get(r, "peer_defaults", key, "per_second"),
            note=note,
        )
        if goal is not None:
            row.goal = f">= {goal:g}x peer"
            row.met = check(row.ratio, lambda x: x >= goal)
        out.append(row)
        return row

    throughput("deposit_1", "Deposit commands/s, 1 submitter, realistic cache", 3, "statement_1")
    throughput("deposit_4", f"Deposit commands/s, {SUBMITTERS} submitters, realistic cache", 3, "statement_4")
    for key, name in (
        ("open", "Open-account"),
        ("withdraw", "Withdraw"),
        ("transfer", "Transfer"),
        ("freeze", "Freeze"),
        ("unfreeze", "Unfreeze"),
        ("close", "Close"),
    ):
        throughput(key, f"{name} commands/s, 1 submitter, realistic cache", 2)
    for p in ("p50", "p99"):
        out.append(
            Row(
                f"deposit_latency_{p}",
                f"Deposit latency {p}, 1 submitter, realistic cache (no goal)",
                "ms",
                get(r, "write", "deposit_1", "latency_ms", p),
                get(r, "peer", "deposit_1", "latency_ms", p),
                get(r, "limit", "statement_1", "latency_ms", p),
                peer_default=get(r, "peer_defaults", "deposit_1", "latency_ms", p),
                note="the submitter's round trip through the routing; Ceiling: the statement ceiling's own "
                f"{p}, 1 client, no routing",
            )
        )
    throughput("cached_deposit_1", "Deposit commands/s, always cached, 1 process (no goal)", None, "statement_1")
    throughput("cached_deposit_4", "Deposit commands/s, always cached, 4 processes (no goal)", None, "statement_4")
    ceiling = get(r, "limit", "statement_1", "per_second")
    cached = get(r, "write", "cached_deposit_1", "per_second")
    share = Row(
        "deposit_vs_statement",
        "Deposit vs its own append statement's ceiling, 1 process",
        "%",
        100 * cached / ceiling if cached and ceiling else None,
        goal=">= 90 %",
    )
    share.met = check(share.tally, lambda x: x >= 90)
    if cached and ceiling:
        share.note = f"always-cached deposits {cached:,.0f}/s against the statement ceiling's {ceiling:,.0f}/s"
        realistic = get(r, "write", "deposit_1", "per_second")
        if realistic:
            share.note += f"; with the realistic cache, through the routing: {100 * realistic / ceiling:.0f} %"
        four, four_ceiling = (
            get(r, "write", "cached_deposit_4", "per_second"),
            get(r, "limit", "statement_4", "per_second"),
        )
        if four and four_ceiling:
            share.note += f"; 4 processes against 4 clients: {100 * four / four_ceiling:.0f} %"
        # Each round takes both a few seconds apart: their ratio round by round says how much of
        # the figure is the machine's noise.
        paired = zip(
            get(r, "write", "cached_deposit_1", "rounds") or (),
            get(r, "limit", "statement_1", "rounds") or (),
            strict=False,
        )
        by_round = [f"{100 * t / c:.0f} %" for t, c in paired if c]
        if len(by_round) > 1:
            share.note += f"; round by round: {', '.join(by_round)}"
    out.append(share)
    for key, submitters in (("routing_1", 1), ("routing_4", SUBMITTERS)):
        found = get(r, "routing", key)
        row = Row(
            key,
            f"Routing alone (a request that does nothing), {submitters} submitter(s) (no goal)",
            "/s",
            get(r, "routing", key, "per_second"),
        )
        if found:
            latency = found["latency_ms"]
            row.note = (
                f"through {get(r, 'routing', 'pool')}'s processes: "
                f"p50 {latency['p50']:.3f} ms, p99 {latency['p99']:.3f} ms per request"
            )
            deposit = get(r, "write", "deposit_1" if submitters == 1 else "deposit_4", "latency_ms", "p50")
            if deposit:
                row.note += f" ({100 * latency['p50'] / deposit:.0f} % of a routed deposit's p50)"
        out.append(row)
    history = Row(
        "history_cost",
        "Deposit cost, 10,000 prior events vs 10",
        "x",
        get(r, "write", "history", "ratio"),
        get(r, "peer", "history", "ratio"),
        goal="<= 1.5x",
    )
    history.met = check(history.tally, lambda x: x <= 1.5)
    long_ms, short_ms = get(r, "write", "history", "long_ms", "p50"), get(r, "write", "history", "short_ms", "p50")
    if long_ms is not None:
        history.note = f"Tally median {long_ms:.2f} ms vs {short_ms:.2f} ms, loading snapshot and later events"
        cached_ratio = get(r, "write", "history", "cached_ratio")
        if cached_ratio is not None:
            cached_long = get(r, "write", "history", "cached_long_ms", "p50")
            cached_short = get(r, "write", "history", "cached_short_ms", "p50")
            history.note += (
                f"; with the state cached by the process that wrote last: {cached_ratio:.2f}x "
                f"({cached_long:.2f} ms vs {cached_short:.2f} ms)"
            )
    if get(r, "peer", "history", "ratio") is not None:
        history.note += ("; " if history.note else "") + "peer (in the Peer column): its defaults, no aggregate cache"
    out.append(history)
    return out
