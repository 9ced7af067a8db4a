"""The broker down: commands still succeed, and the read models catch up by themselves once it is
back (the beat sweep, not a lost nudge, moves them)."""

from __future__ import annotations

import time

from ledger.domain.commands import Deposit
from ledger.execute import execute
from projections import runner
from projections.projectors import get_projectors
from scripts.processes import wait_until
from tests.projections.helpers import balance_of, differences
from tests.write.helpers import open_account


def worker_idle_for(seconds: float) -> bool:
    """True if no runner held any projector during `seconds` (checked by taking their locks)."""
    names = [p.name for p in get_projectors()]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        locked = runner.try_lock(names)
        runner.unlock(locked)
        if len(locked) < len(names):
            return False
        time.sleep(0.02)
    return True


def test_commands_succeed_with_redis_down_and_the_read_models_catch_up_when_it_returns(committed, celery_stack):
    ada = open_account(balance=100)
    wait_until(lambda: balance_of(ada) == 100, timeout=15, message="the worker")

    celery_stack.redis.stop()
    # A catch-up already running (or already fetched from the broker) would take the deposits
    # below along: only once the worker has gone quiet is there truly nothing left to move it.
    wait_until(lambda: worker_idle_for(0.5), timeout=15, message="the worker to go quiet")
    started = time.monotonic()
    for _ in range(5):
        execute(Deposit(account_id=ada, amount=10, currency="EUR"), actor="teller")
    elapsed = time.monotonic() - started
    time.sleep(1)
    assert balance_of(ada) == 100  # nothing could nudge the worker
    celery_stack.redis.start()

    wait_until(lambda: balance_of(ada) == 150, timeout=40, message="the read models to catch up by themselves")
    assert elapsed < 5, "a dead broker must not hold commands up"
    assert all(not diff for diff in differences().values())
