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
from uuid import UUID, uuid4, uuid5

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from ledger import clock  # noqa: E402 - after django.setup()
from ledger.approvals import route  # noqa: E402 - after django.setup()
from ledger.domain import approval as ap  # noqa: E402 - after django.setup()
from ledger.domain import commands as c  # noqa: E402 - after django.setup()
from ledger.domain.errors import DomainError  # noqa: E402 - after django.setup()
from ledger.execute import execute, load_account  # noqa: E402 - after django.setup()
from ledger.reversals import find_movement, reversal_command  # noqa: E402 - after django.setup()
from ledger.store.sql import fetch  # noqa: E402 - after django.setup()
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


def reverse_one(account: UUID) -> None:
    """A supervisor reverses one of the account's latest movements: often one that another process
    reverses at the same moment, or that was reversed already, or whose money has gone since."""
    latest = fetch(
        "SELECT position FROM ledger_event WHERE stream_id = %s AND type = ANY(%s) ORDER BY position DESC LIMIT 12",
        [account, ["MoneyDeposited", "MoneyWithdrawn", "TransferSent", "TransferReceived"]],
    )
    movement = find_movement(account_id=account, position=rng.choice(latest)[0]) if latest else None
    if movement is not None:
        # Mostly the same reason (the same command, when two reverse it at once), sometimes another.
        reason = "stress" if rng.random() < 0.8 else f"stress {plan['seed']}"
        run(reversal_command(movement, account_id=account, reason=reason))


def request_large(account: UUID) -> None:
    """A teller's large withdrawal or transfer (the plan's threshold is low): a request and a hold.
    Never from the account the closer empties: its holds would keep it open."""
    if account == accounts[-1]:
        return
    big = rng.randint(plan["threshold"], 3 * plan["threshold"])
    to = rng.choice([x for x in accounts if x != account]) if rng.random() < 0.5 else None
    movement: c.Command = (
        c.Transfer(account_id=account, to_account_id=to, amount=big, currency="EUR")
        if to
        else c.Withdraw(account_id=account, amount=big, currency="EUR")
    )
    run(route(movement, actor=f"stress-{plan['seed']}"))


def decide_one() -> None:
    """A supervisor decides one of the latest requests: often one another process decides at the same
    moment (two supervisors), sometimes with the same command id (a double click), sometimes their own."""
    latest = fetch(
        "SELECT stream_id, (data->>'account_id')::uuid FROM ledger_event WHERE type = 'ApprovalRequested'"
        " AND (data->>'account_id')::uuid = ANY(%s) ORDER BY position DESC LIMIT 8",
        [accounts],
    )
    if not latest:
        return
    request_id, account = rng.choice(latest)
    approve = rng.random() < 0.7
    kind = ap.ApproveRequest if approve else ap.RejectRequest
    same = rng.random() < 0.5  # the same click from every process, else a decision of its own
    command = kind(
        account_id=account,
        command_id=uuid5(request_id, f"decide-{approve}") if same else uuid4(),
        request_id=request_id,
        decided_by=f"supervisor-{plan['seed']}" if rng.random() < 0.9 else "stress-0",
        reason="stress",
        decided_at=clock.now(),
    )
    run(command)


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
    elif roll < 0.52:
        reverse_one(a)
    elif roll < 0.56:
        request_large(a)
    elif roll < 0.60:
        decide_one()
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
