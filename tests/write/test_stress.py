"""Invariants under concurrency: four processes issue thousands of random, conflicting commands
against eight accounts (tests/write/stress_worker.py); afterwards the event store accounts for
every command and every cent, and the read models equal a replay."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from io import StringIO
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import store
from ledger.domain import account as domain
from ledger.domain.events import REVERSAL_CREDITS
from ledger.execute import load_account
from ledger.store.serialization import account_event_from_payload
from projections import runner
from projections.models import AccountSummary, StatementLine
from scripts.processes import ROOT
from tests.processes import DEAD_REDIS, child_env
from tests.write.helpers import open_account

HERE = Path(__file__).resolve().parent

PROCESSES, COMMANDS_EACH, ACCOUNTS = 4, 1000, 8
# Large movements need approval from 200.00 EUR in the stress (its amounts are small), and the
# decisions on requests live on the requests' streams, not the accounts'.
APPROVAL_THRESHOLD = 20_000
DECISIONS = {"ApproveRequest", "RejectRequest"}
# The approval process's own commands (derived ids, issued by the runner after the processes end).
NOT_FROM_PROCESS = "coalesce(metadata->>'source', '') <> 'approval_process'"


def fetch(sql: str, params=None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def approvals_settled_once(accounts: list[UUID], folded: dict[UUID, domain.Account]) -> None:
    """Each request decided at most once; each decided one settled once (its hold gone, its movement
    made at most once); the holds left are exactly the pending requests', on the stream and the summary."""
    requests = fetch(
        """SELECT r.stream_id, (r.data->>'account_id')::uuid,
                  count(*) FILTER (WHERE d.type IN ('ApprovalGranted', 'ApprovalRejected', 'ApprovalExpired')),
                  count(*) FILTER (WHERE d.type = 'ApprovalSettled')
             FROM ledger_event r JOIN ledger_event d ON d.stream_id = r.stream_id
            WHERE r.type = 'ApprovalRequested' AND (r.data->>'account_id')::uuid = ANY(%s)
            GROUP BY 1, 2""",
        [accounts],
    )
    assert requests, "the stress made no large requests"
    assert all(decided <= 1 and settled == decided for _, _, decided, settled in requests)
    assert any(decided for *_, decided, _ in requests), "no request was decided"
    movements = fetch(
        "SELECT metadata->>'causation_id', count(*) FROM ledger_event WHERE metadata->>'source' = 'approval_process'"
        " AND type IN ('MoneyWithdrawn', 'TransferSent') GROUP BY 1 HAVING count(*) > 1"
    )
    assert movements == [], "an approval was carried out twice"
    for account, state in folded.items():
        waiting = {rid for rid, acc, decided, _ in requests if acc == account and not decided}
        assert {hold_id for hold_id, _ in state.holds} == waiting
        assert AccountSummary.objects.get(account_id=account).held == state.held


def replay_checking_the_rules(account_id: UUID) -> domain.Account:
    """A fresh fold of the stream (no snapshot), checking on the way that history never broke a rule:
    nothing after a close, a close only at zero, nothing leaving a frozen account, no overdraft."""
    state = domain.Account(id=account_id)
    for recorded in store.read_stream(account_id):
        event = account_event_from_payload(recorded.type, recorded.schema_version, recorded.data)
        before = state
        state = domain.evolve(state, event)
        where = f"{account_id} v{recorded.version} {recorded.type}"
        assert before.status is not domain.Status.CLOSED, f"activity after closing: {where}"
        if recorded.type in ("MoneyWithdrawn", "TransferSent") or (
            recorded.type == "MovementReversed" and recorded.data["original_type"] not in REVERSAL_CREDITS
        ):
            assert before.status is domain.Status.OPEN, f"money left a {before.status} account: {where}"
            assert state.balance >= -state.overdraft_limit, f"overdrawn beyond the limit: {where}"
        if recorded.type == "AccountClosed":
            assert before.balance == 0, f"closed with a balance: {where}"
        if recorded.type == "AccountFrozen":
            assert before.status is domain.Status.OPEN, where
        if recorded.type == "AccountUnfrozen":
            assert before.status is domain.Status.FROZEN, where
    return state


@pytest.mark.slow
def test_thousands_of_random_conflicting_commands_from_four_processes_keep_every_invariant(committed, figures):
    accounts = [
        open_account(balance=100_000, overdraft_limit=10_000 if i < 4 else 0, owner=f"Stress {i}")
        for i in range(ACCOUNTS)
    ]
    setup_commands = {
        cid
        for (cid,) in fetch(
            "SELECT DISTINCT metadata->>'command_id' FROM ledger_event WHERE stream_id = ANY(%s)", [accounts]
        )
    }
    # The same 40 deposits are sent by every process, each at its own moment: each must apply once.
    shared = [[str(uuid4()), str(accounts[i % ACCOUNTS]), 100 + i] for i in range(40)]
    started = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, str(HERE / "stress_worker.py")],
            cwd=ROOT,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={
                **child_env(DEAD_REDIS),
                "STRESS_PLAN": json.dumps(
                    {
                        "accounts": [str(a) for a in accounts],
                        "commands": COMMANDS_EACH,
                        "seed": seed,
                        "shared": shared,
                        "closer": seed == 0,
                        "threshold": APPROVAL_THRESHOLD,
                    }
                ),
                "TALLY_APPROVAL_THRESHOLDS": f"EUR={APPROVAL_THRESHOLD}",
            },
        )
        for seed in range(PROCESSES)
    ]
    try:
        outputs = [p.communicate(timeout=150) for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    elapsed = time.monotonic() - started
    for p, (_, err) in zip(processes, outputs, strict=True):
        assert p.returncode == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    runner.catch_up()

    # Every accepted command is in the store once; no refused command left a trace.
    accepted = [cid for r in reports for cid, kind in r["accepted"] if kind not in DECISIONS]
    refused = {cid for r in reports for cid in r["refused_ids"]}
    in_store = {
        cid
        for (cid,) in fetch(
            f"SELECT DISTINCT metadata->>'command_id' FROM ledger_event"
            f" WHERE stream_id = ANY(%s) AND {NOT_FROM_PROCESS}",
            [accounts],
        )
    }
    assert len(accepted) == len(set(accepted)), "a command was applied twice"
    assert in_store - setup_commands == set(accepted)
    never_accepted = refused - set(accepted)  # (a command refused once may be accepted when sent again)
    assert not (never_accepted & in_store), "a refused command left events behind"
    assert sum(r["replay_mismatch"] for r in reports) == 0, "a repeated command got another answer"
    for cid, _, _ in shared:
        applied = fetch("SELECT count(*) FROM ledger_event WHERE metadata->>'command_id' = %s", [cid])[0][0]
        assert applied == (cid in accepted)

    # One command id, one command row, one transaction, and the row points at the command's last event;
    # across the whole store, no command id's events span two transactions.
    assert (
        fetch(
            """
        SELECT e.metadata->>'command_id' FROM ledger_event e
          LEFT JOIN ledger_command c ON c.command_id = (e.metadata->>'command_id')::uuid
         WHERE e.stream_id = ANY(%s)
         GROUP BY 1 HAVING count(DISTINCT e.tx_id) <> 1 OR count(c.command_id) <> count(*)
             OR bool_or(c.tx_id <> e.tx_id) OR max(e.position) <> max(c.position)""",
            [accounts],
        )
        == []
    )
    assert (
        fetch("""SELECT metadata->>'command_id' FROM ledger_event WHERE metadata ? 'command_id'
                    GROUP BY 1 HAVING count(DISTINCT tx_id) > 1""")
        == []
    )
    # No stream in the store has a hole in its versions.
    assert (
        fetch("""SELECT stream_id FROM ledger_event GROUP BY stream_id
                    HAVING min(version) <> 1 OR max(version) <> count(*)""")
        == []
    )

    # Money: the balances add up to what came in minus what went out; transfers made or lost none.
    ((deposited, withdrawn, sent, received),) = fetch(
        """
        SELECT coalesce(sum((data->>'amount')::bigint) FILTER (WHERE type = 'MoneyDeposited'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE type = 'MoneyWithdrawn'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE type = 'TransferSent'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE type = 'TransferReceived'), 0)
          FROM ledger_event WHERE stream_id = ANY(%s)""",
        [accounts],
    )
    # A reversal moves its original's money back: a transfer's on both sides (as much back to the
    # sender as out of the receiver), a deposit's out and a withdrawal's in; each original at most once.
    ((back_in, back_out, transfers_back, transfers_taken, twice),) = fetch(
        """
        SELECT coalesce(sum((data->>'amount')::bigint) FILTER (WHERE data->>'original_type' = 'MoneyWithdrawn'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE data->>'original_type' = 'MoneyDeposited'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE data->>'original_type' = 'TransferSent'), 0),
               coalesce(sum((data->>'amount')::bigint) FILTER (WHERE data->>'original_type' = 'TransferReceived'), 0),
               count(*) - count(DISTINCT data->>'original_event_id')
          FROM ledger_event WHERE stream_id = ANY(%s) AND type = 'MovementReversed'""",
        [accounts],
    )
    folded = {a: replay_checking_the_rules(a) for a in accounts}
    assert sent == received
    assert transfers_back == transfers_taken
    assert twice == 0, "a movement was reversed twice"
    assert sum(s.balance for s in folded.values()) == deposited - withdrawn + back_in - back_out

    # The write side's snapshot path and the read side both agree with a fresh fold of every stream.
    for a, state in folded.items():
        assert load_account(a) == state
        summary = AccountSummary.objects.get(account_id=a)
        assert (summary.balance, summary.status, summary.version, summary.overdraft_limit, summary.available) == (
            state.balance,
            state.status.value,
            state.version,
            state.overdraft_limit,
            state.available,
        )
        last_line = StatementLine.objects.filter(account_id=a).order_by("-version").first()
        assert last_line is not None
        assert last_line.balance_after == state.balance
    approvals_settled_once(accounts, folded)
    verified = StringIO()
    call_command("verify_projections", stdout=verified)  # raises CommandError on any difference

    refusals = sum((Counter(r["refused"]) for r in reports), Counter())
    kinds = Counter(kind for r in reports for _, kind in r["accepted"])
    races_lost = sum(r["races_lost"] for r in reports)
    assert races_lost > 0, "the processes should have collided"
    assert {"Deposit", "Withdraw", "Transfer", "FreezeAccount", "UnfreezeAccount", "CloseAccount"} <= set(kinds)
    assert kinds["ReverseMovement"] > 0 and refusals["AlreadyReversed"] + refusals["IdempotencyConflict"] > 0
    assert refusals["StaleView"] and refusals["InsufficientFunds"] and refusals["AccountIsClosed"]
    decided = Counter(kind for r in reports for _, kind in r["accepted"] if kind in DECISIONS)
    decisions_in_store = {
        cid
        for (cid,) in fetch(
            """SELECT d.metadata->>'command_id' FROM ledger_event r JOIN ledger_event d ON d.stream_id = r.stream_id
                WHERE r.type = 'ApprovalRequested' AND (r.data->>'account_id')::uuid = ANY(%s)
                  AND d.type IN ('ApprovalGranted', 'ApprovalRejected')""",
            [accounts],
        )
    }
    accepted_decisions = [cid for r in reports for cid, kind in r["accepted"] if kind in DECISIONS]
    assert sorted(decisions_in_store) == sorted(accepted_decisions), (len(decisions_in_store), len(accepted_decisions))
    assert kinds["RequestApproval"] > 0 and decided and refusals["RequestNotPending"] > 0
    events = fetch("SELECT count(*) FROM ledger_event WHERE stream_id = ANY(%s)", [accounts])[0][0]
    figures["stress"] = {
        "processes": PROCESSES,
        "accounts": ACCOUNTS,
        "commands_executed": sum(r["attempts"] for r in reports),
        "accepted": len(accepted),
        "accepted_by_kind": dict(kinds),
        "refused": dict(refusals),
        "replayed": sum(r["replayed"] for r in reports),
        "conflicts_retried": races_lost,
        "events_written": events,
        "closed_accounts": sum(s.status is domain.Status.CLOSED for s in folded.values()),
        "seconds": round(elapsed, 1),
        "verify_output": verified.getvalue().strip().splitlines(),
    }
