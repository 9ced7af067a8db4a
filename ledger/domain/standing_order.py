"""The standing order: a fixed transfer from one account to another, weekly or monthly from a start
date, until an end date or until it is cancelled.

An order is a stream of its own (type "standing_order", id = the set-up command's id). Its periods
are numbered from 0 (the start date); period n falls due on `due_date(n)`. Paying a period is one
command (PayPeriod) decided against the order and both accounts and recorded in ONE append: the
order's StandingOrderPaid (or StandingOrderPaymentFailed, or StandingOrderEnded) and, when paid, the
transfer's two events. So a period is settled exactly once by the order stream's own rules (only the
next unsettled period may be settled; the append's version check makes a second writer lose), and
the payment cannot be recorded without its money moving, or the money move without the record.

Policies (stated in the README):
- catch-up: every missed period is settled once, oldest first, each recorded with its own due date
  (a standing order is an obligation: rent skipped because the scheduler was down is still owed);
- a payment refused by a rule (insufficient funds, frozen source, ...) is recorded as failed with
  the rule's message; it is not retried: the next period is tried as usual;
- either account closed when a period falls due: the order ends (recorded with the reason), and no
  later period is tried.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any, ClassVar
from uuid import UUID

from ledger.domain import account as accounts
from ledger.domain import commands as c
from ledger.domain import errors
from ledger.domain import events as e
from ledger.domain.dates import day_text
from ledger.domain.money import format_money

STREAM_TYPE = "standing_order"
NOT_FINGERPRINTED = {"fingerprint": False}  # as ledger.domain.approval: the moment, not the ask
MAX_PERIODS = 100 * 53  # a century of weekly payments: any end date beyond is a typing slip


class Interval(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"


class OrderStatus(enum.StrEnum):
    NEW = "new"  # nothing recorded yet
    ACTIVE = "active"
    FINISHED = "finished"  # its last period (on or before the end date) is settled
    CANCELLED = "cancelled"
    ENDED = "ended"  # an account was closed


def due_date(start: date, interval: Interval, period: int) -> date:
    """The day period `period` (0 = the start date) falls due. Monthly orders keep the start's day of
    the month, or the month's last day when it is shorter (31 Jan, 28/29 Feb, 31 Mar, ...)."""
    if period < 0:
        raise ValueError("periods are numbered from 0")
    if interval is Interval.WEEKLY:
        return start + timedelta(weeks=period)
    months = start.month - 1 + period
    year, month = start.year + months // 12, months % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderEvent:
    """Every event of an order's stream; `order_id` is that stream's id."""

    type_name: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1

    order_id: UUID


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderSetUp(StandingOrderEvent):
    type_name = "StandingOrderSetUp"

    account_id: UUID
    to_account_id: UUID
    amount: int
    currency: str
    interval: str  # an Interval
    start_date: str  # ISO date: period 0 falls due that day
    end_date: str = ""  # ISO date, inclusive; "" when open-ended
    memo: str = ""
    set_up_by: str


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderPaid(StandingOrderEvent):
    """Period `period` was paid; the transfer (id = this command's id) is in the same append.
    `next_due` is the next period's due date, "" when this was the last (read models copy it)."""

    type_name = "StandingOrderPaid"

    period: int
    due_date: str
    transfer_id: UUID
    next_due: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderPaymentFailed(StandingOrderEvent):
    """Period `period` could not be paid: `reason` is the rule's message. Not retried."""

    type_name = "StandingOrderPaymentFailed"

    period: int
    due_date: str
    reason: str
    next_due: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderCancelled(StandingOrderEvent):
    type_name = "StandingOrderCancelled"

    cancelled_by: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class StandingOrderEnded(StandingOrderEvent):
    """The order stopped by itself when period `period` fell due (an account was closed)."""

    type_name = "StandingOrderEnded"

    period: int
    due_date: str
    reason: str


STANDING_ORDER_EVENT_TYPES: dict[str, type[StandingOrderEvent]] = {
    cls.type_name: cls
    for cls in (
        StandingOrderSetUp,
        StandingOrderPaid,
        StandingOrderPaymentFailed,
        StandingOrderCancelled,
        StandingOrderEnded,
    )
}


# --- commands (account_id: the paying account) --------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SetUpStandingOrder(c.Command):
    """The order's id is the command id (a resubmitted form is the same order)."""

    to_account_id: UUID
    amount: int
    currency: str
    interval: Interval
    start_date: date
    end_date: date | None = None
    memo: str = ""
    set_up_by: str
    today: date = field(metadata=NOT_FINGERPRINTED)  # the clock's day: a start in the past is refused


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelStandingOrder(c.Command):
    order_id: UUID
    cancelled_by: str
    reason: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class PayPeriod(c.Command):
    """Settle period `period` of the order (the beat's sweep; command id from (order, period))."""

    order_id: UUID
    to_account_id: UUID
    period: int
    today: date = field(metadata=NOT_FINGERPRINTED)


OrderCommand = SetUpStandingOrder | CancelStandingOrder | PayPeriod


# --- errors -------------------------------------------------------------------------------------


class OrderNotFound(errors.DomainError):
    def __init__(self, order_id: UUID) -> None:
        super().__init__(f"There is no standing order {order_id} on this account.")


class OrderNotActive(errors.DomainError):
    def __init__(self, status: OrderStatus) -> None:
        super().__init__(f"This standing order is no longer active: it is {status.value}.")


class InvalidSchedule(errors.DomainError):
    pass


class PeriodNotDue(errors.DomainError):
    def __init__(self, period: int, expected: int, due: date | None) -> None:
        when = f"falls due on {day_text(due)}" if due else "is past the end date"
        super().__init__(f"Period {period} cannot be settled now: the next period is {expected}, which {when}.")


# --- state --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StandingOrder:
    id: UUID
    version: int = 0
    status: OrderStatus = OrderStatus.NEW
    account_id: UUID | None = None
    to_account_id: UUID | None = None
    amount: int = 0
    currency: str = ""
    interval: Interval = Interval.MONTHLY
    start_date: date = date.min
    end_date: date | None = None
    memo: str = ""
    set_up_by: str = ""
    next_period: int = 0  # the first period not yet settled
    paid: tuple[int, ...] = ()  # the periods paid
    failed: tuple[int, ...] = ()  # the periods that failed

    def due_date(self, period: int) -> date:
        return due_date(self.start_date, self.interval, period)

    def in_schedule(self, period: int) -> bool:
        return self.end_date is None or self.due_date(period) <= self.end_date

    @property
    def next_due(self) -> date | None:
        """When the next period falls due, None when none will (finished, cancelled, ended)."""
        if self.status is not OrderStatus.ACTIVE or not self.in_schedule(self.next_period):
            return None
        return self.due_date(self.next_period)

    def due_periods(self, today: date) -> list[int]:
        """The periods due by `today` and not yet settled, oldest first."""
        periods, period = [], self.next_period
        while self.status is OrderStatus.ACTIVE and self.in_schedule(period) and self.due_date(period) <= today:
            periods.append(period)
            period += 1
        return periods

    def money(self) -> str:
        return format_money(self.amount, self.currency)


def _set_up(o: StandingOrder, ev: StandingOrderSetUp) -> StandingOrder:
    return replace(
        o,
        status=OrderStatus.ACTIVE,
        account_id=ev.account_id,
        to_account_id=ev.to_account_id,
        amount=ev.amount,
        currency=ev.currency,
        interval=Interval(ev.interval),
        start_date=date.fromisoformat(ev.start_date),
        end_date=date.fromisoformat(ev.end_date) if ev.end_date else None,
        memo=ev.memo,
        set_up_by=ev.set_up_by,
    )


def _settled(o: StandingOrder, ev: StandingOrderPaid | StandingOrderPaymentFailed) -> StandingOrder:
    paid = (*o.paid, ev.period) if isinstance(ev, StandingOrderPaid) else o.paid
    failed = (*o.failed, ev.period) if isinstance(ev, StandingOrderPaymentFailed) else o.failed
    after = replace(o, next_period=ev.period + 1, paid=paid, failed=failed)
    return after if after.in_schedule(after.next_period) else replace(after, status=OrderStatus.FINISHED)


_EVOLVERS: dict[type[StandingOrderEvent], Callable[[StandingOrder, Any], StandingOrder]] = {
    StandingOrderSetUp: _set_up,
    StandingOrderPaid: _settled,
    StandingOrderPaymentFailed: _settled,
    StandingOrderCancelled: lambda o, ev: replace(o, status=OrderStatus.CANCELLED),
    StandingOrderEnded: lambda o, ev: replace(o, status=OrderStatus.ENDED, next_period=ev.period + 1),
}


def evolve(order: StandingOrder, event: StandingOrderEvent) -> StandingOrder:
    try:
        handler = _EVOLVERS[type(event)]
    except KeyError:
        raise TypeError(f"StandingOrder has no handler for {type(event).__name__}") from None
    return replace(handler(order, event), version=order.version + 1)


# --- decide -------------------------------------------------------------------------------------


def order_id_of(command: OrderCommand) -> UUID:
    return command.command_id if isinstance(command, SetUpStandingOrder) else command.order_id


def streams_of(command: OrderCommand) -> list[UUID]:
    if isinstance(command, CancelStandingOrder):
        return [command.order_id]
    return [order_id_of(command), command.account_id, command.to_account_id]


def _state[T](states: Mapping[UUID, object], stream_id: UUID, kind: type[T]) -> T:
    state = states[stream_id]
    if not isinstance(state, kind):  # streams.blank gives each stream its kind; this is a bug guard
        raise TypeError(f"stream {stream_id} is not a {kind.__name__}")
    return state


def decide(command: OrderCommand, states: Mapping[UUID, object]) -> list[e.AccountEvent | StandingOrderEvent]:
    order = _state(states, order_id_of(command), StandingOrder)
    if isinstance(command, SetUpStandingOrder):
        source = _state(states, command.account_id, accounts.Account)
        target = _state(states, command.to_account_id, accounts.Account)
        return [decide_set_up(order, source, target, command)]
    if order.status is OrderStatus.NEW or order.account_id != command.account_id:
        raise OrderNotFound(order.id)
    if isinstance(command, CancelStandingOrder):
        return [decide_cancel(order, command)]
    source = _state(states, command.account_id, accounts.Account)
    target = _state(states, command.to_account_id, accounts.Account)
    return decide_pay(order, source, target, command)


def decide_set_up(
    order: StandingOrder, source: accounts.Account, target: accounts.Account, cmd: SetUpStandingOrder
) -> StandingOrderEvent:
    if order.status is not OrderStatus.NEW:  # a fresh command id names a fresh stream
        raise OrderNotActive(order.status)
    # Every rule a transfer of this amount has today, except the funds: those are checked when due.
    if cmd.account_id == cmd.to_account_id:
        raise errors.SameAccountTransfer()
    accounts._require_active(source)
    accounts._require_active(target, field="to_account")
    if target.currency != source.currency:
        raise errors.CurrencyMismatch.of_transfer(source_currency=source.currency, target_currency=target.currency)
    accounts._require_amount(source, cmd.amount, cmd.currency)
    if cmd.start_date < cmd.today:
        raise InvalidSchedule("The first payment cannot be in the past: start today or later.", field="start_date")
    if cmd.end_date is not None:
        if cmd.end_date < cmd.start_date:
            raise InvalidSchedule("The end date must be on or after the start date.", field="end_date")
        if cmd.end_date > due_date(cmd.start_date, Interval.WEEKLY, MAX_PERIODS):
            raise InvalidSchedule(
                "The end date is too far away; leave it empty for an open-ended order.", field="end_date"
            )
    return StandingOrderSetUp(
        order_id=order.id,
        account_id=source.id,
        to_account_id=target.id,
        amount=cmd.amount,
        currency=source.currency,
        interval=Interval(cmd.interval).value,
        start_date=cmd.start_date.isoformat(),
        end_date=cmd.end_date.isoformat() if cmd.end_date else "",
        memo=accounts._note(cmd.memo, field="memo"),
        set_up_by=cmd.set_up_by,
    )


def decide_cancel(order: StandingOrder, cmd: CancelStandingOrder) -> StandingOrderEvent:
    if order.status is not OrderStatus.ACTIVE:
        raise OrderNotActive(order.status)
    return StandingOrderCancelled(
        order_id=order.id, cancelled_by=cmd.cancelled_by, reason=accounts._note(cmd.reason, field="reason")
    )


def decide_pay(
    order: StandingOrder, source: accounts.Account, target: accounts.Account, cmd: PayPeriod
) -> list[e.AccountEvent | StandingOrderEvent]:
    """Settle the next period once it is due: paid (with the transfer), failed, or the order ends."""
    if order.status is not OrderStatus.ACTIVE:
        raise OrderNotActive(order.status)
    if order.to_account_id != cmd.to_account_id:
        raise OrderNotFound(order.id)
    if cmd.period not in order.due_periods(cmd.today)[:1]:
        raise PeriodNotDue(cmd.period, order.next_period, order.next_due)
    due = order.due_date(cmd.period).isoformat()
    after = replace(order, next_period=cmd.period + 1)
    next_due = after.due_date(after.next_period).isoformat() if after.in_schedule(after.next_period) else ""
    closed = next((a for a in (source, target) if a.status is accounts.Status.CLOSED), None)
    if closed is not None:
        side = "paying" if closed is source else "receiving"
        reason = f"The {side} account was closed, so the standing order ended."
        return [StandingOrderEnded(order_id=order.id, period=cmd.period, due_date=due, reason=reason)]
    transfer = c.Transfer(
        account_id=source.id,
        command_id=cmd.command_id,
        to_account_id=target.id,
        amount=order.amount,
        currency=order.currency,
        # The due date on both statements: a period paid late (after downtime) says which one it was.
        memo=f"{(order.memo or 'Standing order')[: accounts.MAX_NOTE_LENGTH - 20]} (due {due})",
    )
    try:
        moved: list[e.AccountEvent | StandingOrderEvent] = list(accounts.decide_transfer(source, target, transfer))
    except errors.DomainError as refusal:
        failed = StandingOrderPaymentFailed(
            order_id=order.id, period=cmd.period, due_date=due, reason=refusal.anonymous[:200], next_due=next_due
        )
        return [failed]
    paid = StandingOrderPaid(
        order_id=order.id, period=cmd.period, due_date=due, transfer_id=cmd.command_id, next_due=next_due
    )
    return [paid, *moved]
