"""Reversals: given movements, when one is reversed, then the compensating entries (or the rule
that refuses it). The originals are never touched; a movement is reversed at most once."""

from __future__ import annotations

import contextlib
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import errors
from ledger.domain.account import MAX_NOTE_LENGTH, Status
from ledger.domain.commands import Command, Deposit, Transfer, Withdraw
from ledger.domain.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    MoneyDeposited,
    MoneyWithdrawn,
    MovementReversed,
    TransferReceived,
    TransferSent,
)
from ledger.domain.money import MAX_BALANCE
from tests.domain.helpers import RecordedScenario

ADA = UUID("00000000-0000-4000-8000-00000000000a")
BOB = UUID("00000000-0000-4000-8000-00000000000b")


@pytest.fixture
def ledger() -> RecordedScenario:
    scenario = RecordedScenario()
    scenario.given(
        AccountOpened(account_id=ADA, owner="Ada Lovelace", currency="EUR", overdraft_limit=0),
        AccountOpened(account_id=BOB, owner="Bob Babbage", currency="EUR", overdraft_limit=0),
    )
    return scenario


def deposit(ledger: RecordedScenario, account_id: UUID, amount: int) -> MoneyDeposited:
    (event,) = ledger.when(Deposit(account_id=account_id, amount=amount, currency="EUR"))
    assert isinstance(event, MoneyDeposited)
    return event


def transfer(ledger: RecordedScenario, amount: int) -> TransferSent:
    sent, _ = ledger.when(Transfer(account_id=ADA, to_account_id=BOB, amount=amount, currency="EUR"))
    assert isinstance(sent, TransferSent)
    return sent


def test_reversing_a_deposit_takes_the_money_out_again_and_names_the_original(ledger):
    original = deposit(ledger, ADA, 2500)
    (side,) = ledger.sides(original)
    command = ledger.reverse(original, reason="Keyed in twice")

    ledger.when(command)

    ledger.then(
        MovementReversed(
            account_id=ADA,
            reversal_id=command.command_id,
            original_event_id=side.event_id,
            original_position=side.position,
            original_version=side.version,
            original_command_id=side.command_id,
            original_type="MoneyDeposited",
            amount=2500,
            currency="EUR",
            reason="Keyed in twice",
        )
    )
    account = ledger.account(ADA)
    assert account.balance == 0
    assert account.reversed == {side.event_id}


def test_reversing_a_withdrawal_brings_the_money_back(ledger):
    deposit(ledger, ADA, 5000)
    (withdrawn,) = ledger.when(Withdraw(account_id=ADA, amount=1200, currency="EUR"))

    (reversal,) = ledger.when(ledger.reverse(withdrawn))

    assert isinstance(reversal, MovementReversed) and reversal.credit
    assert ledger.account(ADA).balance == 5000


def test_a_transfer_is_reversed_on_both_sides_in_one_decision(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 3000)
    sent_side, received_side = ledger.sides(sent)

    ada_side, bob_side = ledger.when(ledger.reverse(sent))

    assert isinstance(ada_side, MovementReversed) and isinstance(bob_side, MovementReversed)
    assert (ada_side.account_id, ada_side.original_event_id, ada_side.counterparty_id, ada_side.credit) == (
        ADA,
        sent_side.event_id,
        BOB,
        True,
    )
    assert (bob_side.account_id, bob_side.original_event_id, bob_side.counterparty_id, bob_side.credit) == (
        BOB,
        received_side.event_id,
        ADA,
        False,
    )
    assert ada_side.reversal_id == bob_side.reversal_id
    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (5000, 0)


def test_a_transfer_can_be_reversed_from_the_receiving_side_too(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 3000)
    received = next(e for e, _ in ledger.log if isinstance(e, TransferReceived))

    ledger.when(ledger.reverse(received, account_id=BOB))

    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (5000, 0)
    with pytest.raises(errors.AlreadyReversed):
        ledger.when(ledger.reverse(sent))


def test_a_movement_is_reversed_at_most_once(ledger):
    original = deposit(ledger, ADA, 2500)
    deposit(ledger, ADA, 10_000)
    ledger.when(ledger.reverse(original))

    with pytest.raises(errors.AlreadyReversed, match="already been reversed"):
        ledger.when(ledger.reverse(original, reason="Once more"))
    assert ledger.account(ADA).balance == 10_000


def test_a_reversal_cannot_itself_be_reversed(ledger):
    original = deposit(ledger, ADA, 2500)
    (reversal,) = ledger.when(ledger.reverse(original))

    with pytest.raises(errors.NotReversible, match="cannot itself be reversed"):
        ledger.when(ledger.reverse(reversal))


@pytest.mark.parametrize("event", ["opened", "frozen"])
def test_only_movements_of_money_can_be_reversed(ledger, event):
    if event == "frozen":
        ledger.given(AccountFrozen(account_id=ADA, reason="Fraud check"))
    target = ledger.log[-1][0] if event == "frozen" else ledger.log[0][0]
    with pytest.raises(errors.NotReversible):
        ledger.when(ledger.reverse(target))


def test_reversing_a_deposit_needs_the_money_still_to_be_there(ledger):
    original = deposit(ledger, ADA, 2500)
    ledger.when(Withdraw(account_id=ADA, amount=2000, currency="EUR"))

    with pytest.raises(errors.CannotGiveBack, match=r"only 5\.00 EUR available, including the overdraft"):
        ledger.when(ledger.reverse(original))
    assert ledger.account(ADA).reversed == frozenset()


def test_the_overdraft_counts_as_available_for_a_reversal():
    ledger = RecordedScenario().given(
        AccountOpened(account_id=ADA, owner="Ada Lovelace", currency="EUR", overdraft_limit=1000)
    )
    original = deposit(ledger, ADA, 2500)
    ledger.when(Withdraw(account_id=ADA, amount=1000, currency="EUR"))

    ledger.when(ledger.reverse(original))

    assert ledger.account(ADA).balance == -1000


def test_a_transfer_is_not_reversed_when_the_receiver_spent_the_money(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 3000)
    ledger.when(Withdraw(account_id=BOB, amount=2500, currency="EUR"))

    with pytest.raises(errors.CannotGiveBack, match=r"the receiving account has only 5\.00 EUR"):
        ledger.when(ledger.reverse(sent))
    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (2000, 500)


def test_a_frozen_account_takes_money_back_in(ledger):
    deposit(ledger, ADA, 5000)
    (withdrawn,) = ledger.when(Withdraw(account_id=ADA, amount=1200, currency="EUR"))
    ledger.given(AccountFrozen(account_id=ADA, reason="Fraud check"))

    ledger.when(ledger.reverse(withdrawn))

    assert ledger.account(ADA).balance == 5000
    assert ledger.account(ADA).status is Status.FROZEN


def test_nothing_leaves_a_frozen_account_by_a_reversal_either(ledger):
    original = deposit(ledger, ADA, 2500)
    ledger.given(AccountFrozen(account_id=ADA, reason="Fraud check"))

    with pytest.raises(errors.AccountIsFrozen, match="nothing can leave it"):
        ledger.when(ledger.reverse(original))


def test_a_transfer_to_a_frozen_account_is_not_reversed_but_one_from_it_is(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 3000)
    ledger.given(AccountFrozen(account_id=BOB, reason="Fraud check"))
    with pytest.raises(errors.AccountIsFrozen):
        ledger.when(ledger.reverse(sent))

    ledger.given(AccountFrozen(account_id=ADA, reason="Fraud check"))
    ledger.history[BOB] = [e for e in ledger.history[BOB] if not isinstance(e, AccountFrozen)]
    ledger.when(ledger.reverse(sent))  # the frozen sender gets the money back
    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (5000, 0)


def test_nothing_is_reversed_on_a_closed_account(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 5000)
    ledger.given(AccountClosed(account_id=ADA, reason="Moved abroad"))

    with pytest.raises(errors.AccountIsClosed):
        ledger.when(ledger.reverse(sent))


def test_a_reversal_needs_a_reason_of_sensible_length(ledger):
    original = deposit(ledger, ADA, 2500)
    for reason in ("", "   ", "x" * (MAX_NOTE_LENGTH + 1)):
        with pytest.raises(errors.InvalidText) as refused:
            ledger.when(ledger.reverse(original, reason=reason))
        assert refused.value.field == "reason"


def test_reversing_a_withdrawal_respects_the_balance_limit(ledger):
    ledger.when(Deposit(account_id=ADA, amount=10**9, currency="EUR"))
    (withdrawn,) = ledger.when(Withdraw(account_id=ADA, amount=10**9, currency="EUR"))
    ledger.history[ADA].append(MoneyDeposited(account_id=ADA, amount=MAX_BALANCE, currency="EUR"))

    with pytest.raises(errors.BalanceLimitExceeded):
        ledger.when(ledger.reverse(withdrawn))


def test_sides_that_do_not_belong_together_are_refused(ledger):
    deposit(ledger, ADA, 5000)
    sent = transfer(ledger, 3000)
    sent_side, received_side = ledger.sides(sent)
    command = ledger.reverse(sent)
    forged = type(command)(
        account_id=ADA,
        command_id=uuid4(),
        sides=(sent_side, type(received_side)(**{**_fields(received_side), "amount": 1})),
        reason="x",
    )
    with pytest.raises(errors.NotReversible):
        ledger.when(forged)


def _fields(side) -> dict:
    return {name: getattr(side, name) for name in side.__dataclass_fields__}


# --- any sequence ------------------------------------------------------------------------------


def _command(ledger: RecordedScenario, kind: str, amount: int, pick: int) -> Command | None:
    account = (ADA, BOB)[pick % 2]
    if kind == "deposit":
        return Deposit(account_id=account, amount=amount, currency="EUR")
    if kind == "withdraw":
        return Withdraw(account_id=account, amount=amount, currency="EUR")
    if kind == "transfer":
        return Transfer(account_id=account, to_account_id=BOB if account == ADA else ADA, amount=amount, currency="EUR")
    movements = [e for e, _ in ledger.log if isinstance(e, (MoneyDeposited, MoneyWithdrawn, TransferSent))]
    return ledger.reverse(movements[pick % len(movements)]) if movements else None


steps = st.lists(
    st.tuples(st.sampled_from(["deposit", "withdraw", "transfer", "reverse"]), st.integers(1, 6_000), st.integers()),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(steps=steps)
def test_any_sequence_keeps_balance_equal_to_the_movements_not_reversed(steps):
    """Whatever is deposited, withdrawn, transferred and reversed, in any order: each balance is the
    sum of its movements that were not reversed, and no movement is reversed twice."""
    ledger = RecordedScenario().given(
        AccountOpened(account_id=ADA, owner="Ada", currency="EUR", overdraft_limit=2000),
        AccountOpened(account_id=BOB, owner="Bob", currency="EUR", overdraft_limit=0),
    )
    for kind, amount, pick in steps:
        command = _command(ledger, kind, amount, pick)
        if command is not None:
            with contextlib.suppress(errors.DomainError):
                ledger.when(command)

    reversed_ids = [e.original_event_id for e, _ in ledger.log if isinstance(e, MovementReversed)]
    assert len(reversed_ids) == len(set(reversed_ids))
    for account_id in (ADA, BOB):
        expected = 0
        for event, side in ledger.log:
            if event.account_id != account_id or side.event_id in reversed_ids:
                continue
            if isinstance(event, (MoneyDeposited, TransferReceived)):
                expected += event.amount
            elif isinstance(event, (MoneyWithdrawn, TransferSent)):
                expected -= event.amount
        state = ledger.account(account_id)
        assert state.balance == expected
        assert state.reversed == {s.event_id for e, s in ledger.log if s.event_id in reversed_ids} & {
            s.event_id for e, s in ledger.log if e.account_id == account_id
        }
    # Every transfer is reversed on both sides or on neither.
    for event, _ in ledger.log:
        if isinstance(event, TransferSent):
            sides = ledger.sides(event)
            assert len({side.event_id in reversed_ids for side in sides}) == 1
