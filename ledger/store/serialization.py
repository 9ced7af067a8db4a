"""Turns domain events and account state into JSON-ready payloads and back."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID

from ledger.domain.account import Account, Status
from ledger.domain.events import AccountEvent
from ledger.domain.streams import ALL_EVENT_TYPES as EVENT_TYPES
from ledger.domain.streams import Event

# Bump when the shape of Account changes: older snapshots are then ignored and rebuilt.
# 2: the owner's name is sealed (ledger/store/personal.py); 1 held it in clear (deleted by migration 0006).
SNAPSHOT_SCHEMA = 2


class UnknownEventType(Exception):
    pass


# Which fields of each event type hold a UUID (stored as text): worked out once, not per event.
_UUID_FIELDS = {
    cls: frozenset(f.name for f in dataclasses.fields(cls) if f.type in ("UUID", UUID, "UUID | None"))
    for cls in EVENT_TYPES.values()
}


def event_to_payload(event: Event) -> dict[str, Any]:
    uuids = _UUID_FIELDS[type(event)]
    return {
        f.name: str(value) if f.name in uuids else value
        for f in dataclasses.fields(event)
        if (value := getattr(event, f.name)) is not None
    }


def event_from_payload(type_name: str, schema_version: int, data: dict[str, Any]) -> Event:
    cls = EVENT_TYPES.get(type_name)
    if cls is None:
        raise UnknownEventType(f"No event type is registered as {type_name!r}")
    if schema_version != cls.schema_version:  # the event store upcasts on read; this is a bug guard
        raise UnknownEventType(f"{type_name} v{schema_version} is not the current v{cls.schema_version}")
    uuids = _UUID_FIELDS[cls]
    return cls(**{k: UUID(v) if k in uuids else v for k, v in data.items()})


def account_to_snapshot(account: Account) -> dict[str, Any]:
    """Without the owner's name: the append statement copies it, sealed, from the account's opening
    event (ledger/store/write.py), so that no snapshot holds it in clear and none needs the key."""
    return {
        "currency": account.currency,
        "overdraft_limit": account.overdraft_limit,
        "balance": account.balance,
        "status": account.status.value,
        "holds": [[str(hold_id), amount] for hold_id, amount in account.holds],
        "reversed": sorted(str(event_id) for event_id in account.reversed),
        "forgotten": account.forgotten,
    }


def account_from_snapshot(account_id: UUID, version: int, state: dict[str, Any]) -> Account:
    return Account(
        id=account_id,
        version=version,
        owner=state.get("owner") or "",  # opened by ledger.store.load (personal.py)
        currency=state["currency"],
        overdraft_limit=state["overdraft_limit"],
        balance=state["balance"],
        status=Status(state["status"]),
        # Nor one taken before holds existed: it had none.
        holds=tuple((UUID(hold_id), amount) for hold_id, amount in state.get("holds", ())),
        # A snapshot taken before reversals existed had none to remember: the default is its truth.
        reversed=frozenset(UUID(event_id) for event_id in state.get("reversed", ())),
        forgotten=state.get("forgotten", False),
    )


def account_event_from_payload(type_name: str, schema_version: int, data: dict[str, Any]) -> AccountEvent:
    """An event of an account's stream; an event of another stream type is refused."""
    event = event_from_payload(type_name, schema_version, data)
    if not isinstance(event, AccountEvent):
        raise UnknownEventType(f"{type_name} is not an account's event")
    return event
