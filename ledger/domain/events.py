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


# The stable names events are stored under; a Python path is never stored.
EVENT_TYPES: dict[str, type[AccountEvent]] = {
    cls.type_name: cls
    for cls in (
        AccountOpened,
        MoneyDeposited,
        MoneyWithdrawn,
        TransferSent,
        TransferReceived,
        AccountFrozen,
        AccountUnfrozen,
        AccountClosed,
    )
}
