"""Statement lines: every movement of money with the running balance after it."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from uuid import UUID

from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections.projectors.base import Projector, Span, by_partition, sql_list, sql_text
from projections.projectors.reversal import REVERSAL

# event type -> (kind, sign, data key of the counterparty)
_MOVEMENTS = {
    "MoneyDeposited": ("deposit", 1, None),
    "MoneyWithdrawn": ("withdrawal", -1, None),
    "TransferReceived": ("transfer_in", 1, "from_account_id"),
    "TransferSent": ("transfer_out", -1, "to_account_id"),
}
# A reversal is a line of its own, the opposite of its original's, keyed by the original's type.
_REVERSALS = {
    "MoneyDeposited": ("deposit_reversal", -1, None),
    "MoneyWithdrawn": ("withdrawal_reversal", 1, None),
    "TransferReceived": ("transfer_in_reversal", -1, "counterparty_id"),
    "TransferSent": ("transfer_out_reversal", 1, "counterparty_id"),
}


def fold(balances: dict[UUID, int], events: Iterable[RecordedEvent]) -> Iterator[tuple[Hashable, Row]]:
    """Lines for `events`, keyed by (account, version), one by one; `balances` is updated in place."""
    for e in events:
        reversal = e.type == REVERSAL
        kind, sign, counterparty = _REVERSALS[e.data["original_type"]] if reversal else _MOVEMENTS[e.type]
        amount = sign * e.data["amount"]
        balance = balances.get(e.stream_id, 0) + amount
        balances[e.stream_id] = balance
        other = UUID(e.data[counterparty]) if counterparty else None
        yield (
            (e.stream_id, e.version),
            (
                e.position,
                e.recorded_at,
                kind,
                amount,
                balance,
                e.data["currency"],
                other,
                e.metadata.get("actor", ""),
                e.data["reason"] if reversal else e.data.get("memo", ""),
                e.data["original_version"] if reversal else None,
            ),
        )


_COLUMNS = (
    "position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo, reverses_version"
)

_KEYED = [*_MOVEMENTS.items(), *((f"{REVERSAL}:{original}", values) for original, values in _REVERSALS.items())]
# A reversal is found by its original's type ("MovementReversed:MoneyDeposited").
_KIND_KEY = (
    f"CASE WHEN e.type = {sql_text(REVERSAL)} THEN e.type || ':' || (e.data ->> 'original_type') ELSE e.type END"
)


def _by_kind(value_of: Callable[[tuple[str, int, str | None]], str]) -> str:
    """A CASE over the line's kind key. Expressions, not a join with a VALUES list: the planner
    estimates the span's lines from the types' statistics, where a join on a computed key made it
    guess one line and re-read the opening balances once per line (14 s for a span of 5,000)."""
    return f"CASE {_KIND_KEY} " + " ".join(f"WHEN {sql_text(key)} THEN {value_of(v)}" for key, v in _KEYED) + " END"


_KIND = _by_kind(lambda v: sql_text(v[0]))
_SIGN = _by_kind(lambda v: str(v[1]))
_COUNTERPARTY = _by_kind(lambda v: f"(e.data ->> {sql_text(v[2])})::uuid" if v[2] else "NULL::uuid")


# The running balance is a window sum over each account's lines of the span, in log order (the
# order the fold in `expected` uses), starting from the account's balance before the span: that
# opening balance is a row of its own in the sum, first in its account, read once per account the
# span touches (one probe of the (account_id, version) index) and dropped after the sum. No join
# between the lines and the openings: when the planner misjudged the span's size (all of a span's
# events in one transaction, as a bulk import writes them) it joined them in a nested loop that
# read each opening again per line, 14 s for 5,000 lines; the sum's one sort cannot go quadratic.
# Rows come out sorted by account, so the index is written in key order.
def _apply_sql(in_span: str) -> str:
    return f"""
WITH line AS MATERIALIZED (
    SELECT e.stream_id, e.version, e.position, e.tx_id, e.recorded_at, {_KIND} AS kind,
           {_SIGN} * (e.data ->> 'amount')::bigint AS amount, e.data ->> 'currency' AS currency,
           {_COUNTERPARTY} AS counterparty_id,
           coalesce(e.metadata ->> 'actor', '') AS actor, coalesce(e.data ->> 'memo', e.data ->> 'reason', '') AS memo,
           (e.data ->> 'original_version')::integer AS reverses_version
      FROM {EVENTS} e
     WHERE e.type IN ({sql_list(sorted([*_MOVEMENTS, REVERSAL]))}) AND {in_span}
), summed AS (
    SELECT s.*, sum(s.amount) OVER (
               PARTITION BY s.stream_id ORDER BY s.is_opening DESC, s.tx_id, s.position ROWS UNBOUNDED PRECEDING
           ) AS balance_after
      FROM (SELECT line.*, false AS is_opening FROM line
            UNION ALL
            SELECT t.stream_id, NULL, NULL, NULL, NULL, NULL, l.balance_after, NULL, NULL, NULL, NULL, NULL, true
              FROM (SELECT DISTINCT stream_id FROM line) t
             CROSS JOIN LATERAL (SELECT balance_after FROM projections_statementline s
                                  WHERE s.account_id = t.stream_id ORDER BY s.version DESC LIMIT 1) l) s
)
INSERT INTO projections_statementline (account_id, version, {_COLUMNS})
SELECT stream_id, version, position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo,
       reverses_version
  FROM summed
 WHERE NOT is_opening
"""


_APPLY = by_partition(_apply_sql)


class StatementProjector(Projector):
    name = "statement"
    handles = frozenset({*_MOVEMENTS, REVERSAL})
    tables = ("projections_statementline",)
    key_columns = ("account_id", "version")
    row_columns = tuple(_COLUMNS.split(", "))
    partitionable = True  # an account's lines follow its stream

    def apply(self, span: Span) -> None:
        execute(_APPLY[span.part is not None], span.params())

    def expected(self, events: Iterable[RecordedEvent]) -> Iterator[tuple[Hashable, Row]]:
        return fold({}, (e for e in events if e.type in self.handles))
