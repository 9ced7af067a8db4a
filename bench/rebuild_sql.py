"""The rebuild's server-side baseline: the same three read models built from the same log by three
set-based statements inside Postgres, with no runner, no batches and no rows to the client.

Each statement is one INSERT ... SELECT over the whole log (through the upcasting view, as Tally's
projectors read it) into a scratch copy of the read model's table (same columns, keys and indexes:
CREATE TABLE ... LIKE ... INCLUDING ALL), the running balance a window sum, the summary's last
event a row_number() from the end. The three run at once on three connections, as
rebuild_projections runs its projectors (one thread and connection each), and the figure is the
wall time of all three, commits included. The scratch tables are then compared with Tally's
rebuilt ones (EXCEPT both ways) and dropped: a baseline that built something else would not count.
It covers the event types of the generated workload (opens, deposits, withdrawals, transfers;
holds and status changes too); reversals and approvals, which the workload never has, are not
written here, and their projectors (which Tally's rebuild also runs) find nothing to do.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import database_url

EVENTS = "ledger_event_current"  # ledger.store.upcasting.CURRENT_VIEW (named here: no Django set-up needed)

_SIGN = {"MoneyDeposited": 1, "TransferReceived": 1, "MoneyWithdrawn": -1, "TransferSent": -1}
_STATUS = {"AccountFrozen": "frozen", "AccountUnfrozen": "open", "AccountClosed": "closed"}
_HOLDS = {"FundsHeld": 1, "HoldReleased": -1}
_KINDS = {
    "MoneyDeposited": ("deposit", None),
    "MoneyWithdrawn": ("withdrawal", None),
    "TransferReceived": ("transfer_in", "from_account_id"),
    "TransferSent": ("transfer_out", "to_account_id"),
}
_DAILY = {"MoneyDeposited": "deposits", "MoneyWithdrawn": "withdrawals", "TransferSent": "transfers"}


def _q(value: str | None) -> str:
    return "NULL" if value is None else f"'{value}'"


SUMMARY_COLUMNS = (
    "account_id, owner, currency, balance, overdraft_limit, available, held, status, opened_at, last_activity_at, "
    "version, position"
)
STATEMENT_COLUMNS = (
    "account_id, version, position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo"
)
DAILY_COLUMNS = (
    "day, currency, deposits_count, deposits_sum, withdrawals_count, withdrawals_sum, transfers_count, transfers_sum"
)

_SUMMARY = f"""
INSERT INTO scratch_accountsummary ({SUMMARY_COLUMNS})
SELECT stream_id, owner, currency, balance, overdraft_limit, greatest(balance + overdraft_limit - held, 0), held,
       coalesce(status, 'open'), opened_at, last_activity_at, version, position
  FROM (SELECT stream_id,
               -- Sealed (ledger/store/personal.py): SQL cannot open a name, so the baseline leaves it
               -- out, and the comparison with Tally's table too; opening them is Tally's extra work.
               '' AS owner,
               max(data ->> 'currency') FILTER (WHERE type = 'AccountOpened') AS currency,
               coalesce(sum(credit), 0) AS balance, coalesce(sum(held), 0) AS held,
               max((data ->> 'overdraft_limit')::bigint) FILTER (WHERE type = 'AccountOpened') AS overdraft_limit,
               (array_agg(status ORDER BY from_end) FILTER (WHERE status IS NOT NULL))[1] AS status,
               max(recorded_at) FILTER (WHERE type = 'AccountOpened') AS opened_at,
               max(recorded_at) FILTER (WHERE from_end = 1) AS last_activity_at,
               max(version) FILTER (WHERE from_end = 1) AS version,
               max(position) FILTER (WHERE from_end = 1) AS position
          FROM (SELECT stream_id, type, data, recorded_at, version, position,
                       CASE type {" ".join(f"WHEN {_q(t)} THEN {s}" for t, s in _SIGN.items())} END
                           * (data ->> 'amount')::bigint AS credit,
                       CASE type {" ".join(f"WHEN {_q(t)} THEN {s}" for t, s in _HOLDS.items())} END
                           * (data ->> 'amount')::bigint AS held,
                       CASE type {" ".join(f"WHEN {_q(t)} THEN {_q(s)}" for t, s in _STATUS.items())} END AS status,
                       row_number() OVER (PARTITION BY stream_id ORDER BY tx_id DESC, position DESC) AS from_end
                  FROM {EVENTS}
                 WHERE type IN ({", ".join(_q(t) for t in ("AccountOpened", *_SIGN, *_STATUS, *_HOLDS))})) e
         GROUP BY stream_id) a
"""

_STATEMENT = f"""
INSERT INTO scratch_statementline ({STATEMENT_COLUMNS})
SELECT e.stream_id, e.version, e.position, e.recorded_at, m.kind, m.sign * (e.data ->> 'amount')::bigint,
       sum(m.sign * (e.data ->> 'amount')::bigint) OVER (
           PARTITION BY e.stream_id ORDER BY e.tx_id, e.position ROWS UNBOUNDED PRECEDING),
       e.data ->> 'currency', (e.data ->> m.counterparty)::uuid,
       coalesce(e.metadata ->> 'actor', ''), coalesce(e.data ->> 'memo', '')
  FROM {EVENTS} e
  JOIN (VALUES {", ".join(f"({_q(t)}, {_q(k)}, {_SIGN[t]}, {_q(c)})" for t, (k, c) in _KINDS.items())})
       AS m (type, kind, sign, counterparty) ON m.type = e.type
"""

_DAILY_SQL = f"""
INSERT INTO scratch_dailyactivity ({DAILY_COLUMNS})
SELECT (recorded_at AT TIME ZONE %(time_zone)s)::date, data ->> 'currency',
       {
    ", ".join(
        f"count(*) FILTER (WHERE type = {_q(t)}), "
        f"coalesce(sum((data ->> 'amount')::bigint) FILTER (WHERE type = {_q(t)}), 0)"
        for t in _DAILY
    )
}
  FROM {EVENTS}
 WHERE type IN ({", ".join(_q(t) for t in _DAILY)})
 GROUP BY 1, 2
"""

# scratch table, Tally's table, the statement that fills it, the columns compared
MODELS = (
    ("scratch_accountsummary", "projections_accountsummary", _SUMMARY, SUMMARY_COLUMNS.replace("owner, ", "")),
    ("scratch_statementline", "projections_statementline", _STATEMENT, STATEMENT_COLUMNS),
    ("scratch_dailyactivity", "projections_dailyactivity", _DAILY_SQL, DAILY_COLUMNS),
)


def set_based(database: str, *, time_zone: str = "UTC") -> dict[str, Any]:
    """Build the three read models in scratch tables at once; time it; compare with Tally's."""
    import psycopg

    url = database_url(database)
    with psycopg.connect(url, autocommit=True) as conn:
        for scratch, table, _, _ in MODELS:
            conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            conn.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")
        events = conn.execute("SELECT count(*) FROM ledger_event").fetchone()[0]  # type: ignore[index]
        conn.execute("ANALYZE ledger_event")  # the same maintenance as before Tally's rebuild

    def build(statement: str) -> float:
        with psycopg.connect(url) as conn:  # one transaction: the statement and its commit
            started = time.perf_counter()
            conn.execute(statement, {"time_zone": time_zone})
            conn.commit()
            return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=len(MODELS)) as pool:
        each = list(pool.map(build, [m[2] for m in MODELS]))
    elapsed = time.perf_counter() - started
    differences: dict[str, int] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for scratch, table, _, columns in MODELS:
            differ = (
                f"SELECT count(*) FROM ((SELECT {columns} FROM {scratch} EXCEPT ALL SELECT {columns} FROM {table}) "
                f"UNION ALL (SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {scratch})) d"
            )
            differences[table] = conn.execute(differ).fetchone()[0]  # type: ignore[index]
            conn.execute(f"DROP TABLE {scratch}")
    return {
        "events": events,
        "seconds": elapsed,
        "per_second": events / elapsed,
        "statement_seconds": dict(zip((m[1] for m in MODELS), each, strict=True)),
        "differences": differences,
        "valid": not any(differences.values()),
    }
