"""Reversals on the write side: the movement a supervisor points at (an account and a position in the
log), read from the event store with every side it has, and the one command that reverses it.

The command's id derives from the movement (uuid5 of its first side's event id), whichever account
it is asked from: two supervisors, or a double-clicked button, are one command, recorded at most once
by the command log; and the account's own rule (a movement's event id is in `Account.reversed` once
reversed) refuses any other way round. Both are decided against the stream, never a read model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid5

import orjson

from ledger.domain.commands import RecordedMovement, ReverseMovement
from ledger.domain.events import REVERSIBLE
from ledger.execute import execute
from ledger.hooks import CommandResult
from ledger.store.sql import fetch
from ledger.store.upcasting import upcast

REVERSAL_NAMESPACE = UUID("5d1f2c3e-8a4b-5c6d-9e7f-0a1b2c3d4e5f")
REVERSAL_TYPE = "MovementReversed"
_TRANSFER_SIDES = ("TransferSent", "TransferReceived")
_COLUMNS = "event_id, stream_id, position, version, type, schema_version, data, metadata, recorded_at"


@dataclass(frozen=True, slots=True)
class Movement:
    """A recorded movement with every side of it (a transfer has two), and what a person is shown."""

    sides: tuple[RecordedMovement, ...]
    recorded_at: datetime
    actor: str
    memo: str
    correlation_id: UUID | None

    @property
    def is_transfer(self) -> bool:
        return len(self.sides) == 2

    def side_of(self, account_id: UUID) -> RecordedMovement | None:
        return next((side for side in self.sides if side.account_id == account_id), None)


def reversal_id_for(movement: Movement) -> UUID:
    return uuid5(REVERSAL_NAMESPACE, str(movement.sides[0].event_id))


def _side(row: tuple[Any, ...]) -> tuple[RecordedMovement, dict[str, Any], dict[str, Any], datetime]:
    event_id, stream_id, position, version, type_, schema, data, metadata, recorded_at = row
    _, data = upcast(type_, schema, orjson.loads(data))
    metadata = orjson.loads(metadata)
    counterparty = data.get("to_account_id") or data.get("from_account_id") or data.get("counterparty_id")
    side = RecordedMovement(
        account_id=stream_id,
        event_id=event_id,
        position=position,
        version=version,
        command_id=UUID(metadata["command_id"]),
        type=type_,
        amount=data.get("amount", 0),
        currency=data.get("currency", ""),
        counterparty_id=UUID(counterparty) if counterparty else None,
    )
    return side, data, metadata, recorded_at


def find_movement(*, account_id: UUID, position: int) -> Movement | None:
    """The movement recorded at `position` on `account_id` (a reversal counts, so that it can be
    refused by name), or None when that account has no money event there."""
    rows = fetch(
        f"SELECT {_COLUMNS} FROM ledger_event WHERE position = %s AND stream_id = %s AND type = ANY(%s)",
        [position, account_id, [*REVERSIBLE, REVERSAL_TYPE]],
    )
    if not rows:
        return None
    side, data, metadata, recorded_at = _side(rows[0])
    sides: tuple[RecordedMovement, ...] = (side,)
    if side.type in _TRANSFER_SIDES:
        # Both halves were written by one command (the command id index finds them), sent first.
        both = fetch(
            f"SELECT {_COLUMNS} FROM ledger_event WHERE metadata ->> 'command_id' = %s AND type = ANY(%s)"
            " AND data ->> 'transfer_id' = %s ORDER BY position",
            [str(side.command_id), list(_TRANSFER_SIDES), data["transfer_id"]],
        )
        sides = tuple(_side(row)[0] for row in both)
    correlation = metadata.get("correlation_id")
    return Movement(
        sides=sides,
        recorded_at=recorded_at,
        actor=metadata.get("actor", ""),
        memo=data.get("memo") or data.get("reason") or "",
        correlation_id=UUID(correlation) if correlation else None,
    )


def reversal_command(movement: Movement, *, account_id: UUID, reason: str) -> ReverseMovement:
    return ReverseMovement(
        account_id=account_id, command_id=reversal_id_for(movement), sides=movement.sides, reason=reason
    )


def reverse(movement: Movement, *, account_id: UUID, reason: str, actor: str, source: str = "web") -> CommandResult:
    """Record the reversal. It joins the original's correlation, so the event browser's "same
    correlation" link lists the movement and its reversal together."""
    return execute(
        reversal_command(movement, account_id=account_id, reason=reason),
        actor=actor,
        correlation_id=movement.correlation_id,
        source=source,
    )


def reversed_by(*, account_id: UUID, event_id: UUID, version: int) -> int | None:
    """The position of the reversal of the event `event_id` (at `version` of `account_id`), if any.
    A reversal is on the same stream and later in it, so only that part of the stream is read."""
    rows = fetch(
        "SELECT position FROM ledger_event WHERE stream_id = %s AND version > %s AND type = %s"
        " AND data ->> 'original_event_id' = %s",
        [account_id, version, REVERSAL_TYPE, str(event_id)],
    )
    return rows[0][0] if rows else None
