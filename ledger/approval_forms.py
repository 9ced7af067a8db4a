"""The decision form of the approvals screens: a reason, always, and the form's command id."""

from __future__ import annotations

from django import forms

from ledger import clock
from ledger.domain import approval as a
from ledger.domain.account import MAX_NOTE_LENGTH
from ledger.forms import TaskForm


class DecisionForm(TaskForm):
    reason = forms.CharField(
        label="Reason (kept with the decision)",
        max_length=MAX_NOTE_LENGTH,
        strip=True,
        error_messages={
            "required": "Say why: the reason is kept with the decision.",
            "max_length": f"Keep it to {MAX_NOTE_LENGTH} characters or fewer.",
        },
    )

    def to_command(self, request: a.Request, *, approve: bool, decided_by: str) -> a.DecideRequest:
        if request.account_id is None:  # the view answers 404 for a request that does not exist
            raise ValueError("no such request")
        kind = a.ApproveRequest if approve else a.RejectRequest
        return kind(
            account_id=request.account_id,
            command_id=self.cleaned_data["command_id"],
            request_id=request.id,
            decided_by=decided_by,
            reason=self.cleaned_data["reason"],
            decided_at=clock.now(),
        )


def decision_forms() -> dict[str, DecisionForm]:
    """Fresh approve and reject forms (each with a command id of its own) for a request's page."""
    return {"approve": DecisionForm(prefix="approve"), "reject": DecisionForm(prefix="reject")}
