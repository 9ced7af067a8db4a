"""One stress process: random commands against a few shared accounts, as fast as it can.

Run by tests/write/test_stress.py, several at once. The plan comes as JSON in
STRESS_PLAN; the last line printed is a JSON report of what was accepted, refused and retried, so
the test can hold the event store to account for every command.
"""

from __future__ import annotations

import json
import logging
import os
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import NotRequired, TypedDict
from uuid import UUID, uuid4

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from ledger.domain import commands as c  # noqa: E402 - after django.setup()
from ledger.domain.errors import DomainError  # noqa: E402 - after django.setup()
from ledger.execute import execute, load_account  # noqa: E402 - after django.setup()
from tests.write.races import WRITE_LOG, RaceCounter  # noqa: E402 - after django.setup()

races = RaceCounter()
write_log = logging.getLogger(WRITE_LOG)
write_log.setLevel(logging.INFO)
write_log.propagate = False
write_log.addHandler(races)

plan = json.loads(os.environ["STRESS_PLAN"])
rng = random.Random(plan["seed"])
accounts = [UUID(a) for a in plan["accounts"]]
shared = [
    c.Deposit(account_id=UUID(a), command_id=UUID(cid), amount=amount, currency="EUR", memo="shared")
    for cid, a, amount in plan["shared"]
]


class Report(TypedDict):
    """The last line printed, as JSON."""

    accepted: list[list[str]]  # [command id, command type]
    refused: Counter[str]  # by error type
    refused_ids: list[str]
    replayed: int
    replay_mismatch: int
    attempts: int
    elapsed: NotRequired[float]  # once all commands ran
    races_lost: NotRequired[int]


report: Report = {
    "accepted": [],
    "refused": Counter(),
    "refused_ids": [],
    "replayed": 0,
    "replay_mismatch": 0,
    "attempts": 0,
}
first_answer: dict[UUID, tuple[int, int]] = {}
done: list[c.Command] = []


def run(command: c.Command) -> bool:
    report["attempts"] += 1
    try:
        result = execute(command, actor=f"stress-{plan['seed']}", source="stress")
    except DomainError as error:
        report["refused"][type(error).__name__] += 1
        report["refused_ids"].append(str(command.command_id))
        return False
    answer = (result.position, result.tx_id)
    if result.replayed:
        report["replayed"] += 1
        if command.command_id in first_answer and first_answer[command.command_id] != answer:
            report["replay_mismatch"] += 1
    else:
        report["accepted"].append([str(command.command_id), type(command).__name__])
        done.append(command)
    first_answer.setdefault(command.command_id, answer)
    return True


def amount() -> int:
    return rng.choice([rng.randint(1, 5_000), rng.randint(1, 50_000)])


def seen_version(account: UUID) -> int | None:
    """Sometimes act on the version just looked at, as a supervisor's form does (races become stale)."""
    return load_account(account).version if rng.random() < 0.3 else None


def drain_and_close(account: UUID) -> None:
    state = load_account(account)
    if state.balance > 0:
        run(c.Withdraw(account_id=account, amount=state.balance, currency="EUR", memo="closing"))
    elif state.balance < 0:
        run(c.Deposit(account_id=account, amount=-state.balance, currency="EUR", memo="settling"))
    run(c.CloseAccount(account_id=account, reason="stress"))


started = time.monotonic()
next_shared = 0
for step in range(plan["commands"]):
    if plan["closer"] and step == plan["commands"] // 2:
        target = accounts[-1]
        for _ in range(50):  # others keep paying into it; try until it is closed
            if load_account(target).status.value == "closed":
                break
            if load_account(target).status.value == "frozen":
                run(c.UnfreezeAccount(account_id=target, reason="to close"))
            drain_and_close(target)
    if next_shared < len(shared) and rng.random() < 0.03:
        run(shared[next_shared])
        next_shared += 1
        continue
    a = rng.choice(accounts)
    roll = rng.random()
    if roll < 0.28:
        run(c.Deposit(account_id=a, amount=amount(), currency="EUR"))
    elif roll < 0.48:
        run(c.Withdraw(account_id=a, amount=amount(), currency="EUR"))
    elif roll < 0.80:
        to = a if rng.random() < 0.03 else rng.choice([x for x in accounts if x != a])
        run(c.Transfer(account_id=a, to_account_id=to, amount=amount(), currency="EUR"))
    elif roll < 0.84:
        run(c.FreezeAccount(account_id=a, reason="stress", expected_version=seen_version(a)))
    elif roll < 0.92:
        run(c.UnfreezeAccount(account_id=a, reason="stress", expected_version=seen_version(a)))
    elif roll < 0.95:
        if rng.random() < 0.05:
            drain_and_close(a)
        else:
            run(c.CloseAccount(account_id=a, reason="stress", expected_version=seen_version(a)))
    elif done:
        run(rng.choice(done))  # the same command sent again: a double-submitted form
    else:
        run(c.Deposit(account_id=a, amount=amount(), currency="EUR", command_id=uuid4()))
for command in shared[next_shared:]:
    run(command)

report["elapsed"] = round(time.monotonic() - started, 2)
report["races_lost"] = races.total
print(json.dumps(report))
