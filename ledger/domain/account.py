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
# What every reader of the store gets instead of a forgotten customer's name (ledger/store/personal.py).
ERASED_NAME = "(erased)"
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
    reversed: frozenset[UUID] = frozenset()  # the event ids of this account's movements that were reversed
    holds: tuple[tuple[UUID, int], ...] = ()  # (hold id, amount) set aside for pending approvals
    forgotten: bool = False  # the customer's key is destroyed: the owner's name reads ERASED_NAME

    @property
    def held(self) -> int:
        return sum(amount for _, amount in self.holds)

    @property
    def available(self) -> int:
        """What may still leave the account: balance plus overdraft minus what is held, never below zero."""
        return max(self.balance + self.overdraft_limit - self.held, 0)

    def hold(self, hold_id: UUID) -> int | None:
        """The amount held under `hold_id`, or None."""
        return next((amount for held_id, amount in self.holds if held_id == hold_id), None)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


# --- evolve: the only place state changes -------------------------------------------------------


def _opened(a: Account, ev: e.AccountOpened) -> Account:
    return replace(a, owner=ev.owner, currency=ev.currency, overdraft_limit=ev.overdraft_limit, status=Status.OPEN)


def _credited(a: Account, ev: e.MoneyDeposited | e.TransferReceived) -> Account:
    return replace(a, balance=a.balance + ev.amount)


def _debited(a: Account, ev: e.MoneyWithdrawn | e.TransferSent) -> Account:
    return replace(a, balance=a.balance - ev.amount)


def _reversed(a: Account, ev: e.MovementReversed) -> Account:
    change = ev.amount if ev.credit else -ev.amount
    return replace(a, balance=a.balance + change, reversed=a.reversed | {ev.original_event_id})


def _held(a: Account, ev: e.FundsHeld) -> Account:
    return replace(a, holds=(*a.holds, (ev.hold_id, ev.amount)))


def _released(a: Account, ev: e.HoldReleased) -> Account:
    return replace(a, holds=tuple(h for h in a.holds if h[0] != ev.hold_id))


_EVOLVERS: dict[type[e.AccountEvent], Callable[[Account, Any], Account]] = {
    e.AccountOpened: _opened,
    e.MoneyDeposited: _credited,
    e.TransferReceived: _credited,
    e.MoneyWithdrawn: _debited,
    e.TransferSent: _debited,
    e.MovementReversed: _reversed,
    e.AccountFrozen: lambda a, ev: replace(a, status=Status.FROZEN),
    e.AccountUnfrozen: lambda a, ev: replace(a, status=Status.OPEN),
    e.AccountClosed: lambda a, ev: replace(a, status=Status.CLOSED),
    e.CustomerForgotten: lambda a, ev: replace(a, owner=ERASED_NAME, forgotten=True),
    e.FundsHeld: _held,
    e.HoldReleased: _released,
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


def whose(a: Account) -> str:
    """The account as a person knows it, for the rules' messages."""
    return f"{a.owner}'s account" if a.owner and a.owner != ERASED_NAME else "The account"


# --- guards ------------------------------------------------------------------------------------


def _require_existing(a: Account, *, field: str | None = None) -> None:
    if a.status is Status.NEW:
        raise errors.AccountNotFound(a.id, field=field)


def _require_active(a: Account, *, field: str | None = None) -> None:
    _require_existing(a, field=field)
    if a.status is Status.CLOSED:
        raise errors.AccountIsClosed(whose(a), field=field)


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
        raise errors.AccountIsFrozen(whose(a))
    if amount > a.available:
        raise errors.InsufficientFunds(a.money(a.available))


def _note(text: str, *, field: str) -> str:
    text = text.strip()
    if len(text) > MAX_NOTE_LENGTH:
        raise errors.InvalidText(f"Keep the {field} to {MAX_NOTE_LENGTH} characters or fewer.", field=field)
    return text


def _reason(text: str, task: str) -> str:
    """A freeze's or a close's reason: required (unfreezing may say nothing more)."""
    reason = _note(text, field="reason")
    if not reason:
        raise errors.ReasonRequired(task)
    return reason


# --- decide ------------------------------------------------------------------------------------


def decide_open(a: Account, cmd: c.OpenAccount) -> list[e.AccountEvent]:
    if a.status is not Status.NEW:
        raise errors.AccountAlreadyExists(whose(a))
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
        raise errors.AccountAlreadyFrozen(whose(a))
    return [e.AccountFrozen(account_id=a.id, reason=_reason(cmd.reason, "frozen"))]


def decide_unfreeze(a: Account, cmd: c.UnfreezeAccount) -> list[e.AccountEvent]:
    _require_active(a)
    if a.status is not Status.FROZEN:
        raise errors.AccountNotFrozen(whose(a))
    return [e.AccountUnfrozen(account_id=a.id, reason=_note(cmd.reason, field="reason"))]


def decide_close(a: Account, cmd: c.CloseAccount) -> list[e.AccountEvent]:
    _require_active(a)
    if a.holds:  # a hold is a promise to a pending request; closing would break it silently
        raise errors.HoldsPending(a.money(a.held))
    if a.balance != 0:
        raise errors.BalanceNotZero(a.money(a.balance))
    return [e.AccountClosed(account_id=a.id, reason=_reason(cmd.reason, "closed"))]


def decide_forget(a: Account, cmd: c.ForgetCustomer) -> list[e.AccountEvent]:
    _require_existing(a)
    if a.forgotten:
        raise errors.AlreadyForgotten()
    if a.status is not Status.CLOSED:
        raise errors.OnlyClosedForgotten(whose(a))
    reason = _note(cmd.reason, field="reason")
    if not reason:
        raise errors.InvalidText(
            "Say why the customer is forgotten: the reason is kept in the audit trail.", field="reason"
        )
    if a.owner.casefold() in reason.casefold():
        # The reason stays in the log in clear, readable after the key is gone.
        raise errors.InvalidText(
            "Leave the customer's name out of the reason: it would stay in the log.", field="reason"
        )
    return [e.CustomerForgotten(account_id=a.id, reason=reason)]


# --- reversals --------------------------------------------------------------------------------


def _check_movement(cmd: c.ReverseMovement) -> None:
    """The sides must be one movement as recorded: a deposit or a withdrawal, or a transfer's two halves."""
    kinds = tuple(side.type for side in cmd.sides)
    if kinds == ("MovementReversed",):
        raise errors.NotReversible("A reversal cannot itself be reversed; record a new movement instead.")
    if kinds not in {("MoneyDeposited",), ("MoneyWithdrawn",), ("TransferSent", "TransferReceived")}:
        raise errors.NotReversible()
    if len(cmd.sides) == 2:
        sent, received = cmd.sides
        if (sent.counterparty_id, sent.amount) != (received.account_id, received.amount):
            raise errors.NotReversible("The two halves of this transfer do not match.")
    if cmd.account_id not in {side.account_id for side in cmd.sides}:
        raise errors.NotReversible("This movement is not on this account.")


def _require_reversible(a: Account, side: c.RecordedMovement, *, field: str | None) -> None:
    _require_active(a, field=field)
    if side.event_id in a.reversed:
        raise errors.AlreadyReversed()
    if side.version > a.version or side.currency != a.currency:
        raise errors.NotReversible("This movement is not on this account.")


def _require_can_give_back(a: Account, side: c.RecordedMovement, *, transfer: bool) -> None:
    """Money that came in goes out again: a frozen account gives nothing, and only what is available."""
    if a.status is Status.FROZEN:
        raise errors.AccountIsFrozen(whose(a))
    if side.amount > a.available:
        raise errors.CannotGiveBack(amount=a.money(side.amount), available=a.money(a.available), transfer=transfer)


def decide_reverse(accounts: dict[UUID, Account], cmd: c.ReverseMovement) -> list[e.AccountEvent]:
    """Compensating entries for every side of the movement, in one append. Money coming back in is
    taken even by a frozen account (as a deposit is); money going out needs what going out always
    needs: an account that is not frozen and the available funds, including the overdraft."""
    _check_movement(cmd)
    transfer = len(cmd.sides) == 2
    for side in cmd.sides:
        _require_reversible(accounts[side.account_id], side, field=None)
    for side in cmd.sides:
        a = accounts[side.account_id]
        if side.type in e.REVERSAL_CREDITS:
            _require_can_receive(a, side.amount)
        else:
            _require_can_give_back(a, side, transfer=transfer)
    reason = _note(cmd.reason, field="reason")
    if not reason:
        raise errors.InvalidText("Say why the movement is reversed; the reason is kept with it.", field="reason")
    return [
        e.MovementReversed(
            account_id=side.account_id,
            reversal_id=cmd.command_id,
            original_event_id=side.event_id,
            original_position=side.position,
            original_version=side.version,
            original_command_id=side.command_id,
            original_type=side.type,
            amount=side.amount,
            currency=side.currency,
            counterparty_id=side.counterparty_id,
            reason=reason,
        )
        for side in cmd.sides
    ]


# --- holds (see ledger/domain/approval.py for the request they are held for) ---------------------


def decide_hold(a: Account, *, hold_id: UUID, amount: int, currency: str) -> e.FundsHeld:
    """Set money aside as a withdrawal of it would be checked now: against the available funds."""
    _require_active(a)
    _require_amount(a, amount, currency)
    _require_can_pay(a, amount)
    return e.FundsHeld(account_id=a.id, hold_id=hold_id, amount=amount, currency=a.currency)


def _release(a: Account, hold_id: UUID, outcome: str) -> e.HoldReleased:
    amount = a.hold(hold_id)
    if amount is None:
        raise errors.HoldNotFound(hold_id)
    return e.HoldReleased(account_id=a.id, hold_id=hold_id, amount=amount, currency=a.currency, outcome=outcome)


def decide_release_hold(a: Account, cmd: c.ReleaseHold) -> list[e.AccountEvent]:
    _require_existing(a)  # frozen or not: giving held money back moves nothing
    return [_release(a, cmd.hold_id, "released")]


def decide_settle_hold(accounts: dict[UUID, Account], cmd: c.SettleHold) -> list[e.AccountEvent]:
    """The approved movement, decided with the hold already given back (it was set aside for this
    very movement), so the rules of today apply: a frozen account pays nothing, funds that went
    elsewhere since are not there. A refusal leaves the hold for ReleaseHold."""
    source = accounts[cmd.account_id]
    released = _release(source, cmd.hold_id, "executed")
    freed = evolve(source, released)
    if cmd.to_account_id is None:
        movement = decide_withdraw(
            freed,
            c.Withdraw(
                account_id=source.id, amount=cmd.amount, currency=cmd.currency, memo=cmd.memo, command_id=cmd.command_id
            ),
        )
        return [*movement, released]
    transfer = c.Transfer(
        account_id=source.id,
        to_account_id=cmd.to_account_id,
        amount=cmd.amount,
        currency=cmd.currency,
        memo=cmd.memo,
        command_id=cmd.command_id,
    )
    sent, received = decide_transfer(freed, accounts[cmd.to_account_id], transfer)
    return [sent, released, received]  # the credit's causation is then the debit (see execute)


# --- dispatch ----------------------------------------------------------------------------------

_DECIDERS: dict[type[c.Command], Callable[[Account, Any], list[e.AccountEvent]]] = {
    c.OpenAccount: decide_open,
    c.Deposit: decide_deposit,
    c.Withdraw: decide_withdraw,
    c.FreezeAccount: decide_freeze,
    c.UnfreezeAccount: decide_unfreeze,
    c.CloseAccount: decide_close,
    c.ForgetCustomer: decide_forget,
    c.ReleaseHold: decide_release_hold,
}


def streams_of(command: c.Command) -> list[UUID]:
    """The accounts whose history a command is decided against (and may append to)."""
    if isinstance(command, c.Transfer):
        return [command.account_id, command.to_account_id]
    if isinstance(command, c.SettleHold):
        return [command.account_id] + ([command.to_account_id] if command.to_account_id else [])
    if isinstance(command, c.ReverseMovement):
        return list(dict.fromkeys([command.account_id, *(side.account_id for side in command.sides)]))
    if type(command) not in _DECIDERS:
        raise TypeError(f"No handler for {type(command).__name__}")
    return [command.account_id]


def decide(command: c.Command, accounts: dict[UUID, Account]) -> list[e.AccountEvent]:
    own = accounts[command.account_id]
    if command.expected_version is not None and command.expected_version != own.version:
        raise errors.StaleView(command.expected_version, own.version)
    if isinstance(command, c.Transfer):
        return decide_transfer(accounts[command.account_id], accounts[command.to_account_id], command)
    if isinstance(command, c.SettleHold):
        return decide_settle_hold(accounts, command)
    if isinstance(command, c.ReverseMovement):
        return decide_reverse(accounts, command)
    return _DECIDERS[type(command)](accounts[command.account_id], command)
