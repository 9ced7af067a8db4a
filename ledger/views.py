"""Task views: form -> command -> execute -> the account page, which waits for the read side.

The write side never renders read models: after a task it sends the browser to the account page
with the command's checkpoint (`?after=`), and that page (on the read side) waits until the
projections have caught up with it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from urllib.parse import urlsplit
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import SafeString
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect, HttpResponseLocation

from ledger import approvals, confirmation, forms, receipts
from ledger.account_numbers import number_of
from ledger.domain.account import Account, Status
from ledger.domain.account_number import grouped
from ledger.domain.commands import Command
from ledger.domain.errors import DomainError
from ledger.execute import execute, load_account
from ledger.hooks import CommandResult
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Task, may_perform
from ledger.tasks import ACCOUNT_TASKS

log = logging.getLogger(__name__)
UNPROCESSABLE = 422  # the form was understood but refused: the same page, with the reasons


def _require(request: HtmxHttpRequest, task: Task) -> None:
    if not may_perform(request.user, task):
        raise PermissionDenied(f"Your role does not allow the task “{task.value}”.")


def _execute(request: HtmxHttpRequest, form: forms.TaskForm, command: Command) -> CommandResult | None:
    try:
        return execute(command, actor=request.user.get_username(), source="web")
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


def _in_account_page(request: HtmxHttpRequest, account_id: UUID | None) -> bool:
    """True when the form sits in the task panel of the account page (not on a page of its own)."""
    if account_id is None or not request.htmx or not request.htmx.current_url:
        return False
    try:
        current = urlsplit(request.htmx.current_url).path
    except ValueError:  # the header is client input: one that does not parse names no page
        return False
    return current == reverse("account", args=[account_id])


def _after(
    request: HtmxHttpRequest, account_id: UUID, result: CommandResult, told: Callable[[], SafeString]
) -> HttpResponse:
    """The answer to a recorded command: the account page, once the read side has it, with `told()`
    (what was recorded, and its receipt) as a message on it."""
    url = f"{reverse('account', args=[account_id])}?after={result.tx_id}.{result.position}"
    try:
        messages.success(request, told(), fail_silently=True)
        if not request.htmx:
            return HttpResponseRedirect(url, status=303)
        if _in_account_page(request, account_id):  # refresh the account part of the page in place
            return HttpResponseLocation(url, target="#account", swap="outerHTML", select="#account")
        return HttpResponseClientRedirect(url)
    except Exception:
        # The command is recorded: an error page now would tell the teller it was not (and invite
        # doing it again). The plain redirect always works; htmx follows it too.
        log.exception("choosing the answer to command %s failed; answering with a plain redirect", result.command_id)
        return HttpResponseRedirect(url, status=303)


def _render(request: HtmxHttpRequest, context: dict, status: int) -> HttpResponse:
    template = "ledger/task.html#form" if request.htmx else "ledger/task.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def open_account(request: HtmxHttpRequest) -> HttpResponse:
    _require(request, Task.OPEN)
    form = forms.OpenAccountForm(request.POST or None)
    if (
        request.method == "POST"
        and form.is_valid()
        and (command := form.to_command()) is not None
        and (result := _execute(request, form, command)) is not None
    ):
        opened = Account(id=command.account_id, owner=command.owner, currency=command.currency)
        return _after(request, command.account_id, result, partial(receipts.recorded_message, command, opened, result))
    # A refused open keeps its command id: fixing the form and sending it again is one command.
    context = {
        "form": form,
        "title": "Open an account",
        "button": "Open account",
        "action": reverse("open_account"),
        "account": None,
    }
    return _render(request, context, UNPROCESSABLE if request.method == "POST" else 200)


def _account_or_404(account_id: UUID) -> Account:
    account = load_account(account_id)  # decide from the stream, never from a read model
    if account.status is Status.NEW:
        raise Http404("There is no account with this number.")
    return account


def _confirmation(
    form: forms.AccountTaskForm, command: Command, routed: Command, account: Account
) -> confirmation.Confirmation | None:
    try:
        return confirmation.prepare(command, routed, account)  # type: ignore[arg-type]  # needed() said which
    except DomainError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
        return None


def _render_confirmation(
    request: HtmxHttpRequest,
    form: forms.AccountTaskForm,
    confirm: confirmation.Confirmation,
    task: Task,
    account_id: UUID,
) -> HttpResponse:
    context = {
        "form": form,
        "confirm": confirm,
        "action": reverse("account_task", args=[account_id, task.value]),
        "account": confirm.source,
        "in_panel": _in_account_page(request, account_id),
    }
    template = "ledger/confirm.html#form" if request.htmx else "ledger/confirm.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def account_task(request: HtmxHttpRequest, account_id: UUID, task: str) -> HttpResponse:
    try:
        task_ = Task(task)
        spec = ACCOUNT_TASKS[task_]
    except (ValueError, KeyError):
        raise Http404("There is no such task.") from None
    _require(request, task_)
    account = _account_or_404(account_id)
    if request.method == "POST":
        form = spec.form(request.POST)
        if form.is_valid() and (command := form.to_command(account)) is not None:
            # A large withdrawal or transfer becomes a request for approval, with a hold.
            routed = approvals.route(command, actor=request.user.get_username())
            if "edit" in request.POST:  # "Change" on the confirmation: the form again, as filled in
                status = 200
            elif confirmation.needed(command) and not form.cleaned_data["confirmed"]:
                if (confirm := _confirmation(form, command, routed, account)) is not None:
                    return _render_confirmation(request, form, confirm, task_, account_id)
                status = UNPROCESSABLE
            elif (result := _execute(request, form, routed)) is not None:
                told = partial(receipts.recorded_message, routed, account, result)
                return _after(request, account_id, result, told)
            else:
                status = UNPROCESSABLE
        else:
            status = UNPROCESSABLE
    else:
        form = spec.form(initial={"seen_version": account.version})
        status = 200
    context = {
        "form": form,
        "title": spec.title,
        "button": spec.button,
        "danger": spec.danger,
        "action": reverse("account_task", args=[account_id, task_.value]),
        "account": account,
        "account_number": grouped(number) if (number := number_of(account_id)) else "",
        "task": task_.value,
        "not_now": account.status not in spec.allowed_in,
        "in_panel": _in_account_page(request, account_id),
    }
    return _render(request, context, status)
