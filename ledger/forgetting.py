"""Forgetting a customer: the retention rule in front of the ForgetCustomer command.

The command itself (ledger/domain/account.py, decide_forget) refuses an account that is not closed,
one already forgotten, and a reason that names the customer; executing it appends CustomerForgotten
and deletes the customer's key in the same transaction (ledger/store/write.py), so that every sealed
copy of their name becomes unreadable (ledger/store/personal.py). What the domain cannot check is
time: its events carry no clock, so the retention period, counted from the moment the account was
closed as the log recorded it, is checked here, on the clock deadlines use (ledger/clock.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.utils import timezone

from ledger import clock, store
from ledger.domain.dates import day_text


def retention_ends(account_id: UUID) -> datetime | None:
    """When the account's records may be forgotten: its closing plus TALLY_RETENTION_DAYS (None
    while it is not closed)."""
    closed = store.read_stream(account_id, types=["AccountClosed"])
    return ends_after(closed[-1].recorded_at) if closed else None


def ends_after(closed_at: datetime) -> datetime:
    return closed_at + timedelta(days=settings.TALLY_RETENTION_DAYS)


def over(ends: datetime) -> bool:
    return clock.now() >= ends


def retention_refusal(account_id: UUID) -> str | None:
    """Why the customer may not be forgotten yet, or None."""
    ends = retention_ends(account_id)
    if ends is None or over(ends):
        return None
    return (
        f"The records of this account must be kept until {day_text(timezone.localtime(ends))} "
        f"({settings.TALLY_RETENTION_DAYS} days after it closed): its customer can be forgotten from then on."
    )
