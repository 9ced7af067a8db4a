"""History: a stream step by step, each recorded event with the account's state right after it,
folded on the fly with the aggregate's own `evolve` (so a balance shown in history is the one the
write side decides from). The one fold the as-of view and the event browser's stream view share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from uuid import UUID

from ledger import store
from ledger.domain.account import STREAM_TYPE, Account, evolve
from ledger.domain.money import format_money
from ledger.store.serialization import UnknownEventType, account_event_from_payload


@dataclass(frozen=True, slots=True)
class Step:
    """One recorded event and the account's state right after it."""

    event: store.RecordedEvent
    state: Account | None  # None once the history can no longer be folded (see fold_steps)
    change: int = 0  # what the event did to the balance, minor units
    reversed_by: int | None = None  # the version of the reversal of this movement, if it was reversed

    @property
    def reverses(self) -> int | None:
        """For a reversal, the version of the movement it reverses (in this same stream)."""
        return self.event.data.get("original_version") if self.event.type == "MovementReversed" else None

    @property
    def balance(self) -> str:
        return format_money(self.state.balance, self.state.currency) if self.state else ""

    @property
    def movement(self) -> str:
        if not (self.change and self.state):
            return ""
        sign = "+" if self.change > 0 else "\u2212"
        return sign + format_money(abs(self.change), self.state.currency)


def fold_steps(stream_id: UUID, events: Iterable[store.RecordedEvent]) -> tuple[list[Step], str]:
    """Each event with the state after it, and why the fold stopped ("" if it did not). Past an
    event the aggregate cannot apply the events are still listed, with no state: an auditor sees
    the raw history, and the page says where and why."""
    state: Account | None = Account(id=stream_id)
    problem = ""
    steps = []
    for recorded in events:
        before = state
        if before is not None:
            try:
                if recorded.stream_type != STREAM_TYPE:
                    raise TypeError(f"{recorded.stream_type!r} streams have no aggregate to fold")
                event = account_event_from_payload(recorded.type, recorded.schema_version, recorded.data)
                state = evolve(before, event)
            except (UnknownEventType, TypeError, ValueError) as error:
                state, problem = None, f"Version {recorded.version}: {error}"
        steps.append(Step(recorded, state, state.balance - before.balance if state and before else 0))
    return _linked(steps), problem


def _linked(steps: list[Step]) -> list[Step]:
    """Each reversed movement with the version of its reversal, which comes later in the stream."""
    reversal_of = {s.reverses: s.event.version for s in steps if s.reverses is not None}
    if not reversal_of:
        return steps
    return [replace(s, reversed_by=reversal_of.get(s.event.version)) for s in steps]


def account_history(account_id: UUID, *, at: datetime | None = None, version: int | None = None) -> list[Step]:
    """Every event of the account (up to `at` or `version`) with the state after each."""
    steps, _ = fold_steps(account_id, store.read_stream(account_id, to_version=version, as_of=at))
    return steps
