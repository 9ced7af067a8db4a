"""The peer: the same bank-account workload on the Python `eventsourcing` library (a benchmark-only
dependency, see requirements-bench.txt; the app never imports it), against the same Postgres in
the same run, database bench_peer.

Its write figures run in two configurations, each a column of the table:

- "peer": the library's best documented configuration for several instances writing the same
  aggregates: its aggregate cache (AGGREGATE_CACHE_MAXSIZE, as large as Tally's state cache) with
  fast-forward on (AGGREGATE_CACHE_FASTFORWARD, the default once the cache is on: a cached
  aggregate is brought up to date with the events stored since, one query, which the docs require
  whenever another instance may have written; turning it off is documented for a single instance
  only). Deep copies from the cache stay on (the docs offer turning them off for immutable
  aggregates; these are mutable). POSTGRES_ENABLE_DB_FUNCTIONS, which inserts through a stored
  function, is undocumented and skips the table lock that makes the recorder gap-safe, so it is not
  used: Tally's reads are gap-safe too.
- "peer, defaults": no aggregate cache, every command reconstructs its aggregates.

Both with the library's Postgres application recorder (gap-safe by taking an EXCLUSIVE lock on the
events table for each write, so readers of the notification log never skip an event committed
late), its default connection pool and transcoder, and a snapshot every
ledger.execute.SNAPSHOT_EVERY events, as Tally takes them. The classes are in bench/peer_model.py;
a transfer saves both accounts in one atomic save(). The peer's read side is in
bench/peer_projection.py.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from statistics import median
from typing import Any
from uuid import UUID

from bench.common import PEER_DB, Profile, analyze, conninfo, latency_summary
from bench.write import CURRENCY, Handler

PEER_CONFIGS = ("cached", "defaults")
_CACHE_SIZE = 20_000  # ledger.state_cache.MAX_ACCOUNTS


def config_environment(config: str) -> dict[str, str]:
    """The library's settings that make a configuration (given to the application's constructor)."""
    if config == "cached":
        return {"AGGREGATE_CACHE_MAXSIZE": str(_CACHE_SIZE), "AGGREGATE_CACHE_FASTFORWARD": "y"}
    if config == "defaults":
        return {}
    raise ValueError(f"no such peer configuration: {config}")


def describe(config: str) -> str:
    from ledger.execute import SNAPSHOT_EVERY

    settings = ", ".join(f"{k}={v}" for k, v in config_environment(config).items()) or "no aggregate cache"
    return (
        f"eventsourcing's Postgres application recorder, {settings}, snapshot every {SNAPSHOT_EVERY} events, "
        "default pool and transcoder"
    )


def peer_environment() -> dict[str, str]:
    from ledger.execute import SNAPSHOT_EVERY  # plain Python constant: needs no Django set-up

    info = conninfo(PEER_DB)
    return {
        "BENCH_SNAPSHOT_EVERY": str(SNAPSHOT_EVERY),
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": info["dbname"],
        "POSTGRES_HOST": info.get("host") or "127.0.0.1",
        "POSTGRES_PORT": str(info.get("port") or 5432),
        "POSTGRES_USER": info.get("user") or "postgres",
        "POSTGRES_PASSWORD": info.get("password") or "",
    }


def peer() -> dict[str, Any]:
    """The peer's classes (bench.peer_model imports eventsourcing, which only the harness needs);
    the library reads its settings from the environment."""
    os.environ.update(peer_environment())
    from bench import peer_model

    return {
        "Bank": peer_model.Bank,
        "BankAccount": peer_model.BankAccount,
        "BankDefaults": peer_model.BankDefaults,
        "BankLoader": peer_model.BankLoader,
    }


def new_bank(config: str = "defaults") -> Any:
    classes = peer()
    return classes["Bank" if config == "cached" else "BankDefaults"](env=config_environment(config))


# --- the peer's pool processes (bench/routing.py) ------------------------------------------------


class PeerHandler(Handler):
    """The commands on the peer's application, one instance per process, as a web process would
    hold it. A save that loses a race to another process is tried again, as Tally's execute()
    decides a command again (the library leaves that to its user)."""

    def __init__(self, config: str) -> None:
        super().__init__()
        os.environ["CREATE_TABLE"] = "no"  # the harness made the tables: processes racing in the catalog
        bank = new_bank(config)
        from eventsourcing.persistence import IntegrityError

        self.conflict = IntegrityError
        self.ops: dict[str, Callable[..., Any]] = {
            "open": lambda overdraft: str(bank.open_account("Ada Lovelace", CURRENCY, overdraft)),
            "deposit": lambda a, amount: bank.deposit(UUID(a), amount, CURRENCY),
            "withdraw": lambda a, amount: bank.withdraw(UUID(a), amount, CURRENCY),
            "transfer": lambda a, b, amount: bank.transfer(UUID(a), UUID(b), amount, CURRENCY),
            "freeze": lambda a: bank.freeze(UUID(a), "bench"),
            "unfreeze": lambda a: bank.unfreeze(UUID(a)),
            "close": lambda a: bank.close_account(UUID(a), "bench"),
        }

    def command(self, op: str, args: tuple[Any, ...]) -> Any:
        for _ in range(10):
            try:
                answer = self.ops[op](*args)
            except self.conflict:
                continue
            return answer if op == "open" else args[0]
        raise RuntimeError(f"{op} lost ten races in a row")


def create_tables() -> None:
    """The library's tables of both configurations, made once before the processes start."""
    for config in PEER_CONFIGS:
        new_bank(config).close()


# --- the cost of a long history ----------------------------------------------------------------------


def _account_with_history(loader: Any, events: int) -> UUID:
    """Opened, then deposits, saved in one go, and the snapshot the history ends with where
    snapshots every SNAPSHOT_EVERY events would have left the latest (taken from the aggregate in
    hand: take_snapshot() would fold the whole stream from the store again)."""
    from bench.peer_model import SNAPSHOT_EVERY

    account_id = loader.open_account("Grace Hopper", CURRENCY)
    account = loader.repository.get(account_id)
    last = events // SNAPSHOT_EVERY * SNAPSHOT_EVERY
    for version in range(2, events + 1):
        account.deposit(100, CURRENCY)
        if version == last:
            loader.save(account)
            snapshot_class = getattr(type(account), "Snapshot", type(loader).snapshot_class)
            loader.snapshots.put([snapshot_class.take(account)])
    loader.save(account)
    return account_id


def history_cost(profile: Profile) -> dict[str, Any]:
    """The peer in its defaults (no aggregate cache): each deposit loads the snapshot and the
    events after it, as Tally's figure does with its state forgotten."""
    loader = peer()["BankLoader"]()
    longs = [_account_with_history(loader, profile.history_long) for _ in range(profile.history_accounts)]
    shorts = [_account_with_history(loader, profile.history_short) for _ in range(profile.history_accounts)]
    loader.close()
    analyze(PEER_DB)  # as Tally's tables after its histories (bench.write.history_cost)
    bank = peer()["Bank"]()

    def deposit(account_id: UUID) -> float:
        t0 = time.perf_counter()
        bank.deposit(account_id, 100, CURRENCY)
        return time.perf_counter() - t0

    for account_id in longs + shorts:
        deposit(account_id)
    long_times: list[float] = []
    short_times: list[float] = []
    for i in range(profile.history_samples):
        j = i % profile.history_accounts
        pair = [(longs[j], long_times), (shorts[j], short_times)]
        for account_id, times in pair if i % 2 else reversed(pair):
            times.append(deposit(account_id))
    bank.close()
    return {
        "long_events": profile.history_long,
        "short_events": profile.history_short,
        "accounts_each": profile.history_accounts,
        "long_ms": latency_summary(long_times),
        "short_ms": latency_summary(short_times),
        "ratio": median(long_times) / median(short_times),
        "config": describe("defaults"),
    }
