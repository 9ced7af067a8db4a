"""The approvals screens that read: the inbox at /approvals/ (it refreshes itself) and a request's
page with its whole history and, for a supervisor who did not ask, the approve and reject forms."""

from __future__ import annotations

from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.approval_forms import decision_forms
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_audit, may_perform, may_see_approvals
from projections import approval_queries, queries
from projections.views import _parse_after

INBOX_REFRESH_SECONDS = 5


@require_GET
def approvals(request: HtmxHttpRequest) -> HttpResponse:
    if not may_see_approvals(request.user):
        raise PermissionDenied("The approvals inbox is for supervisors and auditors.")
    template = "projections/approvals.html#inbox" if request.htmx else "projections/approvals.html"
    return render(
        request,
        template,
        {
            "lines": approval_queries.approvals_pending(),
            "me": request.user.get_username(),
            "refresh": INBOX_REFRESH_SECONDS,
        },
    )


@require_GET
def approval(request: HtmxHttpRequest, request_id: UUID) -> HttpResponse:
    """Any role may read a request (the teller follows their own); only a supervisor who did not
    make it is offered the decision, and the server checks that again on the POST."""
    after = _parse_after(request.GET.get("after"))
    timeout = 0 if request.GET.get("poll") else queries.READ_YOUR_WRITES_SECONDS
    wait = queries.projection_wait(after, ("approvals",), timeout=timeout) if after is not None else None
    row = approval_queries.approval_get(request_id=request_id)
    history = approval_queries.approval_history(request_id=request_id)
    if row is None and not history:
        raise Http404("There is no approval request with this number.")
    me = request.user.get_username()
    may_decide = bool(row and row.status == "pending" and row.requested_by != me)
    context = {
        "row": row,
        "request_id": request_id,
        "history": history,
        "summary": queries.account_summary_get(account_id=row.account_id) if row else None,
        "to_summary": queries.account_summary_get(account_id=row.to_account_id) if row and row.to_account_id else None,
        "processing": wait is queries.Wait.PENDING or (row is not None and row.status != "pending" and not row.outcome),
        "after": request.GET.get("after", ""),
        "forms": decision_forms() if may_decide and may_perform(request.user, Task.APPROVE) else None,
        "own": bool(row and row.requested_by == me),
        "may_audit": may_audit(request.user),
    }
    template = "projections/approval.html#request" if request.htmx else "projections/approval.html"
    return render(request, template, context)
