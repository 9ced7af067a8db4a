"""An account's status history: who opened, froze, unfroze or closed it, when and why, from its own
events (a handful per account, read by the stream's index with only their types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import store

CHANGES = {
    "AccountOpened": "opened",
    "AccountFrozen": "frozen",
    "AccountUnfrozen": "unfrozen",
    "AccountClosed": "closed",
}


@dataclass(frozen=True)
class StatusChange:
    became: str  # opened, frozen, unfrozen, closed
    at: datetime
    by: str
    reason: str
    position: int  # of the event, for the event browser


def status_history(*, account_id: UUID) -> list[StatusChange]:
    """Newest first."""
    return [
        StatusChange(CHANGES[e.type], e.recorded_at, e.metadata.get("actor", ""), e.data.get("reason", ""), e.position)
        for e in reversed(store.read_stream(account_id, types=CHANGES))
    ]
