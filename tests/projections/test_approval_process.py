"""The approval process manager: a decision is acted on exactly once (run twice, replayed from the
start, or seen again after a crash between its steps), and the read models follow."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command

from ledger import clock, store
from ledger.approvals import load_request
from ledger.domain import approval as a
from ledger.domain.commands import FreezeAccount, SettleHold
from ledger.execute import execute, load_account
from projections import runner
from projections.models import AccountSummary, ApprovalRequest, ProjectionStatus
from projections.projectors import PROCESS_MANAGERS, PROJECTORS
from projections.projectors.approval_process import expire_due
from projections.projectors.process import command_id_for
from tests.projections.helpers import differences
from tests.write.helpers import decide, event_count, open_account, request_approval

BIG = 1_500_000


def types(stream_id: UUID) -> list[str]:
    return [e.type for e in store.read_stream(stream_id)]


def caught_up() -> None:
    report = runner.catch_up()
    assert report.caught_up and not report.failed, report


def no_differences() -> None:
    found = differences()
    assert all(not diff for diff in found.values()), found


def test_an_approved_withdrawal_is_made_once_and_the_hold_released(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG, memo="car")
    caught_up()
    row = ApprovalRequest.objects.get(request_id=request_id)
    assert (row.status, row.amount, row.requested_by, row.memo) == ("pending", BIG, "tom", "car")
    assert AccountSummary.objects.get(account_id=ada).held == BIG

    decide(request_id, ada, by="sue", reason="called the customer")
    caught_up()

    assert types(ada)[-2:] == ["MoneyWithdrawn", "HoldReleased"]
    assert types(request_id) == ["ApprovalRequested", "ApprovalGranted", "ApprovalSettled"]
    account = load_account(ada)
    assert (account.balance, account.held) == (500_000, 0)
    row = ApprovalRequest.objects.get(request_id=request_id)
    assert (row.status, row.outcome, row.decided_by, row.decision_reason) == (
        "approved",
        "executed",
        "sue",
        "called the customer",
    )
    summary = AccountSummary.objects.get(account_id=ada)
    assert (summary.balance, summary.held, summary.available) == (500_000, 0, 500_000)
    no_differences()


def test_the_causation_chain_runs_from_the_request_through_the_approval_to_the_movement(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    decide(request_id, ada)
    caught_up()

    requested, granted, settled = store.read_stream(request_id)
    withdrawn = next(e for e in store.read_stream(ada) if e.type == "MoneyWithdrawn")
    assert granted.metadata["correlation_id"] == str(request_id)
    assert withdrawn.metadata["causation_id"] == str(granted.event_id)
    assert withdrawn.metadata["correlation_id"] == settled.metadata["correlation_id"] == str(request_id)
    assert withdrawn.metadata["actor"] == "tom, approved by sue"
    assert requested.metadata["correlation_id"] == str(request_id)


def test_running_again_or_replaying_from_the_first_event_acts_no_second_time(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    decide(request_id, ada)
    caught_up()
    before = event_count()

    caught_up()  # a second delivery of the nudge
    ProjectionStatus.objects.filter(name="approval_process").update(tx_id=0, position=0)  # a replay from the start
    caught_up()

    assert event_count() == before
    assert load_account(ada).balance == 500_000


def test_a_crash_between_the_movement_and_the_outcome_ends_with_one_movement(committed):
    """The process made the movement (with its derived command id) and died before recording the
    outcome: seeing the approval again, it finds the movement done and records the outcome only."""
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    decide(request_id, ada)
    granted = store.read_stream(request_id)[1]
    execute(
        SettleHold(
            account_id=ada,
            command_id=command_id_for(granted.event_id, "hold"),
            hold_id=request_id,
            amount=BIG,
            currency="EUR",
        ),
        actor="approvals",
    )

    caught_up()

    assert types(ada).count("MoneyWithdrawn") == 1
    assert load_request(request_id).outcome == "executed"
    assert load_account(ada).balance == 500_000


def test_a_rejected_request_gives_the_hold_back(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    decide(request_id, ada, approve=False, reason="no ID shown")
    caught_up()

    assert types(ada)[-1] == "HoldReleased" and "MoneyWithdrawn" not in types(ada)
    assert load_account(ada).available == 2_000_000
    row = ApprovalRequest.objects.get(request_id=request_id)
    assert (row.status, row.outcome, row.decision_reason) == ("rejected", "released", "no ID shown")
    no_differences()


def test_a_request_expires_by_the_clock_once_and_gives_the_hold_back(committed, test_clock):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    caught_up()
    assert expire_due(now=clock.now()) == 0

    test_clock.move(timedelta(hours=24, seconds=1))
    assert expire_due(now=clock.now()) >= 1
    assert expire_due(now=clock.now()) == 0  # a second sweep (or beat) before the inbox caught up
    with pytest.raises(a.RequestNotPending):
        decide(request_id, ada)
    caught_up()

    assert types(request_id) == ["ApprovalRequested", "ApprovalExpired", "ApprovalSettled"]
    chain = [e.type for e in store.read_correlated(request_id)]  # the request's page shows it whole
    assert chain == ["ApprovalRequested", "FundsHeld", "ApprovalExpired", "HoldReleased", "ApprovalSettled"]
    assert load_account(ada).held == 0
    assert ApprovalRequest.objects.get(request_id=request_id).status == "expired"
    no_differences()


def test_an_approved_withdrawal_from_an_account_frozen_meanwhile_fails_and_gives_the_hold_back(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    execute(FreezeAccount(account_id=ada, reason="fraud check"), actor="sue")
    decide(request_id, ada, by="max")
    caught_up()

    account = load_account(ada)
    assert (account.balance, account.held) == (2_000_000, 0)
    row = ApprovalRequest.objects.get(request_id=request_id)
    assert (row.status, row.outcome) == ("approved", "failed")
    assert "frozen" in row.outcome_detail
    assert "Ada Lovelace" not in row.outcome_detail  # an event's text: forgetting the customer cannot reach it
    no_differences()


def test_an_approved_transfer_reaches_both_statements(committed):
    ada, bob = open_account(balance=2_000_000), open_account(owner="Bob")
    request_id, _ = request_approval(ada, BIG, to=bob)
    decide(request_id, ada)
    caught_up()

    assert (load_account(ada).balance, load_account(bob).balance) == (500_000, BIG)
    assert types(bob)[-1] == "TransferReceived"
    no_differences()


def test_the_process_manager_is_run_but_never_reset_rebuilt_or_verified(committed):
    assert "approval_process" in PROCESS_MANAGERS and "approval_process" not in PROJECTORS
    with pytest.raises(KeyError):
        runner.reset(["approval_process"])
    with pytest.raises(RuntimeError):
        PROCESS_MANAGERS["approval_process"].reset()


def test_rebuild_and_verify_refuse_the_process_manager_by_name_and_say_why(committed):
    with pytest.raises(CommandError, match="process manager"):
        call_command("rebuild_projections", "approval_process", "--no-input")
    with pytest.raises(CommandError, match="process manager"):
        call_command("verify_projections", "approval_process")
