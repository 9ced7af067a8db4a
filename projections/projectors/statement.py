"""Statement lines: every movement of money with the running balance after it."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from uuid import UUID

from ledger.eventstore import RecordedEvent
from projections.projectors.base import Projector, Row, copy_rows, fetch

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



class StatementProjector(Projector):
    name = "statement"
    handles = frozenset(_MOVEMENTS)
    tables = ("projections_statementline",)

    def apply(self, events: list[RecordedEvent]) -> None:
        touched = list({e.stream_id for e in events})
        # The newest line of each touched account: one index probe each. (DISTINCT ON read every
        # line of every touched account, so each batch cost more as the statements grew.)
        balances = dict(fetch(
            "SELECT t.account_id, l.balance_after FROM unnest(%b::uuid[]) AS t(account_id)"
            " CROSS JOIN LATERAL (SELECT balance_after FROM projections_statementline s"
            "  WHERE s.account_id = t.account_id ORDER BY s.version DESC LIMIT 1) l", [touched]))
        lines = fold(balances, events)
        # COPY, not INSERT ... unnest: lines are only ever added (performance).
        copy_rows("projections_statementline", f"account_id, version, {_COLUMNS}",
                  ((*key, *row) for key, row in lines))

    def expected(self, events: Iterable[RecordedEvent]) -> dict[Hashable, Row]:
        return dict(fold({}, (e for e in events if e.type in self.handles)))

    def table_rows(self) -> dict[Hashable, Row]:
        return {(r[0], r[1]): r[2:] for r in fetch(
            f"SELECT account_id, version, {_COLUMNS} FROM projections_statementline")}
