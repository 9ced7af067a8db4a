"""A worker SIGKILLed in the middle of the standing orders' sweep, inside a payment's transaction
(after the append, before the commit): the periods before it stay paid, that one is not recorded at
all (neither the order's record nor the money), and the restarted sweep pays each period once."""

from __future__ import annotations

import signal
from datetime import timedelta

from ledger import standing_orders, store
from ledger.domain import standing_order as so
from ledger.execute import load_account
from projections import runner
from projections.standing_orders import pay_due
from tests.projections.helpers import differences
from tests.projections.test_standing_orders import order_on, settled, sweep_processes
from tests.write.helpers import open_account


def test_a_sweep_killed_mid_payment_then_restarted_pays_each_period_once(committed):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob")
    order_id = order_on(ada, bob, interval=so.Interval.WEEKLY)
    runner.catch_up()
    day = standing_orders.today() + timedelta(weeks=2)  # periods 0, 1 and 2 due

    [crash] = sweep_processes(day, "kill-at", f"{order_id}:1", count=1)

    assert crash.returncode == -signal.SIGKILL, crash.stderr[-2000:]
    assert "dying before the commit" in crash.stdout
    assert [p for _, p, _ in settled(order_id)] == [0]  # period 1 died with its transaction
    assert load_account(bob).balance == 1_000
    runner.catch_up()
    pay_due(on=day)  # the restarted worker's sweep
    pay_due(on=day)  # and the next beat

    assert [p for _, p, _ in settled(order_id)] == [0, 1, 2]
    assert [e.type for e in store.read_stream(bob)].count("TransferReceived") == 3
    assert (load_account(ada).balance, load_account(bob).balance) == (7_000, 3_000)
    runner.catch_up()
    assert all(not diff for diff in differences().values())
