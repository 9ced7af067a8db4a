"""The rules of forgetting a customer (ledger/domain/account.py, decide_forget): only a closed
account's, once, with a reason that does not repeat the name; afterwards the account's name reads
as erased. The retention period is the application's (ledger/forgetting.py, tested on the screens)."""

from __future__ import annotations

from uuid import UUID

import pytest

from ledger.domain import errors
from ledger.domain.account import ERASED_NAME
from ledger.domain.commands import ForgetCustomer
from ledger.domain.events import AccountClosed, AccountFrozen, AccountOpened, CustomerForgotten
from tests.domain.scenario import Scenario

ADA = UUID("00000000-0000-4000-8000-00000000000a")
OPENED = AccountOpened(account_id=ADA, owner="Ada Lovelace", currency="EUR", overdraft_limit=0)
CLOSED = AccountClosed(account_id=ADA, reason="moved away")


def test_a_closed_accounts_customer_is_forgotten_with_a_reason():
    s = Scenario().given(OPENED, CLOSED)
    s.when(ForgetCustomer(account_id=ADA, reason="erasure request 118"))
    s.then(CustomerForgotten(account_id=ADA, reason="erasure request 118"))
    account = s.account(ADA)
    assert (account.owner, account.forgotten, account.balance) == (ERASED_NAME, True, 0)


@pytest.mark.parametrize("history", [(OPENED,), (OPENED, AccountFrozen(account_id=ADA, reason="checks"))])
def test_an_account_in_use_keeps_its_customer(history):
    with pytest.raises(errors.OnlyClosedForgotten, match="Ada Lovelace's account is still in use"):
        Scenario().given(*history).when(ForgetCustomer(account_id=ADA, reason="asked"))


def test_a_customer_is_forgotten_once():
    s = Scenario().given(OPENED, CLOSED, CustomerForgotten(account_id=ADA, reason="first"))
    with pytest.raises(errors.AlreadyForgotten):
        s.when(ForgetCustomer(account_id=ADA, reason="again"))


def test_a_never_opened_account_has_no_customer_to_forget():
    with pytest.raises(errors.AccountNotFound):
        Scenario().when(ForgetCustomer(account_id=ADA, reason="asked"))


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Say why the customer is forgotten"),
        ("   ", "Say why the customer is forgotten"),
        ("ada lovelace asked by letter", "Leave the customer's name out of the reason"),
        ("x" * 201, "Keep the reason to 200 characters"),
    ],
)
def test_the_reason_is_required_short_and_without_the_name(reason, message):
    with pytest.raises(errors.InvalidText, match=message) as refused:
        Scenario().given(OPENED, CLOSED).when(ForgetCustomer(account_id=ADA, reason=reason))
    assert refused.value.field == "reason"
