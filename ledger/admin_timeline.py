"""One account's history as the admin stream view shows it: every event with the state it left
behind, folded on the fly with the aggregate's own `evolve`, so the balance on screen is the one
the write side decides from."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.domain.account import Account, evolve
from ledger.domain.money import format_money
from ledger.eventstore import RecordedEvent, read_stream
from ledger.execute import STREAM_TYPE
from ledger.models import Event
from ledger.serialization import UnknownEventType, event_from_payload

PAGE_SIZE = 500  # events per page; the fold still starts at version 1


@dataclass(frozen=True, slots=True)
class Step:
    event: RecordedEvent
    after: Account | None  # None once the history can no longer be folded
    change: int = 0  # what the event did to the balance, minor units

    @property
    def balance(self) -> str:
        return format_money(self.after.balance, self.after.currency) if self.after else ""

    @property
    def movement(self) -> str:
        if not (self.change and self.after):
            return ""
        sign = "+" if self.change > 0 else "\u2212"
        return sign + format_money(abs(self.change), self.after.currency)


@dataclass(frozen=True, slots=True)
class Timeline:
    stream_id: UUID
    steps: list[Step]
    page: int
    pages: int
    problem: str = ""  # why the fold stopped, shown above the table

    @property
    def last(self) -> Account | None:
        return self.steps[-1].after if self.steps else None

    @property
    def balance(self) -> str:
        return self.steps[-1].balance if self.steps else ""


def stream_head(stream_id: UUID) -> int:
    """The stream's latest version (0 if it has none), from the (stream_id, version) index."""
    head = (Event.objects.filter(stream_id=stream_id).order_by("-version")
            .values_list("version", flat=True).first())
    return head or 0


def stream_timeline(stream_id: UUID, *, page: int = 1) -> Timeline | None:
    head = stream_head(stream_id)
    if head == 0:
        return None
    pages = -(-head // PAGE_SIZE)
    page = min(max(page, 1), pages)
    events = read_stream(stream_id, to_version=page * PAGE_SIZE)
    steps, problem = _fold(stream_id, events)
    return Timeline(stream_id, steps[(page - 1) * PAGE_SIZE:], page, pages, problem)


def _fold(stream_id: UUID, events: list[RecordedEvent]) -> tuple[list[Step], str]:
    """Each event with the state after it. An auditor still sees the raw history past an event
    the aggregate cannot apply; the page says where and why the fold stopped."""
    state: Account | None = Account(id=stream_id)
    problem = ""
    steps = []
    for recorded in events:
        before = state
        if before is not None:
            try:
                if recorded.stream_type != STREAM_TYPE:
                    raise TypeError(f"{recorded.stream_type!r} streams have no aggregate to fold")
                state = evolve(before, event_from_payload(recorded.type, recorded.schema_version,
                                                          recorded.data))
            except (UnknownEventType, TypeError, ValueError) as error:
                state, problem = None, f"Version {recorded.version}: {error}"
        change = state.balance - before.balance if state and before else 0
        steps.append(Step(recorded, state, change))
    return steps, problem
