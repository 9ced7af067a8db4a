"""History: an account as it was at any moment or version, folded from its stream on the fly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from ledger import eventstore as store
from ledger.domain.account import Account, evolve
from ledger.serialization import event_from_payload


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded event and the account's state right after it."""

    event: store.RecordedEvent
    state: Account


def account_history(account_id: UUID, *, at: datetime | None = None, version: int | None = None) -> list[Step]:
    """Every event of the account (up to `at` or `version`) with the state after each."""
    state = Account(id=account_id)
    steps = []
    for recorded in store.read_stream(account_id, to_version=version, as_of=at):
        state = evolve(state, event_from_payload(recorded.type, recorded.schema_version, recorded.data))
        steps.append(Step(recorded, state))
    return steps
