"""The one entry point: load, decide, append; metadata, idempotency, snapshots and the after-commit
hook, against the real Postgres."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.db import connection, transaction

from ledger import hooks, store
from ledger.domain import errors
from ledger.domain.account import fold
from ledger.domain.commands import Deposit, FreezeAccount, Transfer, Withdraw
from ledger.execute import SNAPSHOT_EVERY, IdempotencyConflict, execute, load_account
from ledger.store.serialization import account_event_from_payload
from tests.write.helpers import event_count, execute_then_fail, open_account


@pytest.mark.django_db
def test_every_event_carries_who_what_and_why():
    ada, bob = open_account(balance=5000), open_account()
    correlation = uuid4()
    command = Transfer(account_id=ada, to_account_id=bob, amount=100, currency="EUR", memo="lunch")

    result = execute(command, actor="teller", correlation_id=correlation, source="web")

    sent, received = store.read_stream(ada)[-1], store.read_stream(bob)[-1]
    assert sent.position < received.position == result.position
    assert sent.metadata == {
        "actor": "teller",
        "command_id": str(command.command_id),
        "command": "Transfer",
        "correlation_id": str(correlation),
        "causation_id": str(command.command_id),
        "source": "web",
    }
    assert received.metadata["causation_id"] == str(sent.event_id)  # the credit happens because of the debit
    assert received.metadata["correlation_id"] == str(correlation)


@pytest.mark.django_db
def test_a_refused_command_appends_nothing_and_says_why():
    ada = open_account(balance=1000)
    before = event_count()

    with pytest.raises(errors.InsufficientFunds, match=r"at most 10\.00 EUR is available"):
        execute(Withdraw(account_id=ada, amount=1001, currency="EUR"), actor="teller")

    assert event_count() == before


@pytest.mark.django_db
def test_executing_the_same_command_id_twice_appends_once_and_returns_the_first_result():
    ada = open_account()
    deposit = Deposit(account_id=ada, amount=2500, currency="EUR")

    first = execute(deposit, actor="teller")
    again = execute(deposit, actor="teller")

    assert (again.position, again.tx_id, again.replayed) == (first.position, first.tx_id, True)
    assert load_account(ada).balance == 2500


@pytest.mark.django_db
def test_the_same_command_id_with_other_details_is_refused():
    ada = open_account()
    deposit = Deposit(account_id=ada, amount=2500, currency="EUR")
    execute(deposit, actor="teller")

    with pytest.raises(IdempotencyConflict, match="different details"):
        execute(Deposit(account_id=ada, amount=9999, currency="EUR", command_id=deposit.command_id), actor="teller")

    assert load_account(ada).balance == 2500


@pytest.mark.django_db
def test_a_long_account_is_loaded_from_a_snapshot_equal_to_the_full_fold():
    ada = open_account()
    for _ in range(SNAPSHOT_EVERY * 2 + 10):
        execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")

    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM ledger_snapshot WHERE stream_id = %s", [ada])
        assert cursor.fetchone() == (SNAPSHOT_EVERY * 2,)
    full = fold(ada, [account_event_from_payload(e.type, e.schema_version, e.data) for e in store.read_stream(ada)])
    assert load_account(ada) == full
    assert full.balance == SNAPSHOT_EVERY * 2 + 10 and full.version == SNAPSHOT_EVERY * 2 + 11


@pytest.mark.django_db
def test_commands_run_inside_a_callers_transaction_and_a_lost_race_does_not_poison_it():
    ada = open_account(balance=100)
    with transaction.atomic():
        execute(FreezeAccount(account_id=ada, reason="check"), actor="supervisor")
        with pytest.raises(errors.AccountAlreadyFrozen):
            execute(FreezeAccount(account_id=ada, reason="check"), actor="supervisor")
        execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")
    assert load_account(ada).balance == 101


@pytest.fixture
def committed_results():
    seen: list[hooks.CommandResult] = []
    hooks.on_command_committed(seen.append)
    yield seen
    hooks._after_commit.remove(seen.append)


def test_the_after_commit_hook_hears_of_every_committed_command(committed, committed_results):
    ada = open_account()
    result = execute(Deposit(account_id=ada, amount=5, currency="EUR"), actor="teller")

    assert result in committed_results


def test_a_rolled_back_command_notifies_nobody(committed, committed_results):
    ada = open_account()
    committed_results.clear()

    with pytest.raises(RuntimeError):
        execute_then_fail(Deposit(account_id=ada, amount=5, currency="EUR"), actor="teller")

    assert committed_results == []
    assert load_account(ada).balance == 0


def test_a_failing_hook_never_fails_a_command(committed, committed_results):
    def broken(result):
        raise ConnectionError("broker is down")

    hooks.on_command_committed(broken)
    try:
        ada = open_account()
        result = execute(Deposit(account_id=ada, amount=5, currency="EUR"), actor="teller")
    finally:
        hooks._after_commit.remove(broken)

    assert load_account(ada).balance == 5
    assert result in committed_results
