"""The Account aggregate: `evolve` folds events into state; the `decide_*` functions check a command
against that state and return the events to record, or raise the DomainError of the broken rule."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from ledger.domain import commands as c
from ledger.domain import errors
from ledger.domain import events as e
from ledger.domain.money import CURRENCIES, MAX_AMOUNT, MAX_BALANCE, format_money

MAX_OWNER_LENGTH = 120
MAX_NOTE_LENGTH = 200
STREAM_TYPE = "account"  # the stream type of every Account stream in the event store


class Status(enum.StrEnum):
    NEW = "new"  # nothing recorded yet: the stream is empty
    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Account:
    id: UUID
    version: int = 0
    owner: str = ""
    currency: str = ""
    overdraft_limit: int = 0
    balance: int = 0
    status: Status = Status.NEW

    @property
    def available(self) -> int:
        """What may still leave the account: balance plus overdraft, never below zero."""
        return max(self.balance + self.overdraft_limit, 0)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


# --- evolve: the only place state changes -------------------------------------------------------


def _opened(a: Account, ev: e.AccountOpened) -> Account:
    return replace(a, owner=ev.owner, currency=ev.currency, overdraft_limit=ev.overdraft_limit, status=Status.OPEN)


def _credited(a: Account, ev: e.MoneyDeposited | e.TransferReceived) -> Account:
    return replace(a, balance=a.balance + ev.amount)


def _debited(a: Account, ev: e.MoneyWithdrawn | e.TransferSent) -> Account:
    return replace(a, balance=a.balance - ev.amount)


_EVOLVERS: dict[type[e.AccountEvent], Callable[[Account, Any], Account]] = {
    e.AccountOpened: _opened,
    e.MoneyDeposited: _credited,
    e.TransferReceived: _credited,
    e.MoneyWithdrawn: _debited,
    e.TransferSent: _debited,
    e.AccountFrozen: lambda a, ev: replace(a, status=Status.FROZEN),
    e.AccountUnfrozen: lambda a, ev: replace(a, status=Status.OPEN),
    e.AccountClosed: lambda a, ev: replace(a, status=Status.CLOSED),
}


def evolve(account: Account, event: e.AccountEvent) -> Account:
    """Apply one event. An event without a handler is a programming error, never silently ignored."""
    try:
        handler = _EVOLVERS[type(event)]
    except KeyError:
        raise TypeError(f"Account has no handler for {type(event).__name__}") from None
    return replace(handler(account, event), version=account.version + 1)


def fold(account_id: UUID, events: Iterable[e.AccountEvent], start: Account | None = None) -> Account:
    state = start if start is not None else Account(id=account_id)
    for event in events:
        state = evolve(state, event)
    return state


# --- guards ------------------------------------------------------------------------------------


def _require_existing(a: Account, *, field: str | None = None) -> None:
    if a.status is Status.NEW:
        raise errors.AccountNotFound(a.id, field=field)


def _require_active(a: Account, *, field: str | None = None) -> None:
    _require_existing(a, field=field)
    if a.status is Status.CLOSED:
        raise errors.AccountIsClosed(a.id, field=field)


def _require_amount(a: Account, amount: int, currency: str) -> None:
    if currency != a.currency:
        raise errors.CurrencyMismatch.of_amount(account_currency=a.currency, amount_currency=currency)
    if amount <= 0:
        raise errors.AmountMustBePositive()
    if amount > MAX_AMOUNT:
        raise errors.AmountTooLarge(a.money(MAX_AMOUNT))


def _require_can_receive(a: Account, amount: int) -> None:
    if a.balance + amount > MAX_BALANCE:
        raise errors.BalanceLimitExceeded(a.money(MAX_BALANCE))


def _require_can_pay(a: Account, amount: int) -> None:
    if a.status is Status.FROZEN:
        raise errors.AccountIsFrozen(a.id)
    if amount > a.available:
        raise errors.InsufficientFunds(a.money(a.available))


def _note(text: str, *, field: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise errors.InvalidText(f"Keep the {field} to {MAX_NOTE_LENGTH} characters or fewer.", field=field)
    return text


# --- decide ------------------------------------------------------------------------------------


def decide_open(a: Account, cmd: c.OpenAccount) -> list[e.AccountEvent]:
    if a.status is not Status.NEW:
        raise errors.AccountAlreadyExists(a.id)
    owner = " ".join(cmd.owner.split())
    if not owner:
        raise errors.InvalidText("Enter the account owner's name.", field="owner")
    if len(owner) > MAX_OWNER_LENGTH:
        raise errors.InvalidText(f"Keep the owner's name to {MAX_OWNER_LENGTH} characters or fewer.", field="owner")
    if cmd.currency not in CURRENCIES:
        raise errors.UnsupportedCurrency(cmd.currency, sorted(CURRENCIES))
    if cmd.overdraft_limit < 0:
        raise errors.InvalidOverdraftLimit("The overdraft limit cannot be negative.")
    if cmd.overdraft_limit > MAX_AMOUNT:
        raise errors.InvalidOverdraftLimit(
            f"The overdraft limit may be at most {format_money(MAX_AMOUNT, cmd.currency)}."
        )
    return [e.AccountOpened(account_id=a.id, owner=owner, currency=cmd.currency, overdraft_limit=cmd.overdraft_limit)]


def decide_deposit(a: Account, cmd: c.Deposit) -> list[e.AccountEvent]:
    _require_active(a)
    _require_amount(a, cmd.amount, cmd.currency)
    _require_can_receive(a, cmd.amount)
    return [
        e.MoneyDeposited(account_id=a.id, amount=cmd.amount, currency=a.currency, memo=_note(cmd.memo, field="memo"))
    ]


def decide_withdraw(a: Account, cmd: c.Withdraw) -> list[e.AccountEvent]:
    _require_active(a)
    _require_amount(a, cmd.amount, cmd.currency)
    _require_can_pay(a, cmd.amount)
    return [
        e.MoneyWithdrawn(account_id=a.id, amount=cmd.amount, currency=a.currency, memo=_note(cmd.memo, field="memo"))
    ]


def decide_transfer(source: Account, target: Account, cmd: c.Transfer) -> list[e.AccountEvent]:
    """A transfer writes to both streams in one atomic append: all or nothing."""
    if cmd.account_id == cmd.to_account_id:
        raise errors.SameAccountTransfer()
    _require_active(source)
    _require_active(target, field="to_account")
    if target.currency != source.currency:
        raise errors.CurrencyMismatch.of_transfer(source_currency=source.currency, target_currency=target.currency)
    _require_amount(source, cmd.amount, cmd.currency)
    _require_can_pay(source, cmd.amount)
    _require_can_receive(target, cmd.amount)
    memo = _note(cmd.memo, field="memo")
    transfer_id = cmd.command_id
    return [
        e.TransferSent(
            account_id=source.id,
            transfer_id=transfer_id,
            to_account_id=target.id,
            amount=cmd.amount,
            currency=source.currency,
            memo=memo,
        ),
        e.TransferReceived(
            account_id=target.id,
            transfer_id=transfer_id,
            from_account_id=source.id,
            amount=cmd.amount,
            currency=source.currency,
            memo=memo,
        ),
    ]


def decide_freeze(a: Account, cmd: c.FreezeAccount) -> list[e.AccountEvent]:
    _require_active(a)
    if a.status is Status.FROZEN:
        raise errors.AccountAlreadyFrozen(a.id)
    return [e.AccountFrozen(account_id=a.id, reason=_note(cmd.reason, field="reason"))]


def decide_unfreeze(a: Account, cmd: c.UnfreezeAccount) -> list[e.AccountEvent]:
    _require_active(a)
    if a.status is not Status.FROZEN:
        raise errors.AccountNotFrozen(a.id)
    return [e.AccountUnfrozen(account_id=a.id, reason=_note(cmd.reason, field="reason"))]


def decide_close(a: Account, cmd: c.CloseAccount) -> list[e.AccountEvent]:
    _require_active(a)
    if a.balance != 0:
        raise errors.BalanceNotZero(a.money(a.balance))
    return [e.AccountClosed(account_id=a.id, reason=_note(cmd.reason, field="reason"))]


# --- dispatch ----------------------------------------------------------------------------------

_DECIDERS: dict[type[c.Command], Callable[[Account, Any], list[e.AccountEvent]]] = {
    c.OpenAccount: decide_open,
    c.Deposit: decide_deposit,
    c.Withdraw: decide_withdraw,
    c.FreezeAccount: decide_freeze,
    c.UnfreezeAccount: decide_unfreeze,
    c.CloseAccount: decide_close,
}


def streams_of(command: c.Command) -> list[UUID]:
    """The accounts whose history a command is decided against (and may append to)."""
    if isinstance(command, c.Transfer):
        return [command.account_id, command.to_account_id]
    if type(command) not in _DECIDERS:
        raise TypeError(f"No handler for {type(command).__name__}")
    return [command.account_id]


def decide(command: c.Command, accounts: dict[UUID, Account]) -> list[e.AccountEvent]:
    own = accounts[command.account_id]
    if command.expected_version is not None and command.expected_version != own.version:
        raise errors.StaleView(command.expected_version, own.version)
    if isinstance(command, c.Transfer):
        return decide_transfer(accounts[command.account_id], accounts[command.to_account_id], command)
    return _DECIDERS[type(command)](accounts[command.account_id], command)
