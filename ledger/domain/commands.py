"""Commands: what a person asks the ledger to do, in the imperative, each with a client-made id."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID, uuid4


@dataclass(frozen=True, kw_only=True, slots=True)
class Command:
    """`command_id` is made by the client (the form), so a repeated submission is recognised.
    `expected_version`, when given, is the account version the person saw: if the account has
    changed since, the command is refused rather than applied to a state nobody looked at."""

    account_id: UUID
    command_id: UUID = field(default_factory=uuid4)
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OpenAccount(Command):
    # Personal: sealed in the log with a key of the account's customer, and fingerprinted with that
    # key too (ledger/execute.py), so that no command record can give the name back once it is forgotten.
    owner: str = field(metadata={"personal": True})
    currency: str
    overdraft_limit: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class Deposit(Command):
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Withdraw(Command):
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Transfer(Command):
    """Move money from `account_id` to `to_account_id`, both in the same currency."""

    to_account_id: UUID
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordedMovement:
    """One side of a movement as the event store recorded it (read by ledger.reversals, never typed
    in by a person): what a reversal names and moves back."""

    account_id: UUID
    event_id: UUID
    position: int
    version: int
    command_id: UUID
    type: str  # the original event's type
    amount: int
    currency: str
    counterparty_id: UUID | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReverseMovement(Command):
    """Move back the money of a recorded movement: a deposit or a withdrawal (one side), or both
    sides of a transfer (sent, then received) at once. `account_id` is the account it was asked
    from; its command id derives from the movement (ledger.reversals), so it happens at most once."""

    sides: tuple[RecordedMovement, ...]
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class FreezeAccount(Command):
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnfreezeAccount(Command):
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CloseAccount(Command):
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ForgetCustomer(Command):
    """Destroy the key of a closed account's customer (crypto-shredding). The retention period is
    checked before it is sent (ledger/forgetting.py): the domain's events carry no clock."""

    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class SettleHold(Command):
    """Make the approved movement the hold `hold_id` was set aside for, and release the hold, in
    one append. `to_account_id` is None for a withdrawal."""

    hold_id: UUID
    to_account_id: UUID | None = None
    amount: int
    currency: str
    memo: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ReleaseHold(Command):
    """Give the held money back to the available funds without moving it."""

    hold_id: UUID
