"""Task forms: each turns what a person typed into one command, or says what is wrong and where.

Every form carries a `command_id` made when the form is shown, so a double-clicked or resubmitted
form is the same command and is applied once.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any
from uuid import UUID, uuid4, uuid5

from django import forms

from ledger import forgetting
from ledger.account_field import AccountField
from ledger.domain import commands as c
from ledger.domain.account import MAX_NOTE_LENGTH, MAX_OWNER_LENGTH, Account
from ledger.domain.money import CURRENCIES, AmountFormatError, parse_amount


class TaskForm(forms.Form):
    command_id = forms.UUIDField(
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is incomplete; reload the page and try again.",
            "invalid": "This form is damaged; reload the page and try again.",
        },
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("command_id", uuid4())
        super().__init__(*args, **kwargs)

    def clean(self) -> dict[str, Any] | None:
        # A field sent twice is ambiguous (which amount did the person mean?): refuse, don't guess.
        if hasattr(self.data, "getlist") and any(len(self.data.getlist(name)) > 1 for name in self.fields):
            raise forms.ValidationError("The form arrived with a field sent twice; reload the page and try again.")
        return super().clean()

    def amount_in(self, field: str, currency: str, *, required: bool = True) -> int | None:
        text = self.cleaned_data.get(field) or ""
        if not text.strip() and not required:
            return 0
        try:
            return parse_amount(text, currency)
        except AmountFormatError as error:
            self.add_error(field, str(error))
            return None


class _AbstractFormMetaclass(ABCMeta, forms.forms.DeclarativeFieldsMetaclass):
    """Django's form metaclass with abstract methods: a task form that forgets to_command() cannot
    be made at all, rather than failing when it is submitted."""


class AccountTaskForm(TaskForm, metaclass=_AbstractFormMetaclass):
    """A task on an existing account: the form and the account's state make the command."""

    # Set by the confirmation step's form (ledger/confirmation.py): the person has seen what the
    # task will do. A plain task form never sends it.
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    @abstractmethod
    def to_command(self, account: Account) -> c.Command | None:
        """The command this form asks for on `account`, or None with the form's errors set."""


def _note(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=MAX_NOTE_LENGTH,
        strip=True,
        error_messages={"max_length": f"Keep it to {MAX_NOTE_LENGTH} characters or fewer."},
    )


def _amount(label: str = "Amount") -> forms.CharField:
    # Text, not a DecimalField: we parse it ourselves to refuse NaN, exponents and foreign digits.
    return forms.CharField(
        label=label,
        max_length=64,
        strip=True,
        error_messages={
            "required": "Enter an amount.",
            "max_length": "Enter the amount as a plain number, for example 1250.00.",
        },
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


# The new account's number derives from the form's command id, so a resubmitted form (the same command
# id) asks for the same account and is answered as the first time. Derived, not carried in the form:
# a client cannot choose the number of an account that already exists (or is yet to be opened).
ACCOUNT_ID_NAMESPACE = UUID("3a0c5f0e-7d2b-5b1e-9c4a-6f8e2d1b0a97")


def account_id_for(command_id: UUID) -> UUID:
    return uuid5(ACCOUNT_ID_NAMESPACE, str(command_id))


class OpenAccountForm(TaskForm):
    owner = forms.CharField(
        label="Owner's full name",
        max_length=MAX_OWNER_LENGTH,
        strip=True,
        error_messages={
            "required": "Enter the account owner's name.",
            "max_length": f"Keep the name to {MAX_OWNER_LENGTH} characters or fewer.",
        },
    )
    currency = forms.ChoiceField(
        choices=[(code, code) for code in CURRENCIES],
        error_messages={"invalid_choice": "Choose one of the listed currencies.", "required": "Choose a currency."},
    )
    overdraft_limit = forms.CharField(
        label="Overdraft limit",
        required=False,
        max_length=64,
        strip=True,
        help_text="How far below zero the balance may go; leave empty for none.",
    )

    def to_command(self) -> c.OpenAccount | None:
        currency = self.cleaned_data["currency"]
        limit = self.amount_in("overdraft_limit", currency, required=False)
        if limit is None:
            return None
        command_id = self.cleaned_data["command_id"]
        return c.OpenAccount(
            account_id=account_id_for(command_id),
            command_id=command_id,
            owner=self.cleaned_data["owner"],
            currency=currency,
            overdraft_limit=limit,
        )


class MoneyForm(AccountTaskForm):
    amount = _amount()
    memo = _note("Description (shown on the statement)")
    command_class: type[c.Deposit] | type[c.Withdraw] = c.Deposit

    def to_command(self, account: Account) -> c.Deposit | c.Withdraw | None:
        amount = self.amount_in("amount", account.currency)
        if amount is None:
            return None
        return self.command_class(
            account_id=account.id,
            command_id=self.cleaned_data["command_id"],
            amount=amount,
            currency=account.currency,
            memo=self.cleaned_data["memo"],
        )


class DepositForm(MoneyForm):
    command_class = c.Deposit


class WithdrawForm(MoneyForm):
    command_class = c.Withdraw


class TransferForm(AccountTaskForm):
    to_account = AccountField(
        label="To account number",
        error_messages={"required": "Enter the account number to transfer to."},
    )
    amount = _amount()
    memo = _note("Description (shown on both statements)")

    def to_command(self, account: Account) -> c.Transfer | None:
        amount = self.amount_in("amount", account.currency)
        if amount is None:
            return None
        return c.Transfer(
            account_id=account.id,
            command_id=self.cleaned_data["command_id"],
            to_account_id=self.cleaned_data["to_account"],
            amount=amount,
            currency=account.currency,
            memo=self.cleaned_data["memo"],
        )


class StatusForm(AccountTaskForm):
    """Freeze, unfreeze or close: decided on the state the supervisor saw (`seen_version`)."""

    reason = _note("Reason (kept in the audit trail)")
    seen_version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=1,
        error_messages={"required": "This form is incomplete; reload the page and try again."},
    )
    command_class: type[c.FreezeAccount] | type[c.UnfreezeAccount] | type[c.CloseAccount] | type[c.ForgetCustomer]

    def to_command(self, account: Account) -> c.Command | None:
        return self.command_class(
            account_id=account.id,
            command_id=self.cleaned_data["command_id"],
            reason=self.cleaned_data["reason"],
            expected_version=self.cleaned_data["seen_version"],
        )


# Freezing and closing need a reason (the rule is the domain's: ledger.domain.errors.ReasonRequired);
# the label says so before anyone submits.
_REQUIRED_REASON = "Reason (required; kept in the audit trail)"


class FreezeForm(StatusForm):
    reason = _note(_REQUIRED_REASON)
    command_class = c.FreezeAccount


class UnfreezeForm(StatusForm):
    command_class = c.UnfreezeAccount


class CloseForm(StatusForm):
    reason = _note(_REQUIRED_REASON)
    command_class = c.CloseAccount


class ForgetForm(StatusForm):
    reason = _note("Reason (required; kept in the audit trail, so leave the customer's name out)")
    command_class = c.ForgetCustomer

    def to_command(self, account: Account) -> c.Command | None:
        refusal = forgetting.retention_refusal(account.id)
        if refusal:
            self.add_error(None, refusal)
            return None
        return super().to_command(account)


class ReverseForm(TaskForm):
    """Reverse one movement. No command id of its own: the reversal's derives from the movement
    (ledger.reversals), so every form for it, in any tab or any supervisor's, is the same command."""

    command_id = None  # type: ignore[assignment]  # removes TaskForm's field (Django's way)
    reason = forms.CharField(
        label="Reason (kept with the reversal and shown on the statement)",
        max_length=MAX_NOTE_LENGTH,
        strip=True,
        error_messages={
            "required": "Say why the movement is reversed.",
            "max_length": f"Keep it to {MAX_NOTE_LENGTH} characters or fewer.",
        },
        widget=forms.Textarea(attrs={"rows": 2}),
    )
