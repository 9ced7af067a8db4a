"""What a person is told once a task is recorded: one sentence saying what was recorded, with a
link to its printable receipt (the receipt itself is a read-side page: projections/receipts.py)."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ledger.domain import approval
from ledger.domain import commands as c
from ledger.domain.account import Account
from ledger.domain.money import format_money
from ledger.hooks import CommandResult

log = logging.getLogger(__name__)


def what(command: c.Command, account: Account) -> str:
    """The task in words, as the message and the receipt say it."""
    money = format_money(getattr(command, "amount", 0), getattr(command, "currency", account.currency))
    match command:
        case c.Deposit():
            return f"Deposit of {money} into {account.owner}'s account"
        case c.Withdraw():
            return f"Withdrawal of {money} from {account.owner}'s account"
        case c.Transfer():
            return f"Transfer of {money} from {account.owner}'s account"
        case approval.RequestApproval(to_account_id=None):
            return f"Request to withdraw {money} from {account.owner}'s account"
        case approval.RequestApproval():
            return f"Request to transfer {money} from {account.owner}'s account"
        case c.FreezeAccount():
            return f"Freeze of {account.owner}'s account"
        case c.UnfreezeAccount():
            return f"Unfreeze of {account.owner}'s account"
        case c.CloseAccount():
            return f"Closing of {account.owner}'s account"
        case c.ForgetCustomer():  # the name is the one thing this task may not repeat
            return "Forgetting of this account's customer: their name is erased"
        case c.OpenAccount():
            return f"Opening of an account for {command.owner}"
    return type(command).__name__


def recorded_message(command: c.Command, account: Account, result: CommandResult) -> SafeString:
    done = (
        "sent for a supervisor's approval; the amount is held until they decide"
        if isinstance(command, approval.RequestApproval)
        else "recorded"
    )
    if result.replayed:
        done += " (it had been sent already: recorded once)"
    return with_receipt(f"{what(command, account)} {done}.", result)


def with_receipt(text: str, result: CommandResult) -> SafeString:
    """`text` and a link to the command's receipt."""
    return format_html('{} <a href="{}">Receipt</a>', text, reverse("receipt", args=[result.command_id]))


def tell(request: HttpRequest, text: str, result: CommandResult, *, level: int = messages.SUCCESS) -> None:
    """Say what a recorded command did, with its receipt. Never fails: the command is recorded, and
    an error now would tell the person it was not."""
    try:
        messages.add_message(request, level, with_receipt(text, result), fail_silently=True)
    except Exception:
        log.exception("telling what command %s recorded failed", result.command_id)
