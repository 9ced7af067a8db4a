"""One account's history as the event browser's stream view shows it, a page at a time: the steps
of ledger.history (every event with the state it left behind), folded from version 1."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from ledger.account_numbers import number_opened_by
from ledger.domain.account import Account
from ledger.domain.account_number import grouped
from ledger.history import Step, fold_steps
from ledger.models import Event
from ledger.store import read_stream

PAGE_SIZE = 500  # events per page; the fold still starts at version 1


@dataclass(frozen=True, slots=True)
class Timeline:
    stream_id: UUID
    steps: list[Step]
    page: int
    pages: int
    problem: str = ""  # why the fold stopped, shown above the table
    number: str = ""  # an account stream's account number, grouped for reading (from its first event)

    @property
    def last(self) -> Account | None:
        return self.steps[-1].state if self.steps else None

    @property
    def balance(self) -> str:
        return self.steps[-1].balance if self.steps else ""


def stream_head(stream_id: UUID) -> int:
    """The stream's latest version (0 if it has none), from the (stream_id, version) index."""
    head = Event.objects.filter(stream_id=stream_id).order_by("-version").values_list("version", flat=True).first()
    return head or 0


def stream_timeline(stream_id: UUID, *, page: int = 1) -> Timeline | None:
    head = stream_head(stream_id)
    if head == 0:
        return None
    pages = -(-head // PAGE_SIZE)
    page = min(max(page, 1), pages)
    events = read_stream(stream_id, to_version=page * PAGE_SIZE)
    steps, problem = fold_steps(stream_id, events)
    number = grouped(opened) if events and (opened := number_opened_by(events[0])) else ""
    return Timeline(stream_id, steps[(page - 1) * PAGE_SIZE :], page, pages, problem, number)
