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
    owner: str
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
class FreezeAccount(Command):
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class UnfreezeAccount(Command):
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class CloseAccount(Command):
    reason: str = ""
