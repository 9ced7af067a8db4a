"""The peer: the same bank-account workload on the Python `eventsourcing` library (a benchmark-only
dependency, see requirements-bench.txt; the app never imports it), against the same Postgres in
the same run, database bench_peer.

It runs with the library's defaults: its Postgres application recorder, which is gap-safe by
taking an EXCLUSIVE lock on the events table for each write (so readers of the notification log
never skip an event committed late), its default connection pool and transcoder. The one setting
given is a snapshot every ledger.execute.SNAPSHOT_EVERY events, as Tally takes them: that only
helps the peer (loading an account then folds as few events as in Tally).

The classes are in bench/peer_model.py: an aggregate with Tally's rules for these commands; a
transfer saves both accounts in one atomic save(). The balance projection is the library's
Projection + ProjectionRunner (a LISTEN/NOTIFY subscription), with a tracking recorder of our own
holding a balance table, updated with the tracking record in one transaction per event (the
library's pattern).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from statistics import median
from typing import Any
from uuid import UUID

from bench.common import PEER_DB, Profile, Reader, conninfo, latency_summary, writer_throughput
from scripts.processes import wait_until


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
        "ReplayBank": peer_model.ReplayBank,
        "LiveBank": peer_model.LiveBank,
        "BankAccount": peer_model.BankAccount,
        "BalanceView": peer_model.BalanceView,
        "BalanceProjection": peer_model.BalanceProjection,
    }


def new_bank():
    return peer()["Bank"]()


# --- write throughput and latency ------------------------------------------------------------------


def _writer(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    from bench.write import _timed_loop

    # The parent created the tables: four processes creating them at once race in the catalog.
    os.environ["CREATE_TABLE"] = "no"
    bank = new_bank()
    n = job["accounts"]
    started = time.perf_counter()
    accounts = [bank.open_account("Ada Lovelace", "EUR") for _ in range(n)]
    open_seconds = time.perf_counter() - started
    if job["kind"] == "transfer":
        for account in accounts:
            bank.deposit(account, 10**9, "EUR")

    def deposit(i: int) -> None:
        bank.deposit(accounts[i % n], 1 + i % 5000, "EUR")

    def transfer(i: int) -> None:
        bank.transfer(accounts[i % n], accounts[(i + 1) % n], 100 + i % 500, "EUR")

    result = _timed_loop(job, ready, deposit if job["kind"] == "deposit" else transfer)
    result["opened"] = {"count": n, "seconds": open_seconds}
    bank.close()
    return result


def throughput(kind: str, processes: int, profile: Profile) -> dict[str, Any]:
    new_bank().close()  # creates the library's tables once, before the writers start
    return writer_throughput(_writer, kind, processes, profile)


# --- the cost of a long history ----------------------------------------------------------------------


def _account_with_history(bank: Any, events: int) -> UUID:
    """Opened, then deposits saved 100 at a time (so the library takes its snapshot every 100)."""
    account_id = bank.open_account("Grace Hopper", "EUR")
    written = 1
    while written < events:
        account = bank.repository.get(account_id)
        for _ in range(min(100 - written % 100 or 100, events - written)):
            account.deposit(100, "EUR")
            written += 1
        bank.save(account)
    return account_id


def history_cost(profile: Profile) -> dict[str, Any]:
    bank = new_bank()
    longs = [_account_with_history(bank, profile.history_long) for _ in range(profile.history_accounts)]
    shorts = [_account_with_history(bank, profile.history_short) for _ in range(profile.history_accounts)]

    def deposit(account_id: UUID) -> float:
        t0 = time.perf_counter()
        bank.deposit(account_id, 100, "EUR")
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
    }


# --- the balance projection ----------------------------------------------------------------------------


def _populate(bank: Any, events: int, accounts: int = 100) -> int:
    """At least `events` events of the workload (opens, deposits, transfers), saved in batches of
    whole aggregates so that populating is quick; returns the last notification id."""
    from bench.peer_model import new_id as peer_model_new_id

    ids = [bank.open_account("Ada Lovelace", "EUR") for _ in range(accounts)]
    written, i = accounts, 0
    last = 0
    while written < events:
        loaded = {a: bank.repository.get(a) for a in ids[i % 10 :: 10]}  # a tenth of the accounts at once
        pairs = list(loaded.values())
        for k in range(200):
            source, target = pairs[k % len(pairs)], pairs[(k + 1) % len(pairs)]
            if k % 3:
                source.deposit(500, "EUR")
                written += 1
            else:
                transfer_id = peer_model_new_id()
                source.deposit(1000, "EUR")
                source.send(target.id, transfer_id, 100, "EUR")
                target.receive(source.id, transfer_id, 100, "EUR")
                written += 3
        last = bank.save(*pairs)[-1].notification.id
        i += 1
    return last


def _tracking_reader(app: str = "Bank") -> Reader[int]:
    """The projection's checkpoint, read with a connection of our own (as Tally's is)."""
    import psycopg

    from bench.common import database_url

    sql = "SELECT max(notification_id) FROM balances_tracking WHERE application_name = %s"

    def read(conn: psycopg.Connection) -> int:
        row = conn.execute(sql, [app], prepare=True).fetchone()  # max() answers one row: NULL before any
        return (row[0] or 0) if row else 0

    return Reader(psycopg.connect(database_url(PEER_DB), autocommit=True), read)


def _runner(app: str = "Bank"):
    from eventsourcing.projection import ProjectionRunner

    p = peer()
    return ProjectionRunner(
        application_class=p[app],
        projection_class=p["BalanceProjection"],
        view_class=p["BalanceView"],
        env=peer_environment(),
    )


def projection_rate(profile: Profile) -> dict[str, Any]:
    """Replay the balance projection from nothing over a log of `peer_projection_events` events
    of the workload (opens, deposits, transfers), written by an application of its own."""
    import psycopg

    from bench.common import database_url

    bank = peer()["ReplayBank"]()
    last = _populate(bank, profile.peer_projection_events)
    bank.close()
    # From nothing, as a rebuild: the projection's tables (left by the latency run) are dropped.
    with psycopg.connect(database_url(PEER_DB), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS balances_tracking, peer_balance")
    started = time.perf_counter()
    with _runner("ReplayBank"):
        read = _tracking_reader("Replay")
        wait_until(lambda: read() >= last, timeout=600, interval=0.01, message="the peer's projection to replay")
        elapsed = time.perf_counter() - started
        read.close()
    return {"events": last, "seconds": elapsed, "per_second": last / elapsed}


# --- commit -> projection visible -------------------------------------------------------------------------


def _projection_process() -> None:
    """The peer's projection runner in a process of its own (as Tally's Celery worker is), until
    terminated: the measurement only needs it running."""
    with _runner("LiveBank") as runner:
        runner.run_forever()  # re-raises an error of the runner's threads


def visibility(profile: Profile, rate: float) -> dict[str, Any]:
    """Deposits at `rate` per second; each is visible once the projection's tracking record has
    reached its notification id. The runner is the library's LISTEN/NOTIFY subscription."""
    import multiprocessing as mp

    from bench.latency import paced_visibility

    bank = peer()["LiveBank"]()
    accounts = [bank.open_account("Ada Lovelace", "EUR") for _ in range(50)]
    head = bank.recorder.max_notification_id() or 0
    process = mp.get_context("spawn").Process(target=_projection_process, daemon=True)
    process.start()
    try:
        read = _retrying(lambda: _tracking_reader("Live"), process)
        # Caught up with the set-up: only paced commands are timed.
        wait_until(lambda: read() >= head, timeout=300, interval=0.01, message="the peer's projection to catch up")

        def command(i: int) -> int:
            return bank.deposit(accounts[i % len(accounts)], 100, "EUR")

        result = paced_visibility(command, read, rate=rate, seconds=profile.visibility_seconds)
        read.close()
    finally:
        process.terminate()  # the runner keeps nothing in memory that matters; its tables stay
        process.join(10)
        bank.close()
    return result


def _retrying(make: Callable[[], Reader[int]], process: Any) -> Reader[int]:
    """A reader, once the tracking table exists (the runner process creates it as it starts)."""
    deadline = time.perf_counter() + 60
    while True:
        if not process.is_alive():
            raise RuntimeError("the peer's projection runner process died")
        read = make()
        try:
            read()
            return read
        except Exception:
            read.close()
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.1)


def run(profile: Profile) -> dict[str, Any]:
    return {
        "deposit_1": throughput("deposit", 1, profile),
        "deposit_4": throughput("deposit", 4, profile),
        "transfer_1": throughput("transfer", 1, profile),
        "history": history_cost(profile),
    }
