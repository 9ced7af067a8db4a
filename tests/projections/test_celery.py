"""The read side kept current by a real Celery worker through a real Redis, with no manual call.
(With the broker down: tests/faults/test_broker_down.py.)"""

from __future__ import annotations

import time

import redis as redis_client

from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute
from projections.models import DailyActivity, StatementLine
from projections.nudge import QUEUED_FLAG
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
        for _ in range(100):
            execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
        client = redis_client.Redis.from_url(quiet.url)
        wait_until(lambda: client.exists(QUEUED_FLAG), timeout=5, message="the nudge")
        time.sleep(0.5)
        assert client.llen("celery") == 1
    finally:
        point_at_redis(previous)
        quiet.stop()
