"""Standing orders at the task boundary: setting one up (and the four-eyes limit on its amount), an
order's state read from its stream, and settling its due periods. The rules of an order are in
ledger/domain/standing_order.py; which orders are due is found by the sweep in
projections/standing_orders.py (from the read model, then decided here against the stream).
"""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid5

from ledger import approvals, clock, store
from ledger.domain import errors
from ledger.domain import standing_order as so
from ledger.domain.money import format_money
from ledger.execute import execute
from ledger.hooks import CommandResult
from ledger.store.serialization import event_from_payload

# The namespace of every period's command id: uuid5(NAMESPACE, "<order id>:<period>").
NAMESPACE = UUID("0b7e6f1c-3d52-5a8e-9c41-7f2d8e6a1b93")
SOURCE = "standing_orders"  # the metadata source of every payment (the event browser filters on it)


class NeedsApproval(errors.DomainError):
    """A standing order pays without anyone looking: it may not pay what one person alone could not."""

    def __init__(self, limit: str) -> None:
        super().__init__(
            f"A standing order must be below the approval threshold ({limit}): larger payments need "
            "a second person each time.",
            field="amount",
        )


def set_up(command: so.SetUpStandingOrder, *, actor: str) -> CommandResult:
    limit = approvals.threshold(command.currency)
    if command.amount >= limit:
        raise NeedsApproval(format_money(limit, command.currency))
    return execute(command, actor=actor)


def today() -> date:
    """The day by the one clock (UTC): a period falls due at the start of its day."""
    return clock.now().date()


def load_order(order_id: UUID) -> so.StandingOrder:
    """An order's state folded from its stream (a NEW order when there is none)."""
    state = so.StandingOrder(id=order_id)
    for recorded in store.read_stream(order_id):
        event = event_from_payload(recorded.type, recorded.schema_version, recorded.data)
        if not isinstance(event, so.StandingOrderEvent):
            raise TypeError(f"{order_id} is not a standing order's stream")
        state = so.evolve(state, event)
    return state


def period_command_id(order_id: UUID, period: int) -> UUID:
    """The one id of settling `period` of an order: two sweeps (two beats, a retried task) settling
    the same period send the same command, and the store answers the second with the first."""
    return uuid5(NAMESPACE, f"{order_id}:{period}")


def settle_due(order_id: UUID, *, on: date) -> int:
    """Settle every period of the order due by `on`, oldest first (paid, failed or ended); how many
    this call recorded. Each period is its own command and transaction: a sweep killed between two
    leaves the first settled and the next one for the following sweep."""
    order = load_order(order_id)
    if order.account_id is None or order.to_account_id is None:
        return 0
    settled = 0
    for period in order.due_periods(on):
        command = so.PayPeriod(
            account_id=order.account_id,
            command_id=period_command_id(order.id, period),
            order_id=order.id,
            to_account_id=order.to_account_id,
            period=period,
            today=on,
        )
        try:
            result = execute(
                command, actor=f"standing order by {order.set_up_by}"[:150], correlation_id=order.id, source=SOURCE
            )
        except errors.DomainError:
            break  # cancelled or settled meanwhile by another sweep: the stream decided
        settled += not result.replayed
    return settled
