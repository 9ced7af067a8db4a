"""Every aggregate behind one face for ledger.execute: the streams a command is decided against,
their state before any event, how an event folds into its stream's state, and where it is stored.
Accounts are ledger/domain/account.py, approval requests ledger/domain/approval.py, standing orders
ledger/domain/standing_order.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast
from uuid import UUID

from ledger.domain import account, approval, standing_order
from ledger.domain import commands as c
from ledger.domain.events import EVENT_TYPES, AccountEvent

State = account.Account | approval.Request | standing_order.StandingOrder
Event = AccountEvent | approval.ApprovalEvent | standing_order.StandingOrderEvent

# Every stored event type, of every stream type, by its stable name.
ALL_EVENT_TYPES: dict[str, type[Event]] = {
    **EVENT_TYPES,
    **approval.APPROVAL_EVENT_TYPES,
    **standing_order.STANDING_ORDER_EVENT_TYPES,
}
STREAM_TYPES = (account.STREAM_TYPE, approval.STREAM_TYPE, standing_order.STREAM_TYPE)


def streams_of(command: c.Command) -> list[UUID]:
    if isinstance(command, approval.RequestCommand):
        return approval.streams_of(command)
    if isinstance(command, standing_order.OrderCommand):
        return standing_order.streams_of(command)
    return account.streams_of(command)


def blank(stream_id: UUID, command: c.Command | None) -> State:
    """The state of a stream with no events (and no snapshot) yet."""
    if isinstance(command, approval.RequestCommand) and stream_id == approval.request_id_of(command):
        return approval.Request(id=stream_id)
    if isinstance(command, standing_order.OrderCommand) and stream_id == standing_order.order_id_of(command):
        return standing_order.StandingOrder(id=stream_id)
    return account.Account(id=stream_id)


def evolve(state: State, event: Event) -> State:
    if isinstance(event, approval.ApprovalEvent):
        if not isinstance(state, approval.Request):
            raise TypeError(f"{type(event).__name__} belongs to an approval request's stream")
        return approval.evolve(state, event)
    if isinstance(event, standing_order.StandingOrderEvent):
        if not isinstance(state, standing_order.StandingOrder):
            raise TypeError(f"{type(event).__name__} belongs to a standing order's stream")
        return standing_order.evolve(state, event)
    if not isinstance(state, account.Account):
        raise TypeError(f"{type(event).__name__} belongs to an account's stream")
    return account.evolve(state, event)


def stream_of(event: Event) -> tuple[UUID, str]:
    """(stream id, stream type) the event is appended to."""
    if isinstance(event, approval.ApprovalEvent):
        return event.request_id, approval.STREAM_TYPE
    if isinstance(event, standing_order.StandingOrderEvent):
        return event.order_id, standing_order.STREAM_TYPE
    return event.account_id, account.STREAM_TYPE


def decide(command: c.Command, states: Mapping[UUID, State]) -> list[Event]:
    if isinstance(command, approval.RequestCommand):
        return list(approval.decide(command, states))
    if isinstance(command, standing_order.OrderCommand):
        return list(standing_order.decide(command, states))
    # Every stream of an account command is an account's (streams_of and blank say so).
    return list(account.decide(command, cast(dict[UUID, account.Account], dict(states))))
