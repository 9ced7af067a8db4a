"""Account numbers on the write side, from the event store alone: the account a number names (a
transfer's target, the event browser's search) and an account's number (its pages in the event
browser, the as-of view). A number is its account's AccountOpened position, scrambled
(ledger/domain/account_number.py), so both ways are one look-up by primary key or stream index."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from ledger.domain import account_number
from ledger.domain.account import STREAM_TYPE
from ledger.store.sql import fetch

OPENED = "AccountOpened"


class _Recorded(Protocol):
    """A recorded event as the store (RecordedEvent) or the event browser (models.Event) holds it."""

    @property
    def position(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def stream_type(self) -> str: ...


def account_numbered(number: str) -> UUID | None:
    """The account whose number `number` is (as a person typed it), None if no account has it;
    raises account_number.InvalidAccountNumber for text that cannot be a number."""
    position = account_number.to_position(number)
    found = fetch(
        "SELECT stream_id FROM ledger_event WHERE position = %s AND type = %s AND stream_type = %s",
        [position, OPENED, STREAM_TYPE],
    )
    return found[0][0] if found else None


def number_of(account_id: UUID) -> str | None:
    """The account's number (as stored, ungrouped), None if no account was opened with this id."""
    found = fetch(
        "SELECT position FROM ledger_event WHERE stream_id = %s AND version = 1 AND type = %s AND stream_type = %s",
        [account_id, OPENED, STREAM_TYPE],
    )
    return account_number.from_position(found[0][0]) if found else None


def number_opened_by(event: _Recorded) -> str | None:
    """The number of the account `event` opened (an account stream's first event), else None."""
    if event.type != OPENED or event.stream_type != STREAM_TYPE:
        return None
    return account_number.from_position(event.position)
