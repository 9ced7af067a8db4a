"""Tally's write side, the real path without HTTP: execute(command) = load snapshot and events,
decide, append events + command record + snapshot in one statement, commit (autocommit, as a
request runs it), then the after-commit nudge to Redis.

- deposits per second in 1 process and in 4 processes, each on accounts of its own;
- the latency of each deposit of the 1-process run (p50/p99);
- transfers per second and account openings per second (no goal: context for the peer);
- the cost of a deposit into an account with 10,000 prior events against one with 10.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from statistics import median
from typing import Any
from uuid import UUID, uuid4

from bench import eventgen
from bench.common import TALLY_DB, Profile, latency_summary, setup_django, writer_throughput

CURRENCY = "EUR"


def _open_accounts(count: int, balance: int = 0) -> tuple[list[UUID], float]:
    from ledger.domain.commands import Deposit, OpenAccount
    from ledger.execute import execute

    accounts = [uuid4() for _ in range(count)]
    started = time.perf_counter()
    for account in accounts:
        execute(
            OpenAccount(account_id=account, owner="Ada Lovelace", currency=CURRENCY), actor="teller", source="bench"
        )
    opened = time.perf_counter() - started
    if balance:
        for account in accounts:
            execute(Deposit(account_id=account, amount=balance, currency=CURRENCY), actor="teller", source="bench")
    return accounts, opened


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


def _writer(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """One process: open its own accounts, then run deposits (or transfers) round-robin over them."""
    setup_django(TALLY_DB)
    from ledger.domain.commands import Deposit, Transfer
    from ledger.execute import execute

    n = job["accounts"]
    accounts, open_seconds = _open_accounts(n, balance=10**9 if job["kind"] == "transfer" else 0)

    def deposit(i: int) -> None:
        execute(
            Deposit(account_id=accounts[i % n], amount=1 + i % 5000, currency=CURRENCY), actor="teller", source="bench"
        )

    def transfer(i: int) -> None:
        execute(
            Transfer(
                account_id=accounts[i % n], to_account_id=accounts[(i + 1) % n], amount=100 + i % 500, currency=CURRENCY
            ),
            actor="teller",
            source="bench",
        )

    result = _timed_loop(job, ready, deposit if job["kind"] == "deposit" else transfer)
    result["opened"] = {"count": n, "seconds": open_seconds}
    return result


def throughput(kind: str, processes: int, profile: Profile) -> dict[str, Any]:
    return writer_throughput(_writer, kind, processes, profile)


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
        conn.execute("ANALYZE ledger_event")
        conn.execute("ANALYZE ledger_snapshot")
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


def run(profile: Profile) -> dict[str, Any]:
    return {
        "deposit_1": throughput("deposit", 1, profile),
        "deposit_4": throughput("deposit", 4, profile),
        "transfer_1": throughput("transfer", 1, profile),
        "history": history_cost(profile),
    }
