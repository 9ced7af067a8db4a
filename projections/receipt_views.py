"""The printable receipt of a task (projections/receipts.py says what is on it)."""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.htmx import HtmxHttpRequest
from projections import queries
from projections.receipts import RECEIPT_PROJECTIONS, receipt_get


@require_GET
def receipt(request: HtmxHttpRequest, command_id: UUID) -> HttpResponse:
    """Waits, as the account page does after a task, until the read side has the command's lines
    (their balances after); if that takes longer, says so and refreshes itself."""
    found = receipt_get(command_id=command_id)
    if found is None:
        raise Http404("There is no task with this reference.")
    timeout = 0 if request.GET.get("poll") else queries.READ_YOUR_WRITES_SECONDS
    wait = queries.projection_wait(found.checkpoint, RECEIPT_PROJECTIONS, timeout=timeout)
    read_too_early = any(
        (line.account_id and line.owner == "") or (line.movement and line.balance_after is None) for line in found.lines
    )
    if wait is queries.Wait.REACHED and read_too_early:
        found = receipt_get(command_id=command_id) or found  # the read side had the lines only now
    processing = wait is queries.Wait.PENDING
    template = "projections/receipt.html#receipt" if request.htmx else "projections/receipt.html"
    return render(request, template, {"receipt": found, "processing": processing})
