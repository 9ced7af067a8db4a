"""What the event store holds and hands back: new and recorded events, checkpoints in the log,
command records and snapshots, and the two ways an append can lose a race."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID


class ConcurrencyError(Exception):
    """Another writer appended to one of the streams first; reload and decide again. `in_flight`:
    that writer had not committed yet (it held the stream's lock), so a reload may not see it."""

    def __init__(
        self,
        message: str = "The account was changed by someone else at the same moment; please try again.",
        *,
        in_flight: bool = False,
    ) -> None:
        super().__init__(message)
        self.in_flight = in_flight


class DuplicateCommand(Exception):
    """A command with this id was recorded first by a concurrent request."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    event_id: UUID
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    tx_id: int
    event_id: UUID
    stream_id: UUID
    stream_type: str
    version: int
    type: str
    schema_version: int  # after upcasting: always the current shape
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime
    stored_schema_version: int  # the shape it was recorded in (the event-type catalogue counts by it)


@dataclass(frozen=True, slots=True, order=True)
class Checkpoint:
    """A place in the commit-ordered log of all events: the last (transaction id, position) read."""

    tx_id: int = 0
    position: int = 0


@dataclass(frozen=True, slots=True)
class CommandRecord:
    command_id: UUID
    type: str
    fingerprint: str
    position: int
    tx_id: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    stream_id: UUID
    version: int
    schema: int
    state: dict[str, Any]


@dataclass(slots=True)
class Loaded:
    command: CommandRecord | None = None
    snapshots: dict[UUID, Snapshot] = field(default_factory=dict)
    # (stream_id, version, type, schema_version, data), already upcast to the current shape
    events: list[tuple[UUID, int, str, int, dict[str, Any]]] = field(default_factory=list)
    keys: dict[UUID, bytes] = field(default_factory=dict)  # the streams' customers' keys (personal.py)
