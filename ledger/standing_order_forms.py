"""The standing orders' forms: setting one up (like a transfer, plus its schedule) and cancelling one.
Each carries the command id made when it was shown, so a resubmitted form sets up one order."""

from __future__ import annotations

from datetime import date

from django import forms

from ledger.account_field import AccountField
from ledger.domain import standing_order as so
from ledger.domain.account import Account
from ledger.forms import AccountTaskForm, TaskForm, _amount, _note

_DATE_ERRORS = {"invalid": "Enter a date like 2027-03-01."}


class SetUpStandingOrderForm(AccountTaskForm):
    to_account = AccountField(
        label="To account number",
        error_messages={"required": "Enter the account number to pay."},
    )
    amount = _amount("Amount each time")
    interval = forms.ChoiceField(
        label="Every",
        choices=[(so.Interval.WEEKLY.value, "week"), (so.Interval.MONTHLY.value, "month")],
        initial=so.Interval.MONTHLY.value,
        error_messages={"invalid_choice": "Choose weekly or monthly.", "required": "Choose weekly or monthly."},
    )
    start_date = forms.DateField(
        label="First payment on",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={**_DATE_ERRORS, "required": "Enter the day of the first payment."},
    )
    end_date = forms.DateField(
        label="Last payment on or before (optional)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages=_DATE_ERRORS,
        help_text="Leave empty to pay until the order is cancelled.",
    )
    memo = _note("Description (shown on both statements)")

    def to_command(
        self, account: Account, *, set_up_by: str = "", today: date | None = None
    ) -> so.SetUpStandingOrder | None:
        amount = self.amount_in("amount", account.currency)
        if amount is None or today is None:
            return None
        return so.SetUpStandingOrder(
            account_id=account.id,
            command_id=self.cleaned_data["command_id"],
            to_account_id=self.cleaned_data["to_account"],
            amount=amount,
            currency=account.currency,
            interval=so.Interval(self.cleaned_data["interval"]),
            start_date=self.cleaned_data["start_date"],
            end_date=self.cleaned_data["end_date"],
            memo=self.cleaned_data["memo"],
            set_up_by=set_up_by,
            today=today,
        )


class CancelStandingOrderForm(TaskForm):
    reason = _note("Reason (optional)")
