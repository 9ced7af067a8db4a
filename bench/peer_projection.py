"""The peer's read side, doing Tally's three projections (bench.peer_readmodels), against the same
Postgres in the same run, database bench_peer:

- rebuild: Tally's own rebuild log translated into the peer's log (bench.peer_ledger.mirror, not
  timed), then replayed from nothing by the batched projector in a fresh process; and, as a
  labelled second figure, by the library's ProjectionRunner (one event per transaction) over the
  log's first events. Each result is checked: balances and versions against the generator's,
  and every row of the three tables against Tally's rebuilt tables at the same log size.
- commit -> visible: deposits through the peer's application while a process of its own keeps the
  three projections current: the batched projector woken by the log's LISTEN/NOTIFY channel (its
  recorder NOTIFYs on every save), or the library's ProjectionRunner (its LISTEN/NOTIFY
  subscription, one event per transaction).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from bench.common import PEER_DB, Reader, database_url, run_together
from bench.peer import peer_environment
from scripts.processes import wait_until

TRACKING = "batched_readmodels_tracking"  # the batched projector's tracking table
TIME_ZONE = os.environ.get("TALLY_TIME_ZONE", "UTC")  # the zone Tally's daily totals use (settings.TIME_ZONE)


def _ledger() -> Any:
    os.environ.update(peer_environment())
    from bench import peer_ledger

    return peer_ledger


def _readmodels() -> Any:
    os.environ.update(peer_environment())
    from bench import peer_readmodels

    return peer_readmodels


def _view(app: Any, tracking_table: str = TRACKING) -> Any:
    view = _readmodels().ReadModelsView(app.factory.datastore, tracking_table_name=tracking_table, time_zone=TIME_ZONE)
    view.create_table()
    return view


# --- what both sides' tables hold ----------------------------------------------------------------


def digests(database: str, tables: tuple[str, str, str]) -> dict[str, str]:
    """An md5 of every row (Tally's columns, in key order) of each read model: equal digests, equal
    tables. `tables`: summary, statement, daily, in that order."""
    import psycopg

    from bench.rebuild_sql import DAILY_COLUMNS, STATEMENT_COLUMNS, SUMMARY_COLUMNS

    shapes = zip(
        tables,
        (SUMMARY_COLUMNS, STATEMENT_COLUMNS, DAILY_COLUMNS),
        ("account_id", "account_id, version", "day, currency"),
        strict=True,
    )
    with psycopg.connect(database_url(database), autocommit=True) as conn:
        return {
            name: conn.execute(
                f"SELECT md5(string_agg(t::text, ',' ORDER BY {order})) FROM (SELECT {columns} FROM {name}) t"
            ).fetchone()[0]  # type: ignore[index]
            for name, columns, order in shapes
        }


def _balance_mismatches(expected: dict[str, tuple[int, int]]) -> int:
    import psycopg

    with psycopg.connect(database_url(PEER_DB), autocommit=True) as conn:
        rows = conn.execute("SELECT account_id::text, balance, version FROM peer_account_summary").fetchall()
    actual = {r[0]: (r[1], r[2]) for r in rows}
    return sum(1 for key in expected.keys() | actual.keys() if expected.get(key) != actual.get(key))


def _vacuum(table: str) -> None:
    """The same maintenance as Tally's log gets before its rebuild."""
    import psycopg

    with psycopg.connect(database_url(PEER_DB), autocommit=True) as conn:
        conn.execute(f"VACUUM (ANALYZE) {table}")


# --- rebuild -------------------------------------------------------------------------------------


def _batched_child(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    from bench.rebuild import status_mb

    ledger = _ledger()
    bank = ledger.LedgerBank()
    view = _view(bank)
    view.reset(bank.name)
    projector = _readmodels().BatchedProjector(bank, view)
    baseline = status_mb("VmRSS")
    ready()
    started = time.perf_counter()
    events = projector.catch_up()
    elapsed = time.perf_counter() - started
    bank.close()
    return {
        "events": events,
        "seconds": elapsed,
        "per_second": events / elapsed,
        "section_size": ledger.SECTION_SIZE,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": status_mb("VmHWM"),
    }


def rebuild_batched(
    source: str, events: int, *, expected: dict[str, tuple[int, int]], tally_digests: dict[str, str]
) -> dict[str, Any]:
    """Mirror the first `events` of Tally's log (database `source`), then replay them, timed, with
    the batched projector in a fresh process; check what it built."""
    ledger = _ledger()
    bank = ledger.LedgerBank()
    mirrored = ledger.mirror(database_url(source), database_url(PEER_DB), bank, events)
    table = bank.recorder.events_table_name
    bank.close()
    _vacuum(table)
    result = run_together(_batched_child, [{}], timeout=3600)[0]
    result["mirrored"] = mirrored
    result["balance_mismatches"] = _balance_mismatches(expected)
    peer = digests(PEER_DB, ("peer_account_summary", "peer_statement_line", "peer_daily_activity"))
    result["tables_equal_tally"] = list(peer.values()) == list(tally_digests.values())
    result["valid"] = result["balance_mismatches"] == 0 and result["tables_equal_tally"]
    return result


def _tracking_reader(table: str, app: str) -> Reader[int]:
    """A projection's tracking record, read with a connection of our own (as Tally's checkpoints are)."""
    import psycopg

    sql = f"SELECT max(notification_id) FROM {table} WHERE application_name = %s"

    def read(conn: psycopg.Connection) -> int:
        row = conn.execute(sql, [app], prepare=True).fetchone()
        return (row[0] or 0) if row else 0

    return Reader(psycopg.connect(database_url(PEER_DB), autocommit=True), read)


def _runner(app_class: Any) -> Any:
    from eventsourcing.projection import ProjectionRunner

    rm = _readmodels()
    return ProjectionRunner(
        application_class=app_class,
        projection_class=rm.ReadModelsProjection,
        view_class=rm.ReadModelsView,
        env=peer_environment(),
    )


def rebuild_one_by_one(source: str, events: int) -> dict[str, Any]:
    """The library's ProjectionRunner over the first `events` of Tally's log (an application of its
    own, so a short log of its own): one event, one transaction, from empty tables."""
    ledger = _ledger()
    bank = ledger.ReplayLedgerBank()
    last = ledger.mirror(database_url(source), database_url(PEER_DB), bank, events)["events"]
    head = bank.recorder.max_notification_id() or 0
    _view(bank, "readmodels_tracking").reset(bank.name)  # the runner's view: its table, empty
    table = bank.recorder.events_table_name
    bank.close()
    _vacuum(table)
    read = _tracking_reader("readmodels_tracking", "ReplayLedger")
    started = time.perf_counter()
    with _runner(ledger.ReplayLedgerBank):
        wait_until(lambda: read() >= head, timeout=3600, interval=0.01, message="the peer's runner to replay")
        elapsed = time.perf_counter() - started
    read.close()
    return {"events": last, "seconds": elapsed, "per_second": last / elapsed}


# --- commit -> visible ---------------------------------------------------------------------------


def _follow(stop_after: float | None = None) -> None:
    """The batched projector kept current: catch up, then wait for the log's NOTIFY (a notify sent
    while catching up waits in the LISTEN connection's queue, so none is missed), or a second."""
    import psycopg
    from psycopg.sql import SQL, Identifier

    ledger = _ledger()
    bank = ledger.LiveLedgerBank()
    projector = _readmodels().BatchedProjector(bank, _view(bank))
    with psycopg.connect(database_url(PEER_DB), autocommit=True) as listener:
        listener.execute(SQL("LISTEN {0}").format(Identifier(bank.recorder.channel_name)))
        while True:
            projector.catch_up()
            for _ in listener.notifies(timeout=1.0, stop_after=1):
                pass


def _run_library_runner() -> None:
    ledger = _ledger()
    with _runner(ledger.LiveLedgerBank) as runner:
        runner.run_forever()  # re-raises an error of the runner's threads


class PeerSide:
    """The peer's application and a projection process (`kind`: "batched" or "runner") for the
    paced rounds; the projection is caught up with the set-up before any round."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __enter__(self) -> PeerSide:
        import multiprocessing as mp

        from bench.peer import config_environment

        ledger = _ledger()
        # The commands go through the peer's best documented write configuration (its aggregate
        # cache with fast-forward), so it keeps up with the rate as Tally's cached write side does.
        self.bank = ledger.LiveLedgerBank(env=config_environment("cached"))
        self.accounts = [self.bank.open_account("Ada Lovelace", "EUR") for _ in range(50)]
        table, app = (TRACKING if self.kind == "batched" else "readmodels_tracking"), "LiveLedger"
        # Empty tables each time: the projection process replays the short log (the set-ups and
        # earlier rounds) before the round starts, untimed.
        _view(self.bank, table).reset(app)
        head = self.bank.recorder.max_notification_id() or 0
        self.process = mp.get_context("spawn").Process(
            target=_follow if self.kind == "batched" else _run_library_runner, daemon=True
        )
        self.process.start()
        try:
            self.read = _retrying(lambda: _tracking_reader(table, app), self.process)
            wait_until(self._caught_up(head), timeout=300, interval=0.01, message="the peer's projection to catch up")
        except BaseException:
            self.process.terminate()
            self.bank.close()
            raise
        return self

    def _caught_up(self, head: int) -> Callable[[], bool]:
        def done() -> bool:
            if not self.process.is_alive():
                raise RuntimeError(f"the peer's projection process ({self.kind}) died")
            return self.read() >= head

        return done

    def command(self, i: int) -> int:
        return self.bank.deposit(self.accounts[i % len(self.accounts)], 100, "EUR")

    def __exit__(self, *exc: object) -> None:
        self.read.close()
        self.process.terminate()  # nothing in its memory matters; its tables stay
        self.process.join(10)
        self.bank.close()


def _retrying(make: Callable[[], Reader[int]], process: Any) -> Reader[int]:
    """A reader, once the tracking table exists (the projection process creates it as it starts)."""
    deadline = time.perf_counter() + 60
    while True:
        if not process.is_alive():
            raise RuntimeError("the peer's projection process died")
        read = make()
        try:
            read()
            return read
        except Exception:
            read.close()
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.1)
