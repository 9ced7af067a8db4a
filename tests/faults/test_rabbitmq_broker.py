"""RabbitMQ as Celery's broker (TALLY_BROKER_URL): the nudges' tasks travel through it to a real
worker, with no beat running, so only a nudge that arrived can move the read models. Redis still
holds the nudge's flag. Skipped, saying so, where no RabbitMQ listens (CI runs one on 127.0.0.1)."""

from __future__ import annotations

import os

import kombu
import pytest
from django.conf import settings

from ledger.domain.commands import Deposit
from ledger.execute import execute
from scripts.processes import CeleryProcess, RedisProcess, wait_until
from tests.processes import child_env, point_at_redis
from tests.projections.helpers import balance_of, differences
from tests.write.helpers import open_account

RABBITMQ = os.environ.get("TALLY_TEST_RABBITMQ_URL", "amqp://127.0.0.1:5672//")  # kombu signs in as guest


def _rabbitmq_answers() -> bool:
    try:
        with kombu.Connection(RABBITMQ, connect_timeout=2) as conn:
            conn.connect()
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(
    not _rabbitmq_answers(), reason=f"no RabbitMQ answers at {RABBITMQ} (TALLY_TEST_RABBITMQ_URL)"
)


def test_deposits_reach_the_read_models_through_rabbitmq(committed, tmp_path):
    previous = settings.REDIS_URL
    redis = RedisProcess().start()
    point_at_redis(redis.url, broker=RABBITMQ)
    env = {**child_env(redis.url), "TALLY_BROKER_URL": RABBITMQ}
    worker = CeleryProcess("worker", env=env, log=tmp_path / "worker.log").start()
    try:
        account = open_account(balance=100)
        wait_until(lambda: balance_of(account) == 100, timeout=20, message="the opening through RabbitMQ")
        for _ in range(5):
            execute(Deposit(account_id=account, amount=10, currency="EUR"), actor="teller")
        wait_until(lambda: balance_of(account) == 150, timeout=20, message="the deposits through RabbitMQ")
    finally:
        worker.stop()
        redis.stop()
        point_at_redis(previous)
    assert "Connected to amqp://" in (tmp_path / "worker.log").read_text()
    assert all(not diff for diff in differences().values())
