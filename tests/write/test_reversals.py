"""Reversals against the real event store: the compensating entries name the original, which stays
as it was; a transfer is reversed on both sides in one append; real concurrent reversers end with
exactly one reversal, and money is conserved."""

from __future__ import annotations

from threading import Barrier
from uuid import UUID

import pytest
from django.db import DatabaseError, connection

from ledger import store
from ledger.domain import errors
from ledger.domain.commands import Deposit, Transfer, Withdraw
from ledger.execute import IdempotencyConflict, execute, load_account
from ledger.reversals import find_movement, reversal_id_for, reverse, reversed_by
from tests.write.helpers import event_count, open_account
from tests.write.test_concurrency import run_in_threads


def last_event(account_id: UUID) -> store.RecordedEvent:
    return store.read_stream(account_id)[-1]


def test_a_reversed_deposit_stays_recorded_and_its_reversal_names_it(committed):
    ada = open_account(balance=2500)
    original = last_event(ada)
    movement = find_movement(account_id=ada, position=original.position)
    assert movement is not None

    result = reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")

    reversal = last_event(ada)
    assert reversal.type == "MovementReversed"
    assert reversal.data["original_event_id"] == str(original.event_id)
    assert (reversal.data["original_position"], reversal.data["original_version"]) == (
        original.position,
        original.version,
    )
    assert reversal.data["original_command_id"] == original.metadata["command_id"]
    assert reversal.metadata["command_id"] == str(reversal_id_for(movement)) == str(result.command_id)
    assert reversal.metadata["correlation_id"] == original.metadata["correlation_id"]
    assert store.read_stream(ada)[original.version - 1] == original  # the original, untouched
    assert reversed_by(account_id=ada, event_id=original.event_id, version=original.version) == reversal.position
    assert load_account(ada).balance == 0


def test_the_database_still_refuses_to_change_the_original(committed):
    ada = open_account(balance=2500)
    original = last_event(ada)
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_event SET data = '{}' WHERE position = %s", [original.position])


def test_a_transfer_is_reversed_on_both_sides_in_one_transaction(committed):
    ada, bob = open_account(balance=5000), open_account()
    execute(Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="EUR"), actor="teller")
    received = last_event(bob)
    movement = find_movement(account_id=bob, position=received.position)
    assert movement is not None and movement.is_transfer

    result = reverse(movement, account_id=bob, reason="Wrong payee", actor="supervisor")

    ada_side, bob_side = last_event(ada), last_event(bob)
    assert ada_side.type == bob_side.type == "MovementReversed"
    assert ada_side.tx_id == bob_side.tx_id == result.tx_id  # one append, one transaction
    assert bob_side.metadata["causation_id"] == str(ada_side.event_id)
    assert event_count(command_id=str(result.command_id)) == 2
    assert (load_account(ada).balance, load_account(bob).balance) == (5000, 0)


def test_a_resubmitted_reversal_is_answered_once_and_recorded_once(committed):
    ada = open_account(balance=2500)
    movement = find_movement(account_id=ada, position=last_event(ada).position)
    assert movement is not None

    first = reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")
    again = reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")

    assert again.replayed and (again.position, again.tx_id) == (first.position, first.tx_id)
    assert event_count(command_id=str(first.command_id)) == 1


def test_a_second_supervisor_with_another_reason_is_told_it_is_done(committed):
    ada = open_account(balance=2500)
    movement = find_movement(account_id=ada, position=last_event(ada).position)
    assert movement is not None
    reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")

    with pytest.raises(IdempotencyConflict):
        reverse(movement, account_id=ada, reason="Customer asked", actor="supervisor2")
    assert load_account(ada).balance == 0


def test_a_refused_reversal_records_nothing_and_may_be_tried_again(committed):
    ada = open_account(balance=2500)
    movement = find_movement(account_id=ada, position=last_event(ada).position)
    assert movement is not None
    execute(Withdraw(account_id=ada, amount=2000, currency="EUR"), actor="teller")
    before = event_count()

    with pytest.raises(errors.CannotGiveBack):
        reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")
    assert event_count() == before

    execute(Deposit(account_id=ada, amount=2000, currency="EUR"), actor="teller")
    reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")
    assert load_account(ada).balance == 2500 - 2000 + 2000 - 2500


def test_only_money_events_of_the_account_are_movements(committed):
    ada, bob = open_account(balance=2500), open_account()
    opened = store.read_stream(ada)[0]
    deposit = last_event(ada)

    assert find_movement(account_id=ada, position=opened.position) is None
    assert find_movement(account_id=bob, position=deposit.position) is None  # another account's


def test_concurrent_reversers_of_one_transfer_end_with_exactly_one_reversal(committed):
    """Eight threads, each its own connection, reverse the same transfer at once: from either side,
    with different reasons. One wins; the others are told it is done; money is conserved."""
    ada, bob = open_account(balance=5000), open_account(balance=1000)
    execute(Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="EUR"), actor="teller")
    sent, received = store.read_stream(ada)[-1], last_event(bob)
    start = Barrier(8)

    def reverse_once(n: int) -> str:
        account, event = (ada, sent) if n % 2 else (bob, received)
        movement = find_movement(account_id=account, position=event.position)
        assert movement is not None
        start.wait()
        try:
            result = reverse(movement, account_id=account, reason=f"reason {n % 3}", actor=f"supervisor{n}")
        except (IdempotencyConflict, errors.AlreadyReversed):
            return "told"
        return "replayed" if result.replayed else "reversed"

    outcomes = run_in_threads(8, reverse_once, range(8))

    assert outcomes.count("reversed") == 1
    reversals = [e for a in (ada, bob) for e in store.read_stream(a) if e.type == "MovementReversed"]
    assert len(reversals) == 2 and len({e.tx_id for e in reversals}) == 1
    assert (load_account(ada).balance, load_account(bob).balance) == (5000, 1000)


def test_a_reversal_racing_a_withdrawal_of_the_same_money_never_overdraws(committed):
    """The deposit's reversal and a withdrawal of most of that money, at once, many times: one of
    them is refused each time; the balance never goes below zero."""
    for _ in range(10):
        ada = open_account(balance=2500)
        movement = find_movement(account_id=ada, position=last_event(ada).position)
        assert movement is not None
        start = Barrier(2)

        def act(n: int, ada: UUID = ada, movement=movement, start: Barrier = start) -> str:
            start.wait()
            try:
                if n:
                    reverse(movement, account_id=ada, reason="Keyed in twice", actor="supervisor")
                else:
                    execute(Withdraw(account_id=ada, amount=2000, currency="EUR"), actor="teller")
            except (errors.CannotGiveBack, errors.InsufficientFunds):
                return "refused"
            return "done"

        outcomes = run_in_threads(2, act, range(2))

        assert sorted(outcomes) == ["done", "refused"]
        assert load_account(ada).balance in (0, 500)
