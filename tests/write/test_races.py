"""Two commands decided on the same version of an account, appending at the same instant: one
commits; the other loses the race and is decided again, so it commits too or is refused by a rule.
Never are both lost, and never are both applied when only one may be."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from uuid import UUID

import pytest
from django.db import connections

from ledger import store
from ledger.domain import commands as c
from ledger.domain import errors
from ledger.execute import execute, load_account
from tests.write.helpers import open_account

# name: (opening balance, the two commands on (account, version), their outcomes in either order, the balance after)
Race = tuple[int, Callable[[UUID, int], list[c.Command]], list[str], int]
RACES: dict[str, Race] = {
    "two deposits": (
        0,
        lambda a, v: [
            c.Deposit(account_id=a, amount=100, currency="EUR"),
            c.Deposit(account_id=a, amount=250, currency="EUR"),
        ],
        ["committed", "committed"],
        350,
    ),
    "two withdrawals of the whole balance": (
        500,
        lambda a, v: [
            c.Withdraw(account_id=a, amount=500, currency="EUR"),
            c.Withdraw(account_id=a, amount=500, currency="EUR"),
        ],
        ["InsufficientFunds", "committed"],
        0,
    ),
    "a freeze and a close decided on the same page": (
        0,
        lambda a, v: [
            c.FreezeAccount(account_id=a, reason="check", expected_version=v),
            c.CloseAccount(account_id=a, reason="moved away", expected_version=v),
        ],
        ["StaleView", "committed"],
        0,
    ),
}


@pytest.mark.parametrize("race", RACES)
def test_two_commands_racing_at_the_same_version_lose_nothing_one_commits_and_the_other_is_retried(
    committed, monkeypatch, races, race
):
    balance, make, expected, balance_after = RACES[race]
    account = open_account(balance=balance)
    version = load_account(account).version
    first, second = make(account, version)
    both_decided = threading.Barrier(2, timeout=10)
    appends: Counter[str] = Counter()  # by thread name
    real_append = store.append

    def append_together(*args, **kwargs):
        # Both commands were decided on the same version; let them append at the same instant.
        appends[threading.current_thread().name] += 1
        if appends[threading.current_thread().name] == 1:
            both_decided.wait()
        return real_append(*args, **kwargs)

    monkeypatch.setattr(store, "append", append_together)
    outcomes: dict[str, str] = {}

    def send(name: str, command: c.Command) -> None:
        try:
            execute(command, actor="teller")
            outcomes[name] = "committed"
        except errors.DomainError as error:
            outcomes[name] = type(error).__name__
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=send, args=(f"racer-{i}", cmd), name=f"racer-{i}")
        for i, cmd in enumerate((first, second))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert sorted(outcomes.values()) == expected, outcomes
    assert races.total == 1, "exactly one of the two lost the race and was decided again"
    committed_count = list(outcomes.values()).count("committed")
    assert sum(appends.values()) == 2 + (committed_count == 2)  # the loser appended again only if still valid
    versions = [e.version for e in store.read_stream(account)]
    assert versions == list(range(1, version + committed_count + 1))
    assert load_account(account).balance == balance_after
