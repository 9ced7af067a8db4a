"""Given events, when a command, then events (or the broken rule, in words a person can read)."""

from __future__ import annotations

from uuid import UUID

import pytest

from ledger.domain import errors
from ledger.domain.account import MAX_NOTE_LENGTH, Status
from ledger.domain.commands import (
    CloseAccount,
    Deposit,
    FreezeAccount,
    OpenAccount,
    Transfer,
    UnfreezeAccount,
    Withdraw,
)
from ledger.domain.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    MoneyDeposited,
    MoneyWithdrawn,
    TransferReceived,
    TransferSent,
)
from ledger.domain.money import MAX_AMOUNT, MAX_BALANCE

ADA = UUID("00000000-0000-4000-8000-00000000000a")
BOB = UUID("00000000-0000-4000-8000-00000000000b")
YEN = UUID("00000000-0000-4000-8000-00000000000c")

ADA_OPENED = AccountOpened(account_id=ADA, owner="Ada Lovelace", currency="EUR", overdraft_limit=0)
BOB_OPENED = AccountOpened(account_id=BOB, owner="Bob Babbage", currency="EUR", overdraft_limit=0)
YEN_OPENED = AccountOpened(account_id=YEN, owner="Yoko Ono", currency="JPY", overdraft_limit=0)


def deposited(account_id: UUID, amount: int) -> MoneyDeposited:
    return MoneyDeposited(account_id=account_id, amount=amount, currency="EUR")


# --- open ------------------------------------------------------------------------------------


def test_opening_an_account_records_owner_currency_and_overdraft(ledger):
    ledger.when(OpenAccount(account_id=ADA, owner="  Ada   Lovelace ", currency="EUR", overdraft_limit=5000))

    ledger.then(AccountOpened(account_id=ADA, owner="Ada Lovelace", currency="EUR", overdraft_limit=5000))
    assert ledger.account(ADA).status is Status.OPEN


def test_an_account_number_cannot_be_opened_twice(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.AccountAlreadyExists, match="already exists"):
        ledger.when(OpenAccount(account_id=ADA, owner="Someone Else", currency="EUR"))


@pytest.mark.parametrize("owner", ["", "   ", "x" * 121])
def test_an_account_needs_a_sensible_owner_name(ledger, owner):
    with pytest.raises(errors.InvalidText) as refused:
        ledger.when(OpenAccount(account_id=ADA, owner=owner, currency="EUR"))
    assert refused.value.field == "owner"


@pytest.mark.parametrize("currency", ["", "eur", "XXX", "EURO"])
def test_an_account_needs_a_supported_currency(ledger, currency):
    with pytest.raises(errors.UnsupportedCurrency, match="not a supported currency"):
        ledger.when(OpenAccount(account_id=ADA, owner="Ada", currency=currency))


@pytest.mark.parametrize("limit", [-1, MAX_AMOUNT + 1])
def test_the_overdraft_limit_must_be_between_zero_and_the_maximum(ledger, limit):
    with pytest.raises(errors.InvalidOverdraftLimit):
        ledger.when(OpenAccount(account_id=ADA, owner="Ada", currency="EUR", overdraft_limit=limit))


# --- deposit ---------------------------------------------------------------------------------


def test_a_deposit_credits_the_account(ledger):
    ledger.given(ADA_OPENED)

    ledger.when(Deposit(account_id=ADA, amount=2500, currency="EUR", memo="cash"))

    ledger.then(MoneyDeposited(account_id=ADA, amount=2500, currency="EUR", memo="cash"))
    assert ledger.account(ADA).balance == 2500


def test_a_deposit_into_an_unknown_account_is_refused(ledger):
    with pytest.raises(errors.AccountNotFound, match="no such account"):
        ledger.when(Deposit(account_id=ADA, amount=2500, currency="EUR"))


def test_a_deposit_into_a_closed_account_is_refused(ledger):
    ledger.given(ADA_OPENED, AccountClosed(account_id=ADA))

    with pytest.raises(errors.AccountIsClosed, match="closed"):
        ledger.when(Deposit(account_id=ADA, amount=2500, currency="EUR"))


def test_a_frozen_account_still_takes_deposits(ledger):
    ledger.given(ADA_OPENED, AccountFrozen(account_id=ADA))

    ledger.when(Deposit(account_id=ADA, amount=100, currency="EUR"))

    ledger.then(deposited(ADA, 100))


@pytest.mark.parametrize("amount", [0, -1, -2500])
def test_a_deposit_must_be_positive(ledger, amount):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.AmountMustBePositive, match="greater than zero"):
        ledger.when(Deposit(account_id=ADA, amount=amount, currency="EUR"))


def test_a_deposit_above_the_single_movement_maximum_is_refused(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.AmountTooLarge, match="larger than"):
        ledger.when(Deposit(account_id=ADA, amount=MAX_AMOUNT + 1, currency="EUR"))


def test_a_deposit_of_exactly_the_maximum_is_allowed(ledger):
    ledger.given(ADA_OPENED)

    ledger.when(Deposit(account_id=ADA, amount=MAX_AMOUNT, currency="EUR"))

    ledger.then(deposited(ADA, MAX_AMOUNT))


def test_a_deposit_that_would_exceed_the_balance_limit_is_refused(ledger):
    ledger.given(ADA_OPENED, *[deposited(ADA, MAX_AMOUNT) for _ in range(MAX_BALANCE // MAX_AMOUNT)])

    with pytest.raises(errors.BalanceLimitExceeded):
        ledger.when(Deposit(account_id=ADA, amount=1, currency="EUR"))


def test_a_deposit_in_another_currency_is_refused(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.CurrencyMismatch, match="holds EUR"):
        ledger.when(Deposit(account_id=ADA, amount=100, currency="USD"))


def test_a_memo_longer_than_allowed_is_refused(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.InvalidText) as refused:
        ledger.when(Deposit(account_id=ADA, amount=100, currency="EUR", memo="m" * (MAX_NOTE_LENGTH + 1)))
    assert refused.value.field == "memo"


# --- withdraw --------------------------------------------------------------------------------


def test_a_withdrawal_debits_the_account(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 5000))

    ledger.when(Withdraw(account_id=ADA, amount=2000, currency="EUR"))

    ledger.then(MoneyWithdrawn(account_id=ADA, amount=2000, currency="EUR"))
    assert ledger.account(ADA).balance == 3000


def test_a_withdrawal_may_use_the_overdraft_up_to_its_limit(ledger):
    ledger.given(AccountOpened(account_id=ADA, owner="Ada", currency="EUR", overdraft_limit=1000), deposited(ADA, 500))

    ledger.when(Withdraw(account_id=ADA, amount=1500, currency="EUR"))

    assert ledger.account(ADA).balance == -1000


def test_a_withdrawal_beyond_the_overdraft_limit_is_refused(ledger):
    ledger.given(AccountOpened(account_id=ADA, owner="Ada", currency="EUR", overdraft_limit=1000), deposited(ADA, 500))

    with pytest.raises(errors.InsufficientFunds, match=r"at most 15\.00 EUR is available"):
        ledger.when(Withdraw(account_id=ADA, amount=1501, currency="EUR"))


def test_nothing_leaves_a_frozen_account(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 5000), AccountFrozen(account_id=ADA))

    with pytest.raises(errors.AccountIsFrozen, match="frozen"):
        ledger.when(Withdraw(account_id=ADA, amount=100, currency="EUR"))


def test_a_withdrawal_from_a_closed_account_is_refused(ledger):
    ledger.given(ADA_OPENED, AccountClosed(account_id=ADA))

    with pytest.raises(errors.AccountIsClosed):
        ledger.when(Withdraw(account_id=ADA, amount=100, currency="EUR"))


@pytest.mark.parametrize("amount", [0, -5])
def test_a_withdrawal_must_be_positive(ledger, amount):
    ledger.given(ADA_OPENED, deposited(ADA, 5000))

    with pytest.raises(errors.AmountMustBePositive):
        ledger.when(Withdraw(account_id=ADA, amount=amount, currency="EUR"))


# --- transfer --------------------------------------------------------------------------------


def test_a_transfer_debits_one_account_and_credits_the_other(ledger):
    ledger.given(ADA_OPENED, BOB_OPENED, deposited(ADA, 5000))
    command = Transfer(account_id=ADA, to_account_id=BOB, amount=1200, currency="EUR", memo="rent")

    ledger.when(command)

    ledger.then(
        TransferSent(
            account_id=ADA, transfer_id=command.command_id, to_account_id=BOB, amount=1200, currency="EUR", memo="rent"
        ),
        TransferReceived(
            account_id=BOB,
            transfer_id=command.command_id,
            from_account_id=ADA,
            amount=1200,
            currency="EUR",
            memo="rent",
        ),
    )
    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (3800, 1200)


def test_an_account_cannot_transfer_to_itself(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 5000))

    with pytest.raises(errors.SameAccountTransfer, match="cannot pay itself"):
        ledger.when(Transfer(account_id=ADA, to_account_id=ADA, amount=100, currency="EUR"))


def test_a_transfer_across_currencies_is_refused(ledger):
    ledger.given(ADA_OPENED, YEN_OPENED, deposited(ADA, 5000))

    with pytest.raises(errors.CurrencyMismatch) as refused:
        ledger.when(Transfer(account_id=ADA, to_account_id=YEN, amount=100, currency="EUR"))
    assert refused.value.field == "to_account"
    # Which account holds which currency, the right way round (the amount is in the sender's EUR).
    assert refused.value.message == (
        "This account holds EUR and the account to transfer to holds JPY; "
        "money can only be transferred between accounts in the same currency."
    )
    ledger.then()


def test_a_transfer_across_currencies_names_both_currencies_the_right_way_round_in_reverse(ledger):
    ledger.given(ADA_OPENED, YEN_OPENED, MoneyDeposited(account_id=YEN, amount=5000, currency="JPY"))

    with pytest.raises(
        errors.CurrencyMismatch, match="This account holds JPY and the account to transfer to holds EUR"
    ):
        ledger.when(Transfer(account_id=YEN, to_account_id=ADA, amount=100, currency="JPY"))
    ledger.then()


def test_a_deposit_in_another_currency_names_the_accounts_currency_and_the_amounts(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.CurrencyMismatch) as refused:
        ledger.when(Deposit(account_id=ADA, amount=100, currency="USD"))
    assert refused.value.message == "The account holds EUR; this amount is in USD."


def test_a_transfer_to_an_unknown_account_is_refused(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 5000))

    with pytest.raises(errors.AccountNotFound) as refused:
        ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=100, currency="EUR"))
    assert refused.value.field == "to_account"


def test_a_transfer_to_a_closed_account_is_refused(ledger):
    ledger.given(ADA_OPENED, BOB_OPENED, deposited(ADA, 5000), AccountClosed(account_id=BOB))

    with pytest.raises(errors.AccountIsClosed):
        ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=100, currency="EUR"))


def test_a_transfer_from_a_frozen_account_is_refused(ledger):
    ledger.given(ADA_OPENED, BOB_OPENED, deposited(ADA, 5000), AccountFrozen(account_id=ADA))

    with pytest.raises(errors.AccountIsFrozen):
        ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=100, currency="EUR"))


def test_a_transfer_to_a_frozen_account_is_allowed(ledger):
    ledger.given(ADA_OPENED, BOB_OPENED, deposited(ADA, 5000), AccountFrozen(account_id=BOB))

    ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=100, currency="EUR"))

    assert ledger.account(BOB).balance == 100


def test_a_transfer_beyond_the_available_funds_is_refused(ledger):
    ledger.given(ADA_OPENED, BOB_OPENED, deposited(ADA, 5000))

    with pytest.raises(errors.InsufficientFunds):
        ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=5001, currency="EUR"))


# --- freeze, unfreeze, close -----------------------------------------------------------------


def test_freezing_and_unfreezing_an_account(ledger):
    ledger.given(ADA_OPENED)

    ledger.when(FreezeAccount(account_id=ADA, reason="suspicious activity"))
    ledger.then(AccountFrozen(account_id=ADA, reason="suspicious activity"))
    assert ledger.account(ADA).status is Status.FROZEN

    ledger.when(UnfreezeAccount(account_id=ADA, reason="cleared"))
    ledger.then(AccountUnfrozen(account_id=ADA, reason="cleared"))
    assert ledger.account(ADA).status is Status.OPEN


def test_a_frozen_account_cannot_be_frozen_again(ledger):
    ledger.given(ADA_OPENED, AccountFrozen(account_id=ADA))

    with pytest.raises(errors.AccountAlreadyFrozen, match="already frozen"):
        ledger.when(FreezeAccount(account_id=ADA))


def test_only_a_frozen_account_can_be_unfrozen(ledger):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.AccountNotFrozen, match="not frozen"):
        ledger.when(UnfreezeAccount(account_id=ADA))


@pytest.mark.parametrize(
    "command", [FreezeAccount(account_id=ADA), UnfreezeAccount(account_id=ADA), CloseAccount(account_id=ADA)]
)
def test_a_closed_account_cannot_be_frozen_unfrozen_or_closed_again(ledger, command):
    ledger.given(ADA_OPENED, AccountClosed(account_id=ADA))

    with pytest.raises(errors.AccountIsClosed):
        ledger.when(command)


def test_an_account_with_a_zero_balance_can_be_closed(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 100), MoneyWithdrawn(account_id=ADA, amount=100, currency="EUR"))

    ledger.when(CloseAccount(account_id=ADA, reason="customer moved"))

    ledger.then(AccountClosed(account_id=ADA, reason="customer moved"))
    assert ledger.account(ADA).status is Status.CLOSED


def test_a_frozen_account_at_zero_can_be_closed(ledger):
    ledger.given(ADA_OPENED, AccountFrozen(account_id=ADA))

    ledger.when(CloseAccount(account_id=ADA, reason="deceased"))

    ledger.then(AccountClosed(account_id=ADA, reason="deceased"))


@pytest.mark.parametrize("reason", ["", "   ", "\t\n"])
@pytest.mark.parametrize(("command", "says"), [(FreezeAccount, "frozen"), (CloseAccount, "closed")])
def test_freezing_or_closing_without_a_reason_is_refused(ledger, command, says, reason):
    ledger.given(ADA_OPENED)

    with pytest.raises(errors.ReasonRequired, match=f"Say why the account is {says}") as refused:
        ledger.when(command(account_id=ADA, reason=reason))

    assert refused.value.field == "reason"
    ledger.then()  # nothing recorded


def test_unfreezing_needs_no_reason(ledger):
    ledger.given(ADA_OPENED, AccountFrozen(account_id=ADA, reason="check"))

    ledger.when(UnfreezeAccount(account_id=ADA))

    ledger.then(AccountUnfrozen(account_id=ADA))


@pytest.mark.parametrize(
    "history", [[deposited(ADA, 100)], [MoneyWithdrawn(account_id=ADA, amount=100, currency="EUR")]]
)
def test_an_account_with_money_or_debt_cannot_be_closed(ledger, history):
    ledger.given(AccountOpened(account_id=ADA, owner="Ada", currency="EUR", overdraft_limit=500), *history)

    with pytest.raises(errors.BalanceNotZero, match="zero balance"):
        ledger.when(CloseAccount(account_id=ADA))


@pytest.mark.parametrize(
    "command",
    [
        Withdraw(account_id=ADA, amount=1, currency="EUR"),
        FreezeAccount(account_id=ADA),
        UnfreezeAccount(account_id=ADA),
        CloseAccount(account_id=ADA),
    ],
)
def test_every_command_on_an_unknown_account_is_refused(ledger, command):
    with pytest.raises(errors.AccountNotFound):
        ledger.when(command)


def test_an_event_without_a_handler_is_an_error():
    from dataclasses import dataclass

    from ledger.domain.account import Account, evolve
    from ledger.domain.events import AccountEvent

    @dataclass(frozen=True, kw_only=True, slots=True)
    class Unhandled(AccountEvent):
        pass

    with pytest.raises(TypeError, match="no handler"):
        evolve(Account(id=ADA), Unhandled(account_id=ADA))


def test_a_command_from_a_stale_page_is_refused(ledger):
    ledger.given(ADA_OPENED, deposited(ADA, 100))

    with pytest.raises(errors.StaleView, match="has changed since this page was shown"):
        ledger.when(CloseAccount(account_id=ADA, expected_version=1))


def test_a_command_from_a_current_page_is_accepted(ledger):
    ledger.given(ADA_OPENED)

    ledger.when(FreezeAccount(account_id=ADA, reason="check", expected_version=1))

    ledger.then(AccountFrozen(account_id=ADA, reason="check"))
