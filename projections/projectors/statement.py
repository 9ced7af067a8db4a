"""Statement lines: every movement of money with the running balance after it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from uuid import UUID

from ledger.store import RecordedEvent
from ledger.store.sql import Row, execute
from ledger.store.upcasting import CURRENT_VIEW as EVENTS
from projections.projectors.base import IN_SPAN, Projector, Span, sql_text

# event type -> (kind, sign, data key of the counterparty)
_MOVEMENTS = {
    "MoneyDeposited": ("deposit", 1, None),
    "MoneyWithdrawn": ("withdrawal", -1, None),
    "TransferReceived": ("transfer_in", 1, "from_account_id"),
    "TransferSent": ("transfer_out", -1, "to_account_id"),
}


def fold(balances: dict[UUID, int], events: Iterable[RecordedEvent]) -> Iterator[tuple[Hashable, Row]]:
    """Lines for `events`, keyed by (account, version), one by one; `balances` is updated in place."""
    for e in events:
        kind, sign, counterparty = _MOVEMENTS[e.type]
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
                e.data.get("memo", ""),
            ),
        )


_COLUMNS = "position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo"

_KINDS = ", ".join(
    f"({sql_text(type_)}, {sql_text(kind)}, {sign}, {sql_text(key)})" for type_, (kind, sign, key) in _MOVEMENTS.items()
)

# The running balance is a window sum over each account's lines of the span, in log order (the
# order the fold in `expected` uses), on top of the account's balance before the span. That opening
# balance is read once per account the span touches (one probe of the (account_id, version) index),
# not once per line. Rows come out sorted by account, so the index is written in key order.
_APPLY = f"""
WITH line AS (
    SELECT e.stream_id, e.version, e.position, e.tx_id, e.recorded_at, m.kind,
           m.sign * (e.data ->> 'amount')::bigint AS amount, e.data ->> 'currency' AS currency,
           (e.data ->> m.counterparty)::uuid AS counterparty_id,
           coalesce(e.metadata ->> 'actor', '') AS actor, coalesce(e.data ->> 'memo', '') AS memo
      FROM {EVENTS} e JOIN (VALUES {_KINDS}) AS m (type, kind, sign, counterparty) ON m.type = e.type
     WHERE {IN_SPAN}
), opening AS (
    SELECT t.stream_id, l.balance_after
      FROM (SELECT DISTINCT stream_id FROM line) t
     CROSS JOIN LATERAL (SELECT balance_after FROM projections_statementline s
                          WHERE s.account_id = t.stream_id ORDER BY s.version DESC LIMIT 1) l
)
INSERT INTO projections_statementline (account_id, version, {_COLUMNS})
SELECT line.stream_id, line.version, line.position, line.recorded_at, line.kind, line.amount,
       coalesce(opening.balance_after, 0) + sum(line.amount) OVER (
           PARTITION BY line.stream_id ORDER BY line.tx_id, line.position ROWS UNBOUNDED PRECEDING),
       line.currency, line.counterparty_id, line.actor, line.memo
  FROM line LEFT JOIN opening USING (stream_id)
"""


class StatementProjector(Projector):
    name = "statement"
    handles = frozenset(_MOVEMENTS)
    tables = ("projections_statementline",)
    key_columns = ("account_id", "version")
    row_columns = tuple(_COLUMNS.split(", "))

    def apply(self, span: Span) -> None:
        execute(_APPLY, span.params())

    def expected(self, events: Iterable[RecordedEvent]) -> Iterator[tuple[Hashable, Row]]:
        return fold({}, (e for e in events if e.type in self.handles))
