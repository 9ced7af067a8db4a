"""The approval process: what happens once a request was decided (ledger/domain/approval.py).

approved  → the movement is made and the hold released in one append (SettleHold); if a rule now
            refuses it (the account was frozen meanwhile, say), the hold is given back instead;
rejected, expired → the hold is given back (ReleaseHold);
then      → the request's outcome is recorded (SettleRequest).

Every step's command id derives from the decision event, so seeing it again acts no second time.
Expiry is started by the beat schedule (`expire_due`, from projections.tasks), with a command id
derived from the request: two beat processes, or a sweep racing an approval, give one decision.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid5

from ledger.approvals import load_request
from ledger.domain import approval as a
from ledger.domain import commands as c
from ledger.domain.errors import DomainError
from ledger.execute import execute
from ledger.store import RecordedEvent
from projections.models import ApprovalRequest
from projections.projectors.process import NAMESPACE, ProcessManager, command_id_for

ACTOR = "approvals"


class ApprovalProcess(ProcessManager):
    name = "approval_process"
    handles = frozenset({a.ApprovalGranted.type_name, a.ApprovalRejected.type_name, a.ApprovalExpired.type_name})
    actor = ACTOR

    def react(self, event: RecordedEvent) -> None:
        request = load_request(event.stream_id)
        if request.outcome:  # settled already: this event was seen before
            return
        step = command_id_for(event.event_id, "hold")
        outcome, detail = a.Outcome.RELEASED, ""
        if event.type == a.ApprovalGranted.type_name:
            settled = self.act(
                c.SettleHold(
                    account_id=_account(request),
                    command_id=step,
                    hold_id=request.id,
                    to_account_id=request.to_account_id,
                    amount=request.amount,
                    currency=request.currency,
                    memo=request.memo,
                ),
                cause=event,
                actor=f"{request.requested_by}, approved by {event.data['decided_by']}"[:150],
            )
            outcome = a.Outcome.FAILED if isinstance(settled, DomainError) else a.Outcome.EXECUTED
            detail = settled.anonymous if isinstance(settled, DomainError) else ""
        if outcome is not a.Outcome.EXECUTED:
            released = self.act(
                c.ReleaseHold(
                    account_id=_account(request),
                    command_id=command_id_for(event.event_id, "release"),
                    hold_id=request.id,
                ),
                cause=event,
            )
            if isinstance(released, DomainError):  # no hold to give back: say so, never invent one
                detail = f"{detail} {released.anonymous}".strip()
        self.act(
            a.SettleRequest(
                account_id=_account(request),
                command_id=command_id_for(event.event_id, "outcome"),
                request_id=request.id,
                outcome=outcome,
                detail=detail,
            ),
            cause=event,
        )


def _account(request: a.Request) -> UUID:
    if request.account_id is None:  # a decision is only ever recorded on a request that exists
        raise ValueError(f"request {request.id} has no account")
    return request.account_id


def expire_command_id(request_id: UUID) -> UUID:
    return uuid5(NAMESPACE, f"{request_id}:expire")


def expire_due(*, now: datetime, limit: int = 500) -> int:
    """Expire the pending requests whose deadline has passed; the number expired. Candidates come from
    the inbox (a read model may lag: the request's stream decides, and refuses one decided since)."""
    due = ApprovalRequest.objects.filter(status="pending", expires_at__lte=now).order_by("expires_at")[:limit]
    expired = 0
    for row in due.values_list("request_id", "account_id"):
        request_id, account_id = row
        command = a.ExpireRequest(
            account_id=account_id, command_id=expire_command_id(request_id), request_id=request_id, at=now
        )
        try:
            result = execute(command, actor=ACTOR, correlation_id=request_id, source="expiry")
        except DomainError:
            continue  # decided meanwhile, or not due by the stream's own deadline
        expired += not result.replayed
    return expired
