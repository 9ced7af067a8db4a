"""Statement lines: every movement of money with the running balance after it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from uuid import UUID

from ledger.eventstore import RecordedEvent
from projections.projectors.base import Projector, Row, execute, fetch

# event type -> (kind, sign, data key of the counterparty)
_MOVEMENTS = {
    "MoneyDeposited": ("deposit", 1, None),
    "MoneyWithdrawn": ("withdrawal", -1, None),
    "TransferReceived": ("transfer_in", 1, "from_account_id"),
    "TransferSent": ("transfer_out", -1, "to_account_id"),
}


def fold(balances: dict[UUID, int], events: Iterable[RecordedEvent]) -> list[tuple[Hashable, Row]]:
    """Lines for `events`, keyed by (account, version); `balances` is updated in place."""
    lines = []
    for e in events:
        kind, sign, counterparty = _MOVEMENTS[e.type]
        amount = sign * e.data["amount"]
        balance = balances.get(e.stream_id, 0) + amount
        balances[e.stream_id] = balance
        other = UUID(e.data[counterparty]) if counterparty else None
        lines.append(((e.stream_id, e.version), (e.position, e.recorded_at, kind, amount, balance,
                                                  e.data["currency"], other, e.metadata.get("actor", ""),
                                                  e.data.get("memo", ""))))
    return lines


_COLUMNS = "position, recorded_at, kind, amount, balance_after, currency, counterparty_id, actor, memo"

_INSERT = f"""
INSERT INTO projections_statementline (account_id, version, {_COLUMNS})
SELECT * FROM unnest(%s::uuid[], %s::integer[], %s::bigint[], %s::timestamptz[], %s::text[], %s::bigint[],
                     %s::bigint[], %s::text[], %s::uuid[], %s::text[], %s::text[])
"""


class StatementProjector(Projector):
    name = "statement"
    handles = frozenset(_MOVEMENTS)
    tables = ("projections_statementline",)

    def apply(self, events: list[RecordedEvent]) -> None:
        touched = list({e.stream_id for e in events})
        balances = dict(fetch(
            "SELECT DISTINCT ON (account_id) account_id, balance_after FROM projections_statementline"
            " WHERE account_id = ANY(%s) ORDER BY account_id, version DESC", [touched]))
        lines = fold(balances, events)
        columns = list(zip(*[(*key, *row) for key, row in lines], strict=True))
        execute(_INSERT, [list(column) for column in columns])

    def expected(self, events: Iterable[RecordedEvent]) -> dict[Hashable, Row]:
        return dict(fold({}, (e for e in events if e.type in self.handles)))

    def table_rows(self) -> dict[Hashable, Row]:
        return {(r[0], r[1]): r[2:] for r in fetch(
            f"SELECT account_id, version, {_COLUMNS} FROM projections_statementline")}
