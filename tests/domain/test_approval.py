"""Four eyes: a large movement is requested with a hold, decided by someone else, then settled."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.domain import approval as a
from ledger.domain import commands as c
from ledger.domain import errors, streams
from ledger.domain import events as e
from ledger.domain.account import Account

ADA, BOB = UUID(int=1), UUID(int=2)
NOON = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAY = timedelta(hours=24)


class Ledger:
    """given / when / then over every stream type (accounts and requests), without a database."""

    def __init__(self) -> None:
        self.history: dict[UUID, list[streams.Event]] = defaultdict(list)

    def given(self, *events: streams.Event) -> Ledger:
        for event in events:
            self.history[streams.stream_of(event)[0]].append(event)
        return self

    def state(self, stream_id: UUID, command: c.Command | None = None) -> streams.State:
        state = streams.blank(stream_id, command)
        for event in self.history[stream_id]:
            state = streams.evolve(state, event)
        return state

    def account(self, account_id: UUID) -> Account:
        state = self.state(account_id)
        assert isinstance(state, Account)
        return state

    def when(self, command: c.Command) -> list[streams.Event]:
        states = {sid: self.state(sid, command) for sid in streams.streams_of(command)}
        recorded = streams.decide(command, states)
        self.given(*recorded)
        return recorded


def opened(account_id: UUID = ADA, balance: int = 0, overdraft: int = 0) -> list[streams.Event]:
    events: list[streams.Event] = [
        e.AccountOpened(account_id=account_id, owner="Ada", currency="EUR", overdraft_limit=overdraft)
    ]
    if balance:
        events.append(e.MoneyDeposited(account_id=account_id, amount=balance, currency="EUR"))
    return events


def request(amount: int = 2_000_000, *, to: UUID | None = None, by: str = "tom", rid: UUID | None = None):
    return a.RequestApproval(
        account_id=ADA,
        command_id=rid or uuid4(),
        to_account_id=to,
        amount=amount,
        currency="EUR",
        memo="car",
        requested_by=by,
        requested_at=NOON,
        expires_at=NOON + DAY,
    )


def approve(rid: UUID, *, by: str = "sue", at: datetime = NOON, reason: str = "checked ID") -> a.ApproveRequest:
    return a.ApproveRequest(account_id=ADA, request_id=rid, decided_by=by, reason=reason, decided_at=at)


def test_a_request_holds_the_money_without_moving_it():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    recorded = ledger.when(request(rid=rid))

    assert [type(ev) for ev in recorded] == [a.ApprovalRequested, e.FundsHeld]
    assert recorded[1] == e.FundsHeld(account_id=ADA, hold_id=rid, amount=2_000_000, currency="EUR")
    ada = ledger.account(ADA)
    assert (ada.balance, ada.held, ada.available) == (5_000_000, 2_000_000, 3_000_000)


def test_a_second_large_request_and_small_withdrawals_see_only_the_available_funds():
    ledger = Ledger().given(*opened(balance=3_000_000))
    ledger.when(request(2_000_000))

    with pytest.raises(errors.InsufficientFunds):
        ledger.when(request(1_500_000))
    with pytest.raises(errors.InsufficientFunds):
        ledger.when(c.Withdraw(account_id=ADA, amount=1_000_001, currency="EUR"))
    ledger.when(c.Withdraw(account_id=ADA, amount=1_000_000, currency="EUR"))
    assert ledger.account(ADA).available == 0


def test_a_request_is_refused_for_what_the_movement_would_be_refused_for():
    ledger = Ledger().given(*opened(balance=100), e.AccountFrozen(account_id=ADA))
    with pytest.raises(errors.AccountIsFrozen):
        ledger.when(request(50))
    ledger = Ledger().given(*opened(balance=100))
    with pytest.raises(errors.SameAccountTransfer):
        ledger.when(request(50, to=ADA))
    with pytest.raises(errors.AccountNotFound):
        ledger.when(request(50, to=BOB))


def test_the_requester_can_never_decide_their_own_request():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid, by="sue"))

    with pytest.raises(a.OwnRequest):
        ledger.when(approve(rid, by="sue"))
    with pytest.raises(a.OwnRequest):
        ledger.when(a.RejectRequest(account_id=ADA, request_id=rid, decided_by="sue", reason="no", decided_at=NOON))
    assert len(ledger.history[rid]) == 1


def test_a_decision_needs_a_reason_and_a_pending_request():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    with pytest.raises(errors.InvalidText):
        ledger.when(approve(rid, reason="   "))
    ledger.when(approve(rid))
    with pytest.raises(a.RequestNotPending):
        ledger.when(approve(rid, by="max"))
    with pytest.raises(a.RequestNotPending):
        ledger.when(a.ExpireRequest(account_id=ADA, request_id=rid, at=NOON + 2 * DAY))


def test_an_unknown_request_or_one_of_another_account_is_not_found():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    with pytest.raises(a.RequestNotFound):
        ledger.when(approve(rid))
    ledger.when(request(rid=rid))
    with pytest.raises(a.RequestNotFound):
        ledger.when(a.ApproveRequest(account_id=BOB, request_id=rid, decided_by="sue", reason="x", decided_at=NOON))


def test_a_request_expires_at_its_deadline_and_not_before():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    with pytest.raises(a.RequestNotDue):
        ledger.when(a.ExpireRequest(account_id=ADA, request_id=rid, at=NOON + DAY - timedelta(seconds=1)))
    with pytest.raises(a.RequestExpired):
        ledger.when(approve(rid, at=NOON + DAY))
    assert [type(ev) for ev in ledger.when(a.ExpireRequest(account_id=ADA, request_id=rid, at=NOON + DAY))] == [
        a.ApprovalExpired
    ]


def test_settling_an_approved_withdrawal_moves_the_money_and_releases_the_hold_in_one_decision():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    ledger.when(approve(rid))
    recorded = ledger.when(c.SettleHold(account_id=ADA, hold_id=rid, amount=2_000_000, currency="EUR", memo="car"))

    assert [type(ev) for ev in recorded] == [e.MoneyWithdrawn, e.HoldReleased]
    ada = ledger.account(ADA)
    assert (ada.balance, ada.held, ada.available) == (3_000_000, 0, 3_000_000)
    with pytest.raises(errors.HoldNotFound):  # a second settlement finds no hold: nothing acts twice
        ledger.when(c.SettleHold(account_id=ADA, hold_id=rid, amount=2_000_000, currency="EUR"))


def test_settling_an_approved_transfer_writes_both_accounts():
    ledger = Ledger().given(*opened(balance=5_000_000), *opened(BOB))
    rid = uuid4()
    ledger.when(request(rid=rid, to=BOB))
    recorded = ledger.when(
        c.SettleHold(account_id=ADA, hold_id=rid, to_account_id=BOB, amount=2_000_000, currency="EUR")
    )

    assert [type(ev) for ev in recorded] == [e.TransferSent, e.HoldReleased, e.TransferReceived]
    assert (ledger.account(ADA).balance, ledger.account(BOB).balance) == (3_000_000, 2_000_000)


def test_a_frozen_account_pays_nothing_even_when_approved_and_the_hold_can_be_given_back():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    ledger.when(c.FreezeAccount(account_id=ADA, reason="fraud check"))
    with pytest.raises(errors.AccountIsFrozen):
        ledger.when(c.SettleHold(account_id=ADA, hold_id=rid, amount=2_000_000, currency="EUR"))
    recorded = ledger.when(c.ReleaseHold(account_id=ADA, hold_id=rid))
    assert recorded == [
        e.HoldReleased(account_id=ADA, hold_id=rid, amount=2_000_000, currency="EUR", outcome="released")
    ]
    assert ledger.account(ADA).available == 5_000_000


def test_an_account_with_money_held_cannot_be_closed():
    ledger = Ledger().given(*opened(overdraft=3_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    with pytest.raises(errors.HoldsPending):
        ledger.when(c.CloseAccount(account_id=ADA, reason="moved away"))
    ledger.when(c.ReleaseHold(account_id=ADA, hold_id=rid))
    ledger.when(c.CloseAccount(account_id=ADA, reason="moved away"))


def test_an_outcome_is_recorded_once_and_only_after_a_decision():
    ledger = Ledger().given(*opened(balance=5_000_000))
    rid = uuid4()
    ledger.when(request(rid=rid))
    settle = a.SettleRequest(account_id=ADA, request_id=rid, outcome=a.Outcome.EXECUTED)
    with pytest.raises(a.NotDecided):
        ledger.when(settle)
    ledger.when(approve(rid))
    ledger.when(settle)
    with pytest.raises(a.AlreadySettled):
        ledger.when(settle)


# Any sequence of requests, releases and withdrawals keeps the books straight: what is held is the
# sum of the open holds, and the money that may leave never exceeds balance + overdraft - held.
@given(
    st.lists(
        st.tuples(st.sampled_from(["request", "release", "withdraw", "deposit"]), st.integers(1, 3_000_000)),
        max_size=25,
    )
)
def test_holds_never_let_more_leave_than_is_available(steps):
    ledger = Ledger().given(*opened(balance=4_000_000, overdraft=500_000))
    open_holds: list[UUID] = []
    for kind, amount in steps:
        try:
            if kind == "request":
                rid = uuid4()
                ledger.when(request(amount, rid=rid))
                open_holds.append(rid)
            elif kind == "release" and open_holds:
                ledger.when(c.ReleaseHold(account_id=ADA, hold_id=open_holds.pop(0)))
            elif kind == "withdraw":
                ledger.when(c.Withdraw(account_id=ADA, amount=amount, currency="EUR"))
            elif kind == "deposit":
                ledger.when(c.Deposit(account_id=ADA, amount=amount, currency="EUR"))
        except errors.DomainError:
            pass
        ada = ledger.account(ADA)
        assert ada.held == sum(amount for _, amount in ada.holds)
        assert {hid for hid, _ in ada.holds} == set(open_holds)
        assert ada.balance + ada.overdraft_limit - ada.held >= 0
