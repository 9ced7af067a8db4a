"""Four eyes on the write side: a large movement is a request and a hold in one append; decisions on a
request race on its stream, so concurrent approvers (and an approval racing the expiry) get one."""

from __future__ import annotations

from datetime import timedelta
from threading import Barrier

import pytest

from ledger import clock, store
from ledger.approvals import load_request, route
from ledger.domain import approval as a
from ledger.domain import errors
from ledger.domain.commands import Deposit, Transfer, Withdraw
from ledger.execute import execute, load_account
from projections.projectors.approval_process import expire_command_id
from tests.write.helpers import decide, event_count, open_account, request_approval
from tests.write.test_concurrency import run_in_threads

BIG = 1_500_000  # 15,000.00 EUR: above the default threshold of 10,000.00


def test_below_the_threshold_a_withdrawal_is_made_at_once(committed):
    command = Withdraw(account_id=open_account(balance=BIG), amount=999_999, currency="EUR")
    assert route(command, actor="tom") is command
    assert isinstance(
        route(Withdraw(account_id=command.account_id, amount=1_000_000, currency="EUR"), actor="t"), a.RequestApproval
    )


def test_a_large_withdrawal_records_the_request_and_the_hold_in_one_transaction(committed):
    ada = open_account(balance=2_000_000)
    request_id, result = request_approval(ada, BIG, memo="car")

    request_events = store.read_stream(request_id)
    hold = store.read_stream(ada)[-1]
    assert [e.type for e in request_events] == ["ApprovalRequested"]
    assert (hold.type, hold.data["hold_id"], hold.data["amount"]) == ("FundsHeld", str(request_id), BIG)
    assert hold.tx_id == request_events[0].tx_id == result.tx_id  # one append, one transaction
    assert hold.metadata["causation_id"] == str(request_events[0].event_id)
    account = load_account(ada)
    assert (account.balance, account.held, account.available) == (2_000_000, BIG, 500_000)
    assert request_events[0].stream_type == "approval"


def test_a_resubmitted_request_form_is_the_same_request(committed):
    ada = open_account(balance=2_000_000)
    movement = Withdraw(account_id=ada, amount=BIG, currency="EUR")
    first = execute(route(movement, actor="tom"), actor="tom")
    again = execute(route(movement, actor="tom"), actor="tom")  # a moment later: other timestamps

    assert again.replayed and again.position == first.position
    assert load_account(ada).held == BIG


def test_held_money_cannot_be_spent_by_a_second_request_or_small_withdrawals(committed):
    ada, bob = open_account(balance=2_000_000), open_account()
    request_approval(ada, BIG)

    with pytest.raises(errors.InsufficientFunds):
        request_approval(ada, 1_000_000, to=bob)
    with pytest.raises(errors.InsufficientFunds):
        execute(Transfer(account_id=ada, to_account_id=bob, amount=500_001, currency="EUR"), actor="tom")
    execute(Withdraw(account_id=ada, amount=500_000, currency="EUR"), actor="tom")
    execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="tom")
    assert load_account(ada).available == 1


def test_the_requester_cannot_approve_their_own_request_and_nothing_is_recorded(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG, actor="sue")
    before = event_count()

    with pytest.raises(a.OwnRequest):
        decide(request_id, ada, by="sue")
    assert event_count() == before
    assert load_request(request_id).status is a.RequestStatus.PENDING


def test_two_supervisors_approving_at_the_same_moment_record_one_decision(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    supervisors = ["sue", "max", "ann", "joe"]
    start = Barrier(len(supervisors))

    def approve(name: str) -> str:
        start.wait()
        try:
            decide(request_id, ada, by=name, approve=name != "ann")
        except a.RequestNotPending:
            return "refused"
        return "decided"

    outcomes = run_in_threads(len(supervisors), approve, supervisors)

    assert sorted(outcomes) == ["decided", "refused", "refused", "refused"]
    decisions = [e for e in store.read_stream(request_id) if e.type != "ApprovalRequested"]
    assert len(decisions) == 1


def test_a_double_clicked_approve_is_one_decision(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    command = a.ApproveRequest(
        account_id=ada, request_id=request_id, decided_by="sue", reason="ok", decided_at=clock.now()
    )
    start = Barrier(2)

    def click(_: int):
        start.wait()
        return execute(command, actor="sue")

    first, second = run_in_threads(2, click, range(2))
    assert first.position == second.position and first.replayed != second.replayed
    assert [e.type for e in store.read_stream(request_id)] == ["ApprovalRequested", "ApprovalGranted"]


@pytest.mark.parametrize("round_", range(5))
def test_an_approval_racing_the_expiry_gives_exactly_one_decision(committed, round_):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, BIG)
    deadline = load_request(request_id).expires_at
    # Both valid by the rules (approved a second before the deadline, expired at it): only the
    # request's stream can choose, and it takes the first to append.
    approve = a.ApproveRequest(
        account_id=ada, request_id=request_id, decided_by="sue", reason="ok", decided_at=deadline - timedelta(seconds=1)
    )
    expire = a.ExpireRequest(
        account_id=ada, command_id=expire_command_id(request_id), request_id=request_id, at=deadline
    )
    start = Barrier(2)

    def run(command: a.RequestCommand) -> str:
        start.wait()
        try:
            execute(command, actor="sue")
        except a.RequestNotPending:
            return "refused"
        return type(command).__name__

    outcomes = run_in_threads(2, run, [approve, expire])

    decisions = [e.type for e in store.read_stream(request_id)][1:]
    assert len(decisions) == 1 and outcomes.count("refused") == 1, outcomes
    assert decisions[0] == ("ApprovalGranted" if "ApproveRequest" in outcomes else "ApprovalExpired")
