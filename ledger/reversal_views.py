"""The "Reverse" task on one statement line: a confirmation page showing the movement (both
accounts of a transfer) and asking for the reason; then one command, or the rule that refuses it."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse as url_for
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from ledger import receipts
from ledger.domain import errors
from ledger.domain.account import Account, decide_reverse
from ledger.domain.errors import DomainError
from ledger.domain.money import format_money
from ledger.execute import IdempotencyConflict, load_account
from ledger.forms import ReverseForm
from ledger.hooks import CommandResult
from ledger.htmx import HtmxHttpRequest
from ledger.reversals import Movement, find_movement, reversal_command, reverse
from ledger.roles import Task, may_perform

UNPROCESSABLE = 422
KIND = {
    "MoneyDeposited": "Deposit",
    "MoneyWithdrawn": "Withdrawal",
    "TransferSent": "Transfer sent",
    "TransferReceived": "Transfer received",
    "MovementReversed": "Reversal",
}


def _refusal(movement: Movement, accounts: dict[UUID, Account], account_id: UUID) -> str:
    """Why the reversal would be refused right now ("" if it would not): shown before anyone types a
    reason. The reason itself is checked last, so a stand-in passes here."""
    try:
        decide_reverse(accounts, reversal_command(movement, account_id=account_id, reason="(checking)"))
    except DomainError as error:
        return error.message
    return ""


def _done(request: HtmxHttpRequest, account_id: UUID, movement: Movement, result: CommandResult) -> HttpResponse:
    side = movement.sides[0]
    amount = format_money(side.amount, side.currency)
    if result.replayed:
        receipts.tell(
            request,
            f"This {amount} movement had already been reversed; nothing more was recorded.",
            result,
            level=messages.INFO,
        )
    else:
        both = " on both accounts" if movement.is_transfer else ""
        receipts.tell(
            request,
            f"Reversed{both}: {amount} moved back. The original stays on the statement, marked reversed.",
            result,
        )
    url = f"{url_for('account', args=[account_id])}?after={result.tx_id}.{result.position}"
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url, status=303)


@require_http_methods(["GET", "POST"])
def reverse_movement(request: HtmxHttpRequest, account_id: UUID, position: int) -> HttpResponse:
    if not may_perform(request.user, Task.REVERSE):
        raise PermissionDenied("Your role does not allow reversing a movement; a supervisor can.")
    movement = find_movement(account_id=account_id, position=position)  # from the event store
    if movement is None:
        raise Http404("This account has no movement at that place in its history.")
    accounts = {sid: load_account(sid) for sid in dict.fromkeys([account_id, *(s.account_id for s in movement.sides)])}
    form = ReverseForm(request.POST) if request.method == "POST" else ReverseForm()
    status = 200
    if request.method == "POST":
        status = UNPROCESSABLE
        if form.is_valid():
            try:
                result = reverse(
                    movement,
                    account_id=account_id,
                    reason=form.cleaned_data["reason"],
                    actor=request.user.get_username(),
                )
            except IdempotencyConflict:  # the same movement's reversal, recorded with another reason
                form.add_error(None, errors.AlreadyReversed().message)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                return _done(request, account_id, movement, result)
    context = {
        "form": form,
        "movement": movement,
        "kind": "Transfer" if movement.is_transfer else KIND[movement.sides[0].type],
        "sides": [
            {
                "account": accounts[s.account_id],
                "kind": KIND[s.type],
                "amount": format_money(s.amount, s.currency),
                "gives_back": s.type in {"MoneyDeposited", "TransferReceived"},
            }
            for s in movement.sides
        ],
        "account": accounts[account_id],
        "refusal": "" if form.errors else _refusal(movement, accounts, account_id),
        "action": url_for("reverse_movement", args=[account_id, position]),
    }
    template = "ledger/reverse.html#form" if request.htmx else "ledger/reverse.html"
    return render(request, template, context, status=status)
