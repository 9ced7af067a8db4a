"""Who a transfer would go to, shown while the teller types the number (before submitting): the
recipient's name, currency and status, and a plain warning when the account cannot take the money
or is frozen. Read from the account summary; the task itself decides again, from the stream."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from ledger.domain import account_number
from ledger.htmx import HtmxHttpRequest
from projections import queries
from projections.models import AccountSummary


def _recipient(text: str) -> tuple[AccountSummary | None, str]:
    """The account `text` names (a number as typed, or an id), or why it names none."""
    text = text.strip()
    try:
        return AccountSummary.objects.filter(account_id=UUID(text)).first(), ""
    except ValueError:
        pass
    try:
        number = account_number.parse(text)
    except account_number.InvalidAccountNumber as error:
        return None, error.message
    return AccountSummary.objects.filter(number=number).first(), ""


@require_GET
def recipient(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    text = request.GET.get("to_account", "")
    found, problem = (None, "") if not text.strip() or not queries.storable(text) else _recipient(text)
    source = queries.account_summary_get(account_id=account_id)
    warning = ""
    if found is not None and source is not None:
        if found.account_id == source.account_id:
            warning = "This is the account the money leaves: a transfer needs another account."
        elif found.currency != source.currency:
            warning = f"This account holds {found.currency}, not {source.currency}: the transfer would be refused."
        elif found.status == "closed":
            warning = "This account is closed: it can take no money, and the transfer would be refused."
        elif found.status == "frozen":
            warning = "This account is frozen: it takes the money, but nothing can leave it until it is unfrozen."
    elif text.strip() and not problem:
        problem = "No account has this number."
    context = {"recipient": found, "problem": problem, "warning": warning}
    return render(request, "projections/recipient.html", context)
