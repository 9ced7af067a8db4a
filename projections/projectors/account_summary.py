"""Account summary: one row per account with owner, currency, balance, status and activity.

The owner's name is sealed in the log (ledger/store/personal.py), and SQL cannot open it: the
statement inserts a new account's row with an empty name and returns it, and the projector opens
the sealed name in Python and writes it in clear in the same transaction. It is the one copy of the name in
clear, and a customer's CustomerForgotten event replaces it with ERASED_NAME; a rebuild after that
finds no key, and so the same."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from operator import attrgetter
from uuid import UUID

import orjson

from ledger.domain import account_number
from ledger.domain.account import ERASED_NAME
from ledger.store import RecordedEvent, personal
from ledger.store.sql import Row, execute, fetch
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections import schemas
from projections.projectors.base import Projector, Span, by_partition, sql_list, sql_text
from projections.projectors.reversal import REVERSAL, SIGN_SQL
from projections.projectors.reversal import sign as reversal_sign

_CREDITS = {"MoneyDeposited": 1, "TransferReceived": 1, "MoneyWithdrawn": -1, "TransferSent": -1}
_STATUS = {"AccountFrozen": "frozen", "AccountUnfrozen": "open", "AccountClosed": "closed"}
_REVERSALS = {REVERSAL}  # a compensating entry: its sign is the opposite of its original's (reversal.py)
# Money set aside for a pending approval, and given back: the held amount, not the balance.
_HOLDS = {"FundsHeld": 1, "HoldReleased": -1}
_FORGOTTEN = "CustomerForgotten"
TABLE = "projections_accountsummary"
_HANDLES = frozenset({"AccountOpened", *_CREDITS, *_STATUS, *_HOLDS, *_REVERSALS, _FORGOTTEN})


@dataclass(slots=True)
class Summary:
    owner: str
    currency: str
    balance: int
    overdraft_limit: int
    available: int
    held: int
    status: str
    opened_at: datetime
    last_activity_at: datetime
    version: int
    position: int
    number: str  # from the position of the account's AccountOpened event (ledger/domain/account_number.py)


def fold(rows: dict[UUID, Summary], events: Iterable[RecordedEvent]) -> None:
    for e in events:
        if e.type == "AccountOpened":
            limit = e.data["overdraft_limit"]
            rows[e.stream_id] = Summary(
                e.data["owner"],
                e.data["currency"],
                0,
                limit,
                limit,
                0,
                "open",
                e.recorded_at,
                e.recorded_at,
                e.version,
                e.position,
                account_number.from_position(e.position),
            )
        else:
            row = rows[e.stream_id]
            if e.type in _CREDITS:
                row.balance += _CREDITS[e.type] * e.data["amount"]
            elif e.type in _REVERSALS:
                row.balance += reversal_sign(e.data) * e.data["amount"]
            elif e.type in _HOLDS:
                row.held += _HOLDS[e.type] * e.data["amount"]
            elif e.type == _FORGOTTEN:
                row.owner = ERASED_NAME
            else:
                row.status = _STATUS[e.type]
            row.available = max(row.balance + row.overdraft_limit - row.held, 0)
            row.last_activity_at, row.version, row.position = e.recorded_at, e.version, e.position


# The row as a tuple, in column order.
_values = attrgetter(*(f.name for f in fields(Summary)))

_COLUMNS = (
    "owner, currency, balance, overdraft_limit, available, held, status, opened_at, last_activity_at, version, "
    "position, number"
)


def number_sql(position: str) -> str:
    """account_number.from_position in SQL, over the bigint expression `position`: numeric, since
    MULTIPLIER * position passes bigint's range. verify_projections checks it against the Python."""
    n = account_number
    # mod(), not %: the statement runs with parameters, where % starts a placeholder.
    body = f"lpad(mod({n.MULTIPLIER}::numeric * {position} + {n.OFFSET}, {n.CAPACITY})::text, {n.BODY_DIGITS}, '0')"
    check = f"lpad((98 - mod(({body} || '{n.COUNTRY_DIGITS}00')::numeric, 97))::text, 2, '0')"
    return f"'{n.COUNTRY}' || {check} || {body}"


# The bank's totals per currency and partition (projections.models.AccountTotals), moved by the same
# statement as the accounts' rows: a screen reads them at the same commit as the rows they sum.
TOTALS = "projections_accounttotals"
_TOTALS = "accounts, open, frozen, closed, balance"
STATUSES = ("open", "frozen", "closed")  # what an account can be, in the order screens list them
_STATUS_MOVES = ", ".join(
    f"sum(coalesce((status_now = '{s}')::int, 0) - coalesce((status_was = '{s}')::int, 0))" for s in STATUSES
)
_STATUS_COUNTS = ", ".join(f"count(*) FILTER (WHERE status = '{s}') AS {s}" for s in STATUSES)

# The totals of a partition's `rows` beside those kept for it, where they differ.
_TOTALS_DIFFER = f"""
SELECT coalesce(s.currency, t.currency), s.accounts, s.open, s.frozen, s.closed, s.balance,
       t.accounts, t.open, t.frozen, t.closed, t.balance
  FROM (SELECT currency, count(*) AS accounts, {_STATUS_COUNTS}, sum(balance) AS balance
          FROM {{rows}} r GROUP BY currency) s
  FULL JOIN (SELECT currency, {_TOTALS} FROM {TOTALS} WHERE part = %s) t ON t.currency = s.currency
 WHERE (s.accounts, s.open, s.frozen, s.closed, s.balance)
       IS DISTINCT FROM (t.accounts, t.open, t.frozen, t.closed, t.balance)
 ORDER BY 1"""

_CREDIT = " ".join(f"WHEN {sql_text(t)} THEN {sign}" for t, sign in [*_CREDITS.items(), (REVERSAL, SIGN_SQL)])
_HOLD = " ".join(f"WHEN {sql_text(t)} THEN {sign}" for t, sign in _HOLDS.items())
_STATUS_AFTER = " ".join(f"WHEN {sql_text(t)} THEN {sql_text(status)}" for t, status in _STATUS.items())


# Per account the span touches: the sum of its credits and debits, its newest status and its newest
# event (in log order, as the fold goes), and the opening's details if it was opened in the span.
# Accounts opened before the span are updated, the others inserted, in one statement.
def _apply_sql(in_span: str) -> str:
    return f"""
WITH event AS (
    SELECT e.stream_id, e.type, e.data, e.recorded_at, e.version, e.position,
           CASE e.type {_CREDIT} END * (e.data ->> 'amount')::bigint AS credit,
           CASE e.type {_HOLD} END * (e.data ->> 'amount')::bigint AS held,
           CASE e.type {_STATUS_AFTER} END AS status,
           row_number() OVER (PARTITION BY e.stream_id ORDER BY e.tx_id DESC, e.position DESC) AS from_end
      FROM {EVENTS} e
     WHERE e.type IN ({sql_list(sorted(_HANDLES))}) AND {in_span}
), change AS (
    SELECT stream_id AS account_id, coalesce(sum(credit), 0) AS credit, coalesce(sum(held), 0) AS held,
           (array_agg(status ORDER BY from_end) FILTER (WHERE status IS NOT NULL))[1] AS status,
           -- sealed: '' until opened in Python (a name in clear, as a test's bulk SQL writes them, is kept)
           coalesce(max(data ->> 'owner') FILTER (WHERE type = 'AccountOpened'
                                                    AND jsonb_typeof(data -> 'owner') = 'string'), '') AS owner,
           bool_or(type = {sql_text(_FORGOTTEN)}) AS forgotten,
           max(data ->> 'currency') FILTER (WHERE type = 'AccountOpened') AS currency,
           max((data ->> 'overdraft_limit')::bigint) FILTER (WHERE type = 'AccountOpened')
               AS overdraft_limit,
           max(recorded_at) FILTER (WHERE type = 'AccountOpened') AS opened_at,
           max(position) FILTER (WHERE type = 'AccountOpened') AS opened_position,
           max(recorded_at) FILTER (WHERE from_end = 1) AS last_activity_at,
           max(version) FILTER (WHERE from_end = 1) AS version,
           max(position) FILTER (WHERE from_end = 1) AS position
      FROM event GROUP BY stream_id
), updated AS (
    UPDATE projections_accountsummary s
       SET balance = s.balance + c.credit, held = s.held + c.held,
           available = greatest(s.balance + c.credit + s.overdraft_limit - s.held - c.held, 0),
           status = coalesce(c.status, s.status), last_activity_at = c.last_activity_at,
           owner = CASE WHEN c.forgotten THEN {sql_text(ERASED_NAME)} ELSE s.owner END,
           version = c.version, position = c.position
      FROM change c
     WHERE s.account_id = c.account_id AND c.opened_at IS NULL
    RETURNING s.account_id, s.currency
), status_before AS (  -- the statement's snapshot: as they were before the span, only the few
                      -- rows whose status the span changes (the others' status moves no total)
    SELECT s.account_id, s.status FROM projections_accountsummary s
      JOIN change c ON c.account_id = s.account_id AND c.opened_at IS NULL AND c.status IS NOT NULL
), moved AS (  -- per account, what the span changes in its currency's totals
    SELECT currency, 1 AS accounts, credit, NULL AS status_was, coalesce(status, 'open') AS status_now
      FROM change WHERE opened_at IS NOT NULL
    UNION ALL
    SELECT u.currency, 0, c.credit, b.status, c.status  -- NULL and NULL: the status did not change
      FROM updated u JOIN change c ON c.account_id = u.account_id
      LEFT JOIN status_before b ON b.account_id = u.account_id
), totalled AS (
INSERT INTO {TOTALS} AS t (currency, part, {_TOTALS})
SELECT currency, %(part)s, sum(accounts), {_STATUS_MOVES}, sum(credit) FROM moved GROUP BY currency
ON CONFLICT (currency, part) DO UPDATE SET
    {", ".join(f"{c} = t.{c} + excluded.{c}" for c in _TOTALS.split(", "))}
), inserted AS (
INSERT INTO projections_accountsummary (account_id, {_COLUMNS})
SELECT account_id, CASE WHEN forgotten THEN {sql_text(ERASED_NAME)} ELSE owner END, currency, credit,
       overdraft_limit, greatest(credit + overdraft_limit - held, 0), held,
       coalesce(status, 'open'), opened_at, last_activity_at, version, position, {number_sql("opened_position")}
  FROM change WHERE opened_at IS NOT NULL
RETURNING account_id, owner
)
SELECT account_id, owner FROM inserted
UNION ALL
SELECT account_id, NULL FROM change WHERE forgotten  -- their names go from the other generations too
"""


_APPLY = by_partition(_apply_sql)
_SEALED = "SELECT stream_id, data -> 'owner' FROM ledger_event WHERE stream_id = ANY(%s) AND version = 1"
_NAMES = """UPDATE projections_accountsummary s SET owner = n.owner
  FROM unnest(%s::uuid[], %s::text[]) AS n(account_id, owner) WHERE s.account_id = n.account_id"""


def _opened_names(inserted: list[Row]) -> tuple[list[object], list[str]]:
    """The new rows' sealed names, opened: (account ids, names)."""
    to_open = [account_id for account_id, owner in inserted if owner == ""]
    if not to_open:
        return [], []
    sealed = {account_id: orjson.loads(value) for account_id, value in fetch(_SEALED, [to_open])}
    keys = personal.keys_of(s for v in sealed.values() if (s := personal.subject_of(v)) is not None)
    return list(sealed), [personal.unseal(v, "owner", keys, account_id) for account_id, v in sealed.items()]


def _erase_elsewhere(account_ids: list[object]) -> None:
    """A forgotten customer's name, also from this table's other generations: the tables a blue/green
    swap replaced (kept for a rollback) and a shadow that stopped, which no runner brings forward."""
    here = fetch("SELECT current_schema()")[0][0]
    for schema in (schemas.LIVE, *schemas.GENERATIONS):
        if schema != here and schemas.exists(schema, TABLE):
            execute(f"UPDATE {schema}.{TABLE} SET owner = %s WHERE account_id = ANY(%s)", [ERASED_NAME, account_ids])


class AccountSummaryProjector(Projector):
    name = "account_summary"
    version = 3  # 2: the account number; 3: the bank's totals beside the rows
    handles = _HANDLES
    tables = (TABLE, TOTALS)
    key_columns = ("account_id",)
    row_columns = tuple(_COLUMNS.split(", "))
    partitionable = True  # one row per account: it follows the account's stream

    def apply(self, span: Span) -> None:
        rows = fetch(_APPLY[span.part is not None], span.params())
        ids, names = _opened_names([row for row in rows if row[1] is not None])
        if ids:
            execute(_NAMES, [ids, names])
        if forgotten := [account_id for account_id, owner in rows if owner is None]:
            _erase_elsewhere(forgotten)

    def totals_differences(self, rows: str, part: int = 0) -> list[tuple[Hashable, Row | None, Row | None]]:
        return [
            (row[0], row[1:6] if row[1] is not None else None, row[6:] if row[6] is not None else None)
            for row in fetch(_TOTALS_DIFFER.format(rows=rows), [part])
        ]

    def expected(self, events: Iterable[RecordedEvent]) -> Iterable[tuple[Hashable, Row]]:
        rows: dict[UUID, Summary] = {}
        fold(rows, (e for e in events if e.type in self.handles))
        return ((key, _values(row)) for key, row in rows.items())
