"""The form field for the other account of a task (a transfer's or a standing order's target): the
account number as a person types it (spaces, any case, with or without TL) or, from links and
older pages, the account's id; cleaned into the account's id. A number with a typing error is
refused by its check digits before anything is looked up, in words that say so."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms

from ledger.account_numbers import account_numbered
from ledger.domain import account_number

# Long enough for a number with generous spacing, or an id in any of its spellings.
MAX_LENGTH = 64


class AccountField(forms.CharField):
    """error_messages: "required", "invalid" (text that is no account number) and "unknown" (a
    valid number no account has; formatted with `number`, the number grouped)."""

    default_error_messages = {
        "required": "Enter the account number.",
        "invalid": account_number.MalformedAccountNumber().message,
        "unknown": "There is no account %(number)s; check the number.",
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("strip", True)
        super().__init__(**kwargs)
        self.widget.attrs.setdefault("autocomplete", "off")
        self.widget.attrs.setdefault("spellcheck", "false")

    def to_python(self, value: Any) -> UUID | None:  # type: ignore[override]  # an id, not the text
        text = super().to_python(value)
        if not text:
            return None
        if len(text) > MAX_LENGTH:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        try:
            return UUID(text)
        except ValueError:
            pass
        try:
            account_id = account_numbered(text)
        except account_number.MistypedAccountNumber as error:
            raise forms.ValidationError(error.message, code="mistyped") from error
        except account_number.InvalidAccountNumber as error:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from error
        if account_id is None:
            number = account_number.grouped(account_number.parse(text))
            raise forms.ValidationError(self.error_messages["unknown"], code="unknown", params={"number": number})
        return account_id
