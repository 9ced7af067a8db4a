"""The standing orders' tasks: set one up on an account (tellers and supervisors) and cancel one.
Both answer with the account's standing orders page (read side), which waits for the read model."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from ledger import receipts, standing_orders
from ledger.domain import standing_order as so
from ledger.domain.account import Status
from ledger.domain.errors import DomainError
from ledger.domain.money import format_money
from ledger.execute import execute, load_account
from ledger.hooks import CommandResult
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_perform
from ledger.standing_order_forms import CancelStandingOrderForm, SetUpStandingOrderForm

UNPROCESSABLE = 422
EVERY = {so.Interval.WEEKLY: "week", so.Interval.MONTHLY: "month"}


def _require(request: HtmxHttpRequest) -> None:
    if not may_perform(request.user, Task.STANDING_ORDER):
        raise PermissionDenied("Your role does not allow setting up or cancelling standing orders.")


def _to_list(request: HtmxHttpRequest, account_id: UUID, result: CommandResult | None) -> HttpResponse:
    url = reverse("standing_orders", args=[account_id])
    if result is not None:
        url = f"{url}?after={result.tx_id}.{result.position}"
    return HttpResponseClientRedirect(url) if request.htmx else HttpResponseRedirect(url, status=303)


@require_http_methods(["GET", "POST"])
def set_up_standing_order(request: HtmxHttpRequest, account_id: UUID) -> HttpResponse:
    _require(request)
    account = load_account(account_id)  # decided on the stream, never on a read model
    if account.status is Status.NEW:
        raise Http404("There is no account with this number.")
    form = SetUpStandingOrderForm(request.POST or None, initial={"start_date": standing_orders.today()})
    status = 200
    if request.method == "POST":
        status = UNPROCESSABLE
        me = request.user.get_username()
        command = form.to_command(account, set_up_by=me, today=standing_orders.today()) if form.is_valid() else None
        if command is not None:
            try:
                result = standing_orders.set_up(command, actor=me)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                if not result.replayed:
                    every = EVERY[command.interval]
                    money = format_money(command.amount, command.currency)
                    receipts.tell(request, f"Standing order set up: {money} every {every}.", result)
                return _to_list(request, account_id, result)
    context = {
        "form": form,
        "title": "Set up a standing order",
        "button": "Set up",
        "action": reverse("set_up_standing_order", args=[account_id]),
        "account": account,
        "task": "standing_order",
        "not_now": account.status is Status.CLOSED,
        "in_panel": False,
    }
    template = "ledger/task.html#form" if request.htmx else "ledger/task.html"
    return render(request, template, context, status=status)


@require_POST
def cancel_standing_order(request: HtmxHttpRequest, account_id: UUID, order_id: UUID) -> HttpResponse:
    _require(request)
    order = standing_orders.load_order(order_id)
    if order.status is so.OrderStatus.NEW or order.account_id != account_id:
        raise Http404("This account has no such standing order.")
    form = CancelStandingOrderForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _to_list(request, account_id, None)
    command = so.CancelStandingOrder(
        account_id=account_id,
        command_id=form.cleaned_data["command_id"],
        order_id=order_id,
        cancelled_by=request.user.get_username(),
        reason=form.cleaned_data["reason"],
    )
    try:
        result = execute(command, actor=request.user.get_username(), source="web")
    except DomainError as error:  # not active any more, or this form sent before with another reason
        messages.error(request, error.message)
        return _to_list(request, account_id, None)
    if not result.replayed:
        receipts.tell(request, f"Standing order cancelled: no more payments of {order.money()}.", result)
    return _to_list(request, account_id, result)
