"""Real concurrent writers (threads, each with its own Postgres connection) against one account."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

from django.db import connections

from ledger import store
from ledger.domain import errors
from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute, load_account
from tests.write.helpers import open_account


def run_in_threads(workers: int, job, args):
    def wrapped(arg):
        try:
            return job(arg)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(wrapped, args))


def test_eight_writers_depositing_into_one_account_lose_nothing(committed):
    account = open_account()
    writers, deposits_each = 8, 200

    def deposit_many(writer: int):
        for _ in range(deposits_each):
            execute(Deposit(account_id=account, amount=writer + 1, currency="EUR"), actor=f"teller{writer}")

    run_in_threads(writers, deposit_many, range(writers))

    expected = sum((w + 1) * deposits_each for w in range(writers))
    assert load_account(account).balance == expected
    versions = [e.version for e in store.read_stream(account)]
    assert versions == list(range(1, writers * deposits_each + 2))  # 1 is AccountOpened


def test_concurrent_transfers_are_all_or_nothing_and_conserve_money(committed):
    sources = [open_account(balance=10_000) for _ in range(3)]
    sink = open_account()
    # Half of the transfers go to the sink (60 x 10.00 from 300.00 in all: many are refused), half
    # between the sources in both directions (locks taken in opposite orders must not deadlock).
    plan = [(sources[i % 3], sink if i % 2 == 0 else sources[(i + 1) % 3]) for i in range(120)]

    def transfer(step):
        source, target = step
        try:
            execute(Transfer(account_id=source, to_account_id=target, amount=1_000, currency="EUR"), actor="teller")
            return "done"
        except errors.InsufficientFunds:
            return "refused"

    outcomes = run_in_threads(6, transfer, plan)

    accounts = [*sources, sink]
    assert "done" in outcomes and "refused" in outcomes
    assert sum(load_account(a).balance for a in accounts) == 30_000
    assert all(load_account(a).balance >= 0 for a in accounts)
    sent = [e for a in accounts for e in store.read_stream(a) if e.type == "TransferSent"]
    received = [e for a in accounts for e in store.read_stream(a) if e.type == "TransferReceived"]
    assert len(sent) == len(received) == outcomes.count("done")
    assert {e.data["transfer_id"] for e in sent} == {e.data["transfer_id"] for e in received}


def test_the_same_command_sent_twice_at_once_is_applied_once_with_one_answer(committed):
    account = open_account()
    deposits = [Deposit(account_id=account, amount=100, currency="EUR") for _ in range(20)]

    results = run_in_threads(8, lambda d: execute(d, actor="teller"), [d for d in deposits for _ in range(4)])

    assert load_account(account).balance == 20 * 100
    by_command: dict[UUID, set[tuple[int, int]]] = {}
    for result in results:
        by_command.setdefault(result.command_id, set()).add((result.position, result.tx_id))
    assert all(len(answers) == 1 for answers in by_command.values())
    assert sum(not r.replayed for r in results) == 20


def test_a_deposit_into_an_account_opened_concurrently_twice_opens_it_once(committed):
    from ledger.domain.commands import OpenAccount

    account_id = uuid4()
    opens = [OpenAccount(account_id=account_id, owner=f"Owner {i}", currency="EUR") for i in range(6)]

    def try_open(command):
        try:
            execute(command, actor="teller")
            return "opened"
        except errors.AccountAlreadyExists:
            return "exists"

    outcomes = run_in_threads(6, try_open, opens)

    assert sorted(outcomes) == ["exists"] * 5 + ["opened"]
    assert [e.type for e in store.read_stream(account_id)] == ["AccountOpened"]
