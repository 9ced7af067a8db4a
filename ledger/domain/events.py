"""Account events: small frozen facts in the past tense, stored under a stable name and schema version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from uuid import UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountEvent:
    """Every event belongs to one account's stream; `account_id` is that stream's id."""

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    account_id: UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountOpened(AccountEvent):
    type_name = "AccountOpened"
    schema_version = 2  # v1 had no overdraft_limit; see ledger/store/upcasting.py

    owner: str
    currency: str
    overdraft_limit: int  # minor units


@dataclass(frozen=True, kw_only=True, slots=True)
class MoneyDeposited(AccountEvent):
    type_name = "MoneyDeposited"

    amount: int  # minor units
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class MoneyWithdrawn(AccountEvent):
    type_name = "MoneyWithdrawn"

    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferSent(AccountEvent):
    type_name = "TransferSent"

    transfer_id: UUID
    to_account_id: UUID
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class TransferReceived(AccountEvent):
    type_name = "TransferReceived"

    transfer_id: UUID
    from_account_id: UUID
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class MovementReversed(AccountEvent):
    """A compensating entry: the money of one earlier movement on this account moves back, and the
    original stays recorded as it was. Both sides of a transfer are reversed in one append, each
    naming its own side's original event; `reversal_id` (the reversal command's id) joins them."""

    type_name = "MovementReversed"

    reversal_id: UUID
    original_event_id: UUID
    original_position: int
    original_version: int
    original_command_id: UUID
    original_type: str  # MoneyDeposited, MoneyWithdrawn, TransferSent or TransferReceived
    amount: int  # minor units, > 0; it moves the opposite way to the original (see `credit`)
    currency: str
    counterparty_id: UUID | None = None  # the other account of a reversed transfer
    reason: str

    @property
    def credit(self) -> bool:
        """Reversing money that left the account brings it back; reversing money that came in takes it out."""
        return self.original_type in REVERSAL_CREDITS


# The original event types whose reversal credits the account (the others' reversal debits it).
REVERSAL_CREDITS = frozenset({"MoneyWithdrawn", "TransferSent"})
REVERSIBLE = frozenset({"MoneyDeposited", "MoneyWithdrawn", "TransferSent", "TransferReceived"})


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountFrozen(AccountEvent):
    type_name = "AccountFrozen"

    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountUnfrozen(AccountEvent):
    type_name = "AccountUnfrozen"

    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountClosed(AccountEvent):
    type_name = "AccountClosed"

    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CustomerForgotten(AccountEvent):
    """The customer's key was destroyed: their name, sealed in this account's events
    (ledger/store/personal.py), can no longer be read anywhere. It holds no personal data itself."""

    type_name = "CustomerForgotten"

    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FundsHeld(AccountEvent):
    """Money set aside for a pending approval: the balance is unchanged, the available funds drop."""

    type_name = "FundsHeld"

    hold_id: UUID  # the approval request it is held for
    amount: int
    currency: str


@dataclass(frozen=True, kw_only=True, slots=True)
class HoldReleased(AccountEvent):
    """The hold ends: `outcome` is "executed" when the movement was made in the same append,
    else "released" (rejected, expired, or the movement failed)."""

    type_name = "HoldReleased"

    hold_id: UUID
    amount: int
    currency: str
    outcome: str


# The stable names events are stored under; a Python path is never stored.
EVENT_TYPES: dict[str, type[AccountEvent]] = {
    cls.type_name: cls
    for cls in (
        AccountOpened,
        MoneyDeposited,
        MoneyWithdrawn,
        TransferSent,
        TransferReceived,
        MovementReversed,
        AccountFrozen,
        AccountUnfrozen,
        AccountClosed,
        CustomerForgotten,
        FundsHeld,
        HoldReleased,
    )
}
