"""Approve or reject a request: form -> command -> execute -> the request's page (on the read side).

The requester is refused with 403 before anything is decided (the domain refuses them too), whatever
their role; someone without the supervisor's role likewise.
"""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from ledger import receipts
from ledger.approval_forms import DecisionForm
from ledger.approvals import load_request
from ledger.domain import approval as a
from ledger.domain.errors import DomainError
from ledger.execute import execute
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_perform

UNPROCESSABLE = 422
DECISIONS = {"approve": True, "reject": False}


@require_POST
def decide_request(request: HtmxHttpRequest, request_id: UUID, decision: str) -> HttpResponse:
    if decision not in DECISIONS:
        raise Http404("There is no such decision.")
    if not may_perform(request.user, Task.APPROVE):
        raise PermissionDenied("Your role does not allow deciding approval requests.")
    state = load_request(request_id)  # decide from the stream, never from a read model
    if state.status is a.RequestStatus.NEW:
        raise Http404("There is no approval request with this number.")
    actor = request.user.get_username()
    if state.requested_by == actor:
        raise PermissionDenied("You made this request, so someone else must decide it.")
    form = DecisionForm(request.POST, prefix=decision)
    if form.is_valid():
        command = form.to_command(state, approve=DECISIONS[decision], decided_by=actor)
        try:
            result = execute(command, actor=actor, correlation_id=request_id, source="web")
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            held = state.money()
            receipts.tell(
                request,
                f"Approved: the {held} is being moved and its hold released."
                if DECISIONS[decision]
                else f"Rejected: the {held} held for the request is being given back.",
                result,
            )
            url = f"{reverse('approval', args=[request_id])}?after={result.tx_id}.{result.position}"
            return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url, status=303)
    context = {"form": form, "decision": decision, "request_id": request_id, "state": state}
    template = "ledger/decision.html#form" if request.htmx else "ledger/decision.html"
    return render(request, template, context, status=UNPROCESSABLE)
