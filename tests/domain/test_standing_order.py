"""Standing orders: set up, each period settled once (paid, failed or ended), cancelled."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4, uuid5

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.domain import commands as c
from ledger.domain import errors
from ledger.domain import events as e
from ledger.domain import standing_order as so
from tests.domain.test_approval import ADA, BOB, Ledger, opened

START = date(2027, 1, 31)


def set_up(
    *,
    amount: int = 100,
    interval: so.Interval = so.Interval.MONTHLY,
    start: date = START,
    end: date | None = None,
    to: UUID = BOB,
    today: date = START,
) -> so.SetUpStandingOrder:
    return so.SetUpStandingOrder(
        account_id=ADA,
        to_account_id=to,
        amount=amount,
        currency="EUR",
        interval=interval,
        start_date=start,
        end_date=end,
        memo="Rent",
        set_up_by="teller",
        today=today,
    )


def pay(order_id: UUID, period: int, today: date) -> so.PayPeriod:
    return so.PayPeriod(
        account_id=ADA,
        command_id=uuid5(order_id, str(period)),
        order_id=order_id,
        to_account_id=BOB,
        period=period,
        today=today,
    )


def order_of(ledger: Ledger, order_id: UUID) -> so.StandingOrder:
    state = so.StandingOrder(id=order_id)
    for event in ledger.history[order_id]:
        assert isinstance(event, so.StandingOrderEvent)
        state = so.evolve(state, event)
    return state


def funded(balance: int = 10_000) -> Ledger:
    return Ledger().given(*opened(ADA, balance=balance), *opened(BOB))


def test_monthly_due_dates_keep_the_day_or_the_months_last() -> None:
    dates = [so.due_date(START, so.Interval.MONTHLY, n) for n in range(4)]
    assert dates == [date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30)]
    assert so.due_date(date(2027, 12, 15), so.Interval.MONTHLY, 1) == date(2028, 1, 15)
    assert so.due_date(START, so.Interval.WEEKLY, 2) == START + timedelta(days=14)


def test_set_up_then_pay_records_the_payment_and_the_transfer_in_one_decision() -> None:
    ledger = funded()
    command = set_up()
    [setup] = ledger.when(command)
    assert isinstance(setup, so.StandingOrderSetUp) and setup.start_date == "2027-01-31"
    recorded = ledger.when(pay(command.command_id, 0, START))
    assert [type(ev) for ev in recorded] == [so.StandingOrderPaid, e.TransferSent, e.TransferReceived]
    assert isinstance(recorded[0], so.StandingOrderPaid) and recorded[0].next_due == "2027-02-28"
    assert ledger.account(ADA).balance == 9_900 and ledger.account(BOB).balance == 100
    assert order_of(ledger, command.command_id).next_due == date(2027, 2, 28)


def test_a_period_is_settled_once_and_only_when_due() -> None:
    ledger = funded()
    order = set_up()
    ledger.when(order)
    with pytest.raises(so.PeriodNotDue):
        ledger.when(pay(order.command_id, 1, START))  # not the next period
    ledger.when(pay(order.command_id, 0, START))
    with pytest.raises(so.PeriodNotDue):
        ledger.when(pay(order.command_id, 0, START))  # already settled
    with pytest.raises(so.PeriodNotDue):
        ledger.when(pay(order.command_id, 1, date(2027, 2, 27)))  # a day early


def test_a_refused_payment_is_recorded_as_failed_and_the_next_period_is_tried() -> None:
    ledger = funded(balance=150)
    order = set_up()
    ledger.when(order)
    ledger.when(pay(order.command_id, 0, START))
    [failed] = ledger.when(pay(order.command_id, 1, date(2027, 2, 28)))
    assert isinstance(failed, so.StandingOrderPaymentFailed) and "Insufficient" in failed.reason
    ledger.given(e.MoneyDeposited(account_id=ADA, amount=500, currency="EUR"))
    paid = ledger.when(pay(order.command_id, 2, date(2027, 3, 31)))
    assert isinstance(paid[0], so.StandingOrderPaid)
    state = order_of(ledger, order.command_id)
    assert state.paid == (0, 2) and state.failed == (1,)


def test_a_frozen_source_fails_the_payment() -> None:
    ledger = funded()
    order = set_up()
    ledger.when(order)
    ledger.given(e.AccountFrozen(account_id=ADA, reason="fraud check"))
    [failed] = ledger.when(pay(order.command_id, 0, START))
    assert isinstance(failed, so.StandingOrderPaymentFailed) and "frozen" in failed.reason.lower()
    # Kept in the log, which forgetting the customer cannot reach: the account, not its owner, is named.
    owner = ledger.account(ADA).owner
    assert owner and owner not in failed.reason and failed.reason.startswith("The account is frozen")


@pytest.mark.parametrize("closing", [ADA, BOB])
def test_a_closed_account_ends_the_order(closing: UUID) -> None:
    ledger = Ledger().given(*opened(ADA), *opened(BOB))
    order = set_up()
    ledger.when(order)
    ledger.given(e.AccountClosed(account_id=closing))
    [ended] = ledger.when(pay(order.command_id, 0, START))
    assert isinstance(ended, so.StandingOrderEnded) and "closed" in ended.reason
    state = order_of(ledger, order.command_id)
    assert state.status is so.OrderStatus.ENDED and state.due_periods(date(2030, 1, 1)) == []


def test_the_last_period_finishes_the_order() -> None:
    ledger = funded()
    order = set_up(interval=so.Interval.WEEKLY, end=START + timedelta(days=13))
    ledger.when(order)
    assert order_of(ledger, order.command_id).due_periods(date(2030, 1, 1)) == [0, 1]
    ledger.when(pay(order.command_id, 0, START))
    last, *_transfer = ledger.when(pay(order.command_id, 1, START + timedelta(days=7)))
    assert isinstance(last, so.StandingOrderPaid) and last.next_due == ""
    assert order_of(ledger, order.command_id).status is so.OrderStatus.FINISHED


def test_cancel_stops_the_payments_and_cannot_happen_twice() -> None:
    ledger = funded()
    order = set_up()
    ledger.when(order)
    cancel = so.CancelStandingOrder(account_id=ADA, order_id=order.command_id, cancelled_by="supervisor")
    ledger.when(cancel)
    with pytest.raises(so.OrderNotActive):
        ledger.when(pay(order.command_id, 0, START))
    with pytest.raises(so.OrderNotActive):
        ledger.when(so.CancelStandingOrder(account_id=ADA, order_id=order.command_id, cancelled_by="supervisor"))


def test_an_order_is_only_found_on_its_own_account() -> None:
    ledger = funded()
    order = set_up()
    ledger.when(order)
    with pytest.raises(so.OrderNotFound):
        ledger.when(so.CancelStandingOrder(account_id=BOB, order_id=order.command_id, cancelled_by="teller"))
    with pytest.raises(so.OrderNotFound):
        ledger.when(so.CancelStandingOrder(account_id=ADA, order_id=uuid4(), cancelled_by="teller"))


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (set_up(amount=0), errors.AmountMustBePositive),
        (set_up(amount=-5), errors.AmountMustBePositive),
        (set_up(to=ADA), errors.SameAccountTransfer),
        (set_up(to=UUID(int=99)), errors.AccountNotFound),
        (set_up(end=START - timedelta(days=1)), so.InvalidSchedule),
        (set_up(end=date(9999, 1, 1)), so.InvalidSchedule),
        (set_up(today=START + timedelta(days=1)), so.InvalidSchedule),
    ],
)
def test_set_up_rules(command: so.SetUpStandingOrder, error: type[Exception]) -> None:
    ledger = funded()
    with pytest.raises(error):
        ledger.when(command)
    assert ledger.history[command.command_id] == []


def test_set_up_refuses_closed_accounts_and_other_currencies() -> None:
    ledger = funded().given(
        e.AccountOpened(account_id=UUID(int=3), owner="Yen", currency="JPY", overdraft_limit=0),
        e.AccountClosed(account_id=BOB),
    )
    with pytest.raises(errors.AccountIsClosed):
        ledger.when(set_up())
    with pytest.raises(errors.CurrencyMismatch):
        ledger.when(set_up(to=UUID(int=3)))


@settings(deadline=None, max_examples=60)  # the test ledger folds every stream again per command
@given(
    interval=st.sampled_from(list(so.Interval)),
    start=st.dates(min_value=date(2027, 1, 1), max_value=date(2027, 12, 31)),
    length=st.none() | st.integers(min_value=0, max_value=400),
    sweeps=st.lists(st.integers(min_value=0, max_value=120), min_size=1, max_size=8),
    doubled=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_every_due_period_of_any_schedule_is_settled_once_in_order(
    interval: so.Interval, start: date, length: int | None, sweeps: list[int], doubled: list[bool]
) -> None:
    """Beats at any days after the start (any gaps: a scheduler down for weeks), some run twice (two
    beat processes): every period due by the last beat is paid exactly once, oldest first."""
    ledger = funded(balance=10**9)
    end = start + timedelta(days=length) if length is not None else None
    order = set_up(interval=interval, start=start, end=end, today=start)
    ledger.when(order)
    today = start
    for gap, twice in zip(sweeps, doubled, strict=False):
        today += timedelta(days=gap)
        for _run in range(2 if twice else 1):
            for period in order_of(ledger, order.command_id).due_periods(today):
                try:
                    ledger.when(pay(order.command_id, period, today))
                except so.PeriodNotDue:  # the other beat got there first
                    assert twice
    expected, n = [], 0
    while so.due_date(start, interval, n) <= today and (end is None or so.due_date(start, interval, n) <= end):
        expected.append(n)
        n += 1
    paid = [ev for ev in ledger.history[order.command_id] if isinstance(ev, so.StandingOrderPaid)]
    assert [ev.period for ev in paid] == expected
    assert [ev.due_date for ev in paid] == [so.due_date(start, interval, p).isoformat() for p in expected]
    assert ledger.account(BOB).balance == 100 * len(expected)
    received = [ev for ev in ledger.history[BOB] if isinstance(ev, e.TransferReceived)]
    assert len({ev.transfer_id for ev in received}) == len(expected)


def test_the_transfer_is_the_periods_command() -> None:
    ledger = funded()
    order = set_up()
    ledger.when(order)
    command = pay(order.command_id, 0, START)
    recorded = ledger.when(command)
    assert {ev.transfer_id for ev in recorded if isinstance(ev, e.TransferSent | e.TransferReceived)} == {
        command.command_id
    }
    assert {ev.memo for ev in recorded if isinstance(ev, e.TransferSent | e.TransferReceived)} == {
        "Rent (due 2027-01-31)"
    }
    assert isinstance(command, c.Command)
