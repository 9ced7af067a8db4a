"""The per-process state cache: a command on an account this process just wrote costs one
statement, and a cache that is behind the store (another process wrote, or a transaction rolled
back) is never trusted over it. Across processes, tests/write/test_stress.py has four
writers caching the same eight accounts."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger import store
from ledger.domain import errors
from ledger.domain.account import Account
from ledger.domain.commands import Deposit, OpenAccount, Withdraw
from ledger.execute import execute, known_states, load_account
from tests.write.helpers import execute_then_fail, open_account


def versions(account_id) -> list[int]:
    return [event.version for event in store.read_stream(account_id)]


def cached(account_id: UUID) -> Account:
    states = known_states.get_all([account_id])
    assert states is not None, "the account's state should be in the cache"
    return states[account_id]


def test_a_command_on_an_account_this_process_just_wrote_is_one_statement(committed):
    ada = open_account(balance=1000)

    with CaptureQueriesContext(connection) as warm:
        execute(Deposit(account_id=ada, amount=5, currency="EUR"), actor="teller")
    known_states.forget([ada])
    with CaptureQueriesContext(connection) as cold:
        execute(Deposit(account_id=ada, amount=5, currency="EUR"), actor="teller")

    [append] = [q["sql"] for q in warm.captured_queries]
    assert "INSERT INTO ledger_event" in append
    assert len(cold.captured_queries) == 2  # load, then the same append
    assert load_account(ada).balance == 1010


def test_a_cached_state_behind_the_store_is_caught_and_the_command_decided_again(committed):
    ada = open_account(balance=100)
    stale = cached(ada)
    execute(Deposit(account_id=ada, amount=50, currency="EUR"), actor="teller")
    known_states.clear()
    known_states.put({ada: stale})  # as if another process had made that deposit

    # The stale state allows 100.00; the store's 150.00 allows 120.00.
    execute(Withdraw(account_id=ada, amount=120, currency="EUR"), actor="teller")
    known_states.clear()
    known_states.put({ada: stale})
    execute(Deposit(account_id=ada, amount=7, currency="EUR"), actor="teller")  # v3 is taken

    state = load_account(ada)
    assert (state.version, state.balance) == (5, 37)
    assert versions(ada) == [1, 2, 3, 4, 5]
    assert known_states.get_all([ada]) == {ada: state}


def test_a_rule_broken_against_the_store_is_still_refused_after_the_reload(committed):
    ada = open_account(balance=100)
    execute(Withdraw(account_id=ada, amount=100, currency="EUR"), actor="teller")

    with pytest.raises(errors.InsufficientFunds):
        execute(Withdraw(account_id=ada, amount=1, currency="EUR"), actor="teller")
    assert versions(ada) == [1, 2, 3]


def test_a_rolled_back_command_never_reaches_the_cache(committed):
    ada = open_account(balance=100)
    before = cached(ada)

    with pytest.raises(RuntimeError):
        execute_then_fail(Deposit(account_id=ada, amount=900, currency="EUR"), actor="teller")

    assert known_states.get_all([ada]) == {ada: before}
    execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")
    assert (load_account(ada).balance, versions(ada)) == (101, [1, 2, 3])


def test_a_resubmitted_command_on_a_cached_account_is_answered_not_applied_again(committed):
    ada = open_account(balance=100)
    everything = Withdraw(account_id=ada, amount=100, currency="EUR")

    first = execute(everything, actor="teller")
    again = execute(everything, actor="teller")  # the cache says 0.00 is left: the store knows why

    assert (again.replayed, again.position, again.tx_id) == (True, first.position, first.tx_id)
    assert versions(ada) == [1, 2, 3]


def test_the_event_store_statements_are_prepared_once_per_connection(committed):
    ada = open_account()
    for _ in range(4):
        execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("INSERT INTO ledger_event" in sql for sql in prepared), prepared


def test_opening_an_account_is_one_statement_and_opening_it_again_is_still_refused(committed):
    ada = uuid4()
    with CaptureQueriesContext(connection) as opening:
        execute(OpenAccount(account_id=ada, owner="Ada Lovelace", currency="EUR"), actor="teller")
    known_states.forget([ada])

    with pytest.raises(errors.AccountAlreadyExists):
        execute(OpenAccount(account_id=ada, owner="Someone Else", currency="EUR"), actor="teller")

    assert len(opening.captured_queries) == 1
    assert versions(ada) == [1]
    assert load_account(ada).owner == "Ada Lovelace"


def test_a_task_form_loads_the_account_once_for_showing_and_deciding(committed):
    ada = open_account(balance=100)
    known_states.forget([ada])

    with CaptureQueriesContext(connection) as post:
        shown = load_account(ada)  # what the task view does before executing the form's command
        execute(Withdraw(account_id=ada, amount=30, currency="EUR"), actor="teller")

    assert len(post.captured_queries) == 2  # one load, one append
    assert (shown.version, load_account(ada).balance) == (2, 70)
