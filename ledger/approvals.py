"""Four eyes at the task boundary: which teller movements need a second person, and the request's
state read from its stream. The rules of a request are in ledger/domain/approval.py."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings

from ledger import clock, store
from ledger.domain import approval
from ledger.domain import commands as c
from ledger.store.serialization import event_from_payload

# 10,000.00 in two-decimal currencies and 1,000,000 yen: both 1,000,000 minor units.
DEFAULT_THRESHOLD = 1_000_000


def threshold(currency: str) -> int:
    """Movements of at least this many minor units need an approval (TALLY_APPROVAL_THRESHOLDS)."""
    return settings.TALLY_APPROVAL_THRESHOLDS.get(currency, DEFAULT_THRESHOLD)


def expires_after() -> timedelta:
    return timedelta(seconds=settings.TALLY_APPROVAL_EXPIRES)


def route(command: c.Command, *, actor: str) -> c.Command:
    """The command a teller's task becomes: a withdrawal or transfer at or above the threshold is a
    request for approval (with the same command id, so a resubmitted form is the same request)."""
    if not isinstance(command, c.Withdraw | c.Transfer) or command.amount < threshold(command.currency):
        return command
    now = clock.now()
    return approval.RequestApproval(
        account_id=command.account_id,
        command_id=command.command_id,
        to_account_id=command.to_account_id if isinstance(command, c.Transfer) else None,
        amount=command.amount,
        currency=command.currency,
        memo=command.memo,
        requested_by=actor,
        requested_at=now,
        expires_at=now + expires_after(),
        expected_version=command.expected_version,
    )


def load_request(request_id: UUID) -> approval.Request:
    """A request's state folded from its stream (a NEW request when there is none)."""
    state = approval.Request(id=request_id)
    for recorded in store.read_stream(request_id):
        event = event_from_payload(recorded.type, recorded.schema_version, recorded.data)
        if not isinstance(event, approval.ApprovalEvent):
            raise TypeError(f"{request_id} is not an approval request's stream")
        state = approval.evolve(state, event)
    return state


def is_request(command: c.Command) -> bool:
    return isinstance(command, approval.RequestCommand)
