"""The read side kept current by a real Celery worker through a real Redis, with no manual call.
(With the broker down: tests/faults/test_broker_down.py.)"""

from __future__ import annotations

import time

import redis as redis_client

from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute
from projections.models import DailyActivity, StatementLine
from projections.nudge import FLAG_TTL_SECONDS, QUEUED_FLAG
from projections.queries import projections_reached
from scripts.processes import RedisProcess, wait_until
from tests.processes import point_at_redis
from tests.projections.helpers import balance_of, differences
from tests.write.helpers import open_account


def test_a_committed_command_reaches_every_read_model_through_the_worker(committed, celery_stack):
    ada, bob = open_account(balance=5_000), open_account()
    day_total_before = sum(DailyActivity.objects.values_list("transfers_count", flat=True))

    result = execute(Transfer(account_id=ada, to_account_id=bob, amount=1_250, currency="EUR"), actor="teller")

    # Other tests' events may still be in flight; wait for every projection to pass this command.
    wait_until(lambda: projections_reached(result.checkpoint), timeout=15, message="the worker to project it")
    assert (balance_of(ada), balance_of(bob)) == (3_750, 1_250)
    assert StatementLine.objects.filter(account_id=bob, kind="transfer_in", amount=1_250).exists()
    assert sum(DailyActivity.objects.values_list("transfers_count", flat=True)) >= day_total_before + 1
    assert all(not diff for diff in differences().values())


def test_a_storm_of_commands_queues_one_catch_up(committed):
    quiet = RedisProcess().start()  # no worker listens here: the queue shows what was published
    from django.conf import settings

    previous = settings.REDIS_URL
    point_at_redis(quiet.url)
    try:
        account = open_account()
        started = time.monotonic()
        for _ in range(100):
            execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
        client = redis_client.Redis.from_url(quiet.url)
        wait_until(lambda: client.exists(QUEUED_FLAG), timeout=5, message="the nudge")
        time.sleep(0.5)
        # One a flag's lifetime at most (a slow machine may take longer than one for the storm).
        lifetimes = 1 + int((time.monotonic() - started) // FLAG_TTL_SECONDS)
        assert 1 <= client.llen("celery") <= lifetimes < 100
    finally:
        point_at_redis(previous)
        quiet.stop()


def test_a_flag_left_by_a_process_that_died_before_publishing_silences_nudges_only_briefly(committed):
    quiet = RedisProcess().start()  # no worker listens here: the queue shows what was published
    from django.conf import settings

    previous = settings.REDIS_URL
    point_at_redis(quiet.url)
    try:
        account = open_account()
        client = redis_client.Redis.from_url(quiet.url)
        wait_until(lambda: client.llen("celery") == 1, timeout=5, message="the opening's nudge")
        client.delete("celery")
        client.set(QUEUED_FLAG, "1", ex=FLAG_TTL_SECONDS)  # as a process killed right after setting it leaves it
        left_at = time.monotonic()

        execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
        for _ in range(20):  # the process keeps committing: one of its nudges gets through once the flag is gone
            if client.llen("celery"):
                break
            time.sleep(0.25)
            execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")

        assert client.llen("celery") == 1
        assert time.monotonic() - left_at < FLAG_TTL_SECONDS + 1.5
    finally:
        point_at_redis(previous)
        quiet.stop()
