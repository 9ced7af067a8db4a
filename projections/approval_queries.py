"""What the approvals screens read: the inbox (pending requests with the account's available funds),
one request, an account's pending requests, and a request's history (from the event store, like the
as-of view: every event the request correlates, from the teller's request to the movement)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db.models import Q

from ledger import store
from projections.models import AccountSummary, ApprovalRequest
from projections.queries import accounts_by_id

INBOX_LIMIT = 200  # the oldest first; a back office with more waiting has a bigger problem


@dataclass(frozen=True, slots=True)
class InboxLine:
    request: ApprovalRequest
    account: AccountSummary | None  # None while the account summary is behind
    to_account: AccountSummary | None  # a transfer's target, likewise; None for a withdrawal

    @property
    def owner(self) -> str:
        return self.account.owner if self.account else ""

    @property
    def available(self) -> int | None:
        return self.account.available if self.account else None

    @property
    def held(self) -> int | None:
        return self.account.held if self.account else None


def approvals_pending(*, limit: int = INBOX_LIMIT) -> list[InboxLine]:
    """The pending requests, oldest first, each with both its accounts' summaries (one query for all)."""
    pending = list(ApprovalRequest.objects.filter(status="pending").order_by("requested_at", "request_id")[:limit])
    accounts = accounts_by_id([r.account_id for r in pending] + [r.to_account_id for r in pending])
    return [
        InboxLine(r, accounts.get(r.account_id), accounts.get(r.to_account_id) if r.to_account_id else None)
        for r in pending
    ]


def approval_get(*, request_id: UUID) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(request_id=request_id).first()


def approvals_of_account(*, account_id: UUID) -> list[ApprovalRequest]:
    """The account's requests still waiting for a decision or for their outcome."""
    waiting = Q(status="pending") | Q(outcome="")
    return list(ApprovalRequest.objects.filter(waiting, account_id=account_id).order_by("requested_at"))


def approval_history(*, request_id: UUID) -> list[store.RecordedEvent]:
    return store.read_correlated(request_id)
