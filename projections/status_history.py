"""An account's status history: who opened, froze, unfroze or closed it (and forgot its customer),
when and why, from its own events (a handful per account, read by the stream's index with only their types)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import store

# Event type -> (what it is called, the status colour it is shown in).
CHANGES = {
    "AccountOpened": ("opened", "open"),
    "AccountFrozen": ("frozen", "frozen"),
    "AccountUnfrozen": ("unfrozen", "open"),
    "AccountClosed": ("closed", "closed"),
    "CustomerForgotten": ("customer forgotten", "closed"),
}


@dataclass(frozen=True)
class StatusChange:
    became: str  # opened, frozen, unfrozen, closed, customer forgotten
    colour: str  # the status it is shown as: open, frozen, closed
    at: datetime
    by: str
    reason: str
    position: int  # of the event, for the event browser


def status_history(*, account_id: UUID) -> list[StatusChange]:
    """Newest first."""
    return [
        StatusChange(*CHANGES[e.type], e.recorded_at, e.metadata.get("actor", ""), e.data.get("reason", ""), e.position)
        for e in reversed(store.read_stream(account_id, types=CHANGES))
    ]
