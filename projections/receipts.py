"""A command's receipt: what it recorded, on which accounts, by whom and when, and each account's
balance (or status) right after it, read from the events the command appended and from the read
models (the statement's balance after each line, the owners' names)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import store
from ledger.domain import approval
from ledger.store import Checkpoint, RecordedEvent
from projections.models import AccountSummary, StatementLine

MOVEMENTS = {
    "MoneyDeposited": "Deposit",
    "MoneyWithdrawn": "Withdrawal",
    "TransferSent": "Transfer out",
    "TransferReceived": "Transfer in",
    "MovementReversed": "Reversal",
}
STATUS_CHANGES = {
    "AccountOpened": "Account opened",
    "AccountFrozen": "Account frozen",
    "AccountUnfrozen": "Account unfrozen",
    "AccountClosed": "Account closed",
    "CustomerForgotten": "Customer forgotten",
    "FundsHeld": "Amount held for approval",
    "HoldReleased": "Held amount given back",
}
# The back office's own streams: an approval request's and a standing order's.
OTHER_STEPS = {
    "ApprovalRequested": "Request for approval",
    "ApprovalGranted": "Request approved",
    "ApprovalRejected": "Request rejected",
    "ApprovalExpired": "Request expired",
    "ApprovalSettled": "Request settled",
    "StandingOrderSetUp": "Standing order set up",
    "StandingOrderPaid": "Standing order payment",
    "StandingOrderPaymentFailed": "Standing order payment failed",
    "StandingOrderCancelled": "Standing order cancelled",
    "StandingOrderEnded": "Standing order ended",
}
# The read models a receipt shows: what it waits for after a task (read-your-writes).
RECEIPT_PROJECTIONS = ("account_summary", "statement")


@dataclass(frozen=True)
class Line:
    """What the command did to one account."""

    account_id: UUID | None  # None: a step of a request's or an order's own (its account is elsewhere)
    owner: str
    currency: str
    what: str
    amount: int | None  # signed, minor units; None for a change of status
    balance_after: int | None  # None until the statement has the line (or for a change of status)
    note: str  # the memo or the reason

    @property
    def movement(self) -> bool:
        return self.what in MOVEMENTS.values()


@dataclass(frozen=True)
class Receipt:
    command_id: UUID
    command: str  # the command's type, as recorded
    actor: str
    recorded_at: datetime
    checkpoint: Checkpoint
    lines: list[Line]
    request_id: UUID | None  # the approval request it made, if any


def receipt_get(*, command_id: UUID) -> Receipt | None:
    events = store.read_command(command_id)
    if not events:
        return None
    accounts = [e for e in events if e.stream_type == "account"]
    named = {e.stream_id for e in accounts} | {a for e in events if (a := _account_of(e)) is not None}
    owners = dict(AccountSummary.objects.filter(account_id__in=named).values_list("account_id", "owner"))
    balances = _balances_after(accounts)
    others = [e for e in events if e.stream_type != "account" and e.type in OTHER_STEPS]
    first, last = events[0], events[-1]
    return Receipt(
        command_id=command_id,
        command=first.metadata.get("command", ""),
        actor=first.metadata.get("actor", ""),
        recorded_at=first.recorded_at,
        checkpoint=Checkpoint(last.tx_id, last.position),
        lines=[
            *(_line(e, owners.get(e.stream_id, ""), balances.get((e.stream_id, e.version))) for e in accounts),
            *(_step(e, owners) for e in others),
        ],
        request_id=next((e.stream_id for e in events if e.stream_type == approval.STREAM_TYPE), None),
    )


def _account_of(event: RecordedEvent) -> UUID | None:
    found = event.data.get("account_id")
    return UUID(found) if isinstance(found, str) else None


def _step(event: RecordedEvent, owners: dict[UUID, str]) -> Line:
    account = _account_of(event)
    return Line(
        account,
        owners.get(account, "") if account else "",
        event.data.get("currency", ""),
        OTHER_STEPS[event.type],
        event.data.get("amount"),
        None,
        event.data.get("reason") or event.data.get("memo", ""),
    )


def _balances_after(events: list[RecordedEvent]) -> dict[tuple[UUID, int], int]:
    movements = [e for e in events if e.type in MOVEMENTS]
    if not movements:
        return {}
    found = StatementLine.objects.filter(
        account_id__in={e.stream_id for e in movements}, version__in={e.version for e in movements}
    ).values_list("account_id", "version", "balance_after")
    return {(account, version): balance for account, version, balance in found}


def _line(event: RecordedEvent, owner: str, balance_after: int | None) -> Line:
    data = event.data
    if event.type in MOVEMENTS:
        sign = -1 if event.type in ("MoneyWithdrawn", "TransferSent") else 1
        if event.type == "MovementReversed":
            sign = -1 if data.get("original_type") in ("MoneyDeposited", "TransferReceived") else 1
        return Line(
            event.stream_id,
            owner,
            data.get("currency", ""),
            MOVEMENTS[event.type],
            sign * data["amount"],
            balance_after,
            data.get("memo") or data.get("reason", ""),
        )
    return Line(
        event.stream_id,
        owner or data.get("owner", ""),
        data.get("currency", ""),
        STATUS_CHANGES.get(event.type, event.type),
        data.get("amount"),
        None,
        data.get("reason", ""),
    )
