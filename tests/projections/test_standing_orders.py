"""Standing orders against Postgres: the beat's sweep settles each due period once (run twice, by two
processes at the same moment, after days of downtime), failures are recorded and not retried, a
closed account ends the order, and the read model follows (rebuilt and verified like the others)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import standing_orders, store
from ledger.domain import errors
from ledger.domain import standing_order as so
from ledger.domain.commands import CloseAccount, Deposit, FreezeAccount, Withdraw
from ledger.execute import execute, load_account
from projections import runner
from projections.models import StandingOrder
from projections.standing_orders import orders_of_account, pay_due
from projections.tasks import pay_standing_orders
from scripts.processes import ROOT
from tests.projections.helpers import differences
from tests.write.helpers import open_account

WEEK = timedelta(weeks=1)


def order_on(
    ada: UUID,
    bob: UUID,
    *,
    amount: int = 1_000,
    interval: so.Interval = so.Interval.WEEKLY,
    start: date | None = None,
    end: date | None = None,
) -> UUID:
    command = so.SetUpStandingOrder(
        account_id=ada,
        to_account_id=bob,
        amount=amount,
        currency="EUR",
        interval=interval,
        start_date=start or standing_orders.today(),
        end_date=end,
        memo="Rent",
        set_up_by="tom",
        today=standing_orders.today(),
    )
    standing_orders.set_up(command, actor="tom")
    return command.command_id


def sweep(*orders: UUID) -> int:
    """Run the beat's task; how many periods of `orders` it settled (the test database keeps the
    orders of earlier tests, which it may settle too)."""
    before = sum(len(settled(o)) for o in orders)
    pay_standing_orders()
    return sum(len(settled(o)) for o in orders) - before


def caught_up() -> None:
    report = runner.catch_up()
    assert report.caught_up and not report.failed, report


def no_differences() -> None:
    found = differences()
    assert all(not diff for diff in found.values()), found


def settled(order_id: UUID) -> list[tuple[str, int, str]]:
    """(type, period, due date) of each period settled, in the order recorded."""
    return [(e.type, e.data["period"], e.data["due_date"]) for e in store.read_stream(order_id) if "period" in e.data]


def order_events(account_id: UUID) -> int:
    """Events of the standing orders paying from the account."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ledger_event WHERE stream_type = %s AND data ->> 'account_id' = %s",
            [so.STREAM_TYPE, str(account_id)],
        )
        return cursor.fetchone()[0]


def received(account_id: UUID) -> int:
    return sum(1 for e in store.read_stream(account_id) if e.type == "TransferReceived")


def test_a_sweep_pays_each_due_period_once_and_the_read_model_follows(committed, test_clock):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    start = standing_orders.today()
    order_id = order_on(ada, bob)
    caught_up()
    row = StandingOrder.objects.get(order_id=order_id)
    assert (row.status, row.next_due, row.payments, row.interval) == ("active", start, 0, "weekly")

    test_clock.move(timedelta(days=15))
    assert sweep(order_id) == 3  # the beat's task: periods 0, 1 and 2
    assert sweep(order_id) == 0  # a second run finds nothing to do
    caught_up()
    assert sweep(order_id) == 0  # nor once the read model has caught up

    assert [(t, p) for t, p, _ in settled(order_id)] == [("StandingOrderPaid", n) for n in range(3)]
    assert (load_account(ada).balance, load_account(bob).balance) == (7_000, 3_000)
    row = StandingOrder.objects.get(order_id=order_id)
    assert (row.payments, row.last_paid_on, row.next_due, row.failures) == (3, start + 2 * WEEK, start + 3 * WEEK, 0)
    assert [o.order_id for o in orders_of_account(bob)] == [order_id]  # the receiving account sees it too
    no_differences()


def test_the_payment_and_its_transfer_are_one_append_caused_by_the_order(committed, test_clock):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    order_id = order_on(ada, bob)
    caught_up()
    pay_due(on=standing_orders.today())
    paid = store.read_stream(order_id)[-1]
    sent = next(e for e in store.read_stream(ada) if e.type == "TransferSent")
    got = next(e for e in store.read_stream(bob) if e.type == "TransferReceived")
    assert paid.tx_id == sent.tx_id == got.tx_id
    assert sent.metadata["causation_id"] == str(paid.event_id)
    assert sent.metadata["correlation_id"] == str(order_id)
    assert sent.metadata["source"] == standing_orders.SOURCE and sent.metadata["actor"] == "standing order by tom"
    assert sent.data["transfer_id"] == str(standing_orders.period_command_id(order_id, 0))


def test_after_days_of_downtime_every_missed_period_is_paid_once_oldest_first(committed, test_clock):
    """The stated policy: catch up every missed period, each recorded with its own due date."""
    ada, bob = open_account(balance=100_000), open_account(owner="Bob")
    start = standing_orders.today()
    order_id = order_on(ada, bob, interval=so.Interval.MONTHLY)
    caught_up()
    test_clock.move(timedelta(days=100))  # the scheduler was down for 100 days: 4 periods due

    assert sweep(order_id) == 4
    dues = [so.due_date(start, so.Interval.MONTHLY, n).isoformat() for n in range(4)]
    assert settled(order_id) == [("StandingOrderPaid", n, dues[n]) for n in range(4)]
    positions = [e.position for e in store.read_stream(order_id)[1:]]
    assert positions == sorted(positions)
    assert received(bob) == 4
    caught_up()
    assert StandingOrder.objects.get(order_id=order_id).next_due == so.due_date(start, so.Interval.MONTHLY, 4)
    no_differences()


def test_a_refused_payment_is_recorded_as_failed_and_not_retried(committed, test_clock):
    ada, bob = open_account(balance=1_500), open_account(owner="Bob")
    start = standing_orders.today()
    order_id = order_on(ada, bob)
    caught_up()
    test_clock.move(timedelta(days=8))
    assert sweep(order_id) == 2  # period 0 paid; period 1 finds 500 left
    caught_up()
    row = StandingOrder.objects.get(order_id=order_id)
    assert (row.payments, row.failures, row.last_failure_on) == (1, 1, start + WEEK)
    assert "Insufficient funds" in row.last_failure_reason

    execute(Deposit(account_id=ada, amount=5_000, currency="EUR"), actor="teller")
    assert sweep(order_id) == 0  # the failed period is not tried again
    test_clock.move(WEEK)
    assert sweep(order_id) == 1  # the next one is, as usual
    paid, failed = "StandingOrderPaid", "StandingOrderPaymentFailed"
    assert [t for t, _, _ in settled(order_id)] == [paid, failed, paid]
    assert load_account(bob).balance == 2_000
    execute(FreezeAccount(account_id=ada, reason="check"), actor="supervisor")
    test_clock.move(WEEK)
    assert sweep(order_id) == 1
    caught_up()
    row = StandingOrder.objects.get(order_id=order_id)
    assert (row.payments, row.failures, row.status) == (2, 2, "active") and "frozen" in row.last_failure_reason
    no_differences()


def test_closing_an_account_ends_the_order_when_it_next_falls_due(committed, test_clock):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    order_id = order_on(ada, bob)
    caught_up()
    pay_due(on=standing_orders.today())
    execute(Withdraw(account_id=bob, amount=1_000, currency="EUR"), actor="teller")
    execute(CloseAccount(account_id=bob, reason="moved away"), actor="supervisor")
    test_clock.move(5 * WEEK)
    caught_up()
    assert sweep(order_id) == 1  # the order ends; nothing more is tried
    assert sweep(order_id) == 0
    caught_up()
    row = StandingOrder.objects.get(order_id=order_id)
    assert (row.status, row.next_due, row.payments) == ("ended", None, 1)
    assert "receiving account was closed" in row.ended_reason
    assert load_account(ada).balance == 9_000
    no_differences()


def test_a_cancelled_order_pays_nothing_more_and_the_end_date_finishes_one(committed, test_clock):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    start = standing_orders.today()
    cancelled = order_on(ada, bob)
    finite = order_on(ada, bob, amount=10, start=start + timedelta(days=1), end=start + timedelta(days=8))
    execute(so.CancelStandingOrder(account_id=ada, order_id=cancelled, cancelled_by="sue", reason="asked"), actor="sue")
    caught_up()
    test_clock.move(10 * WEEK)
    assert sweep(finite, cancelled) == 2  # the finite order's two periods
    caught_up()
    rows = {o.order_id: o for o in StandingOrder.objects.all()}
    gone = rows[cancelled]
    assert (gone.status, gone.ended_reason, gone.next_due) == ("cancelled", "asked", None)
    assert (rows[finite].status, rows[finite].payments, rows[finite].next_due) == ("finished", 2, None)
    assert load_account(bob).balance == 20
    no_differences()


def test_an_order_at_or_above_the_approval_threshold_is_refused_and_nothing_recorded(committed):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    with pytest.raises(standing_orders.NeedsApproval):
        order_on(ada, bob, amount=1_000_000)
    order_on(ada, bob, amount=999_999)  # just below it is fine
    assert order_events(ada) == 1


def test_set_up_refusals_record_nothing(committed):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    execute(Withdraw(account_id=ada, amount=1, currency="EUR"), actor="teller")
    with pytest.raises(errors.SameAccountTransfer):
        order_on(ada, ada)
    with pytest.raises(errors.AccountNotFound):
        order_on(ada, uuid4())
    with pytest.raises(so.InvalidSchedule):
        order_on(ada, bob, start=standing_orders.today() - timedelta(days=1))
    assert order_events(ada) == 0


def sweep_processes(day: date, *extra: str, count: int = 2) -> list[subprocess.CompletedProcess[str]]:
    start_at = str(time.time() + 4)  # after both have set up Django and connected
    env = {**os.environ, "DATABASE_NAME": connection.settings_dict["NAME"]}
    script = str(ROOT / "tests/faults/standing_order_sweep.py")
    procs = [
        subprocess.Popen(
            [sys.executable, script, day.isoformat(), start_at, *extra],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def test_two_beat_processes_sweeping_at_once_pay_each_period_once(committed):
    ada, bob = open_account(balance=1_000_000), open_account(owner="Bob")
    start = standing_orders.today()
    orders = [order_on(ada, bob, amount=100 + n) for n in range(8)]
    caught_up()
    day = start + 2 * WEEK  # three periods of each order due

    beats = sweep_processes(day)

    assert all(b.returncode == 0 for b in beats), [b.stderr[-2000:] for b in beats]
    counts = [int(b.stdout.split("settled ")[-1]) for b in beats]
    assert sum(counts) >= 8 * 3, counts  # together they recorded each period (of these, once: below)
    for order_id in orders:
        assert [p for _, p, _ in settled(order_id)] == [0, 1, 2]
    assert received(bob) == 24
    assert load_account(bob).balance == 3 * sum(100 + n for n in range(8))
    caught_up()
    assert sum(o.payments for o in StandingOrder.objects.filter(order_id__in=orders)) == 24
    no_differences()


def test_rebuild_and_verify_the_standing_orders(committed, test_clock):
    ada, bob = open_account(balance=2_500), open_account(owner="Bob")
    order_on(ada, bob)
    order_on(ada, bob, amount=50, interval=so.Interval.MONTHLY)
    caught_up()
    test_clock.move(timedelta(days=22))
    sweep()
    caught_up()
    before = sorted(StandingOrder.objects.values_list("order_id", "payments", "failures", "next_due", "status"))
    assert sum(row[2] for row in before) >= 1  # some failed: the funds ran out
    call_command("rebuild_projections", "standing_orders", "--no-input")
    caught_up()
    assert sorted(StandingOrder.objects.values_list("order_id", "payments", "failures", "next_due", "status")) == before
    call_command("verify_projections", "standing_orders")
