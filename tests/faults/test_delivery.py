"""What reaches the read side, and how often: a projection batch delivered twice is applied once,
and a command rolled back puts nothing on the broker's queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import redis as redis_client
from django.conf import settings
from django.db import connection

from ledger import store
from ledger.domain import commands as c
from ledger.execute import execute, load_account
from projections import runner
from projections.nudge import QUEUED_FLAG
from scripts.processes import ROOT, RedisProcess, wait_until
from tests.processes import point_at_redis
from tests.projections.helpers import differences, some_activity, statuses
from tests.write.helpers import CallerFailed, execute_then_fail, open_account


def test_a_batch_committed_just_before_its_worker_died_is_not_applied_again_when_the_work_is_redelivered(
    committed, monkeypatch
):
    from projections.tasks import catch_up as catch_up_task

    runner.catch_up()
    before = statuses()
    start = store.Checkpoint(*next(iter(before.values()))[:2])
    for _ in range(4):
        some_activity()
    new_events = len(store.read_all(start, limit=10_000))
    assert new_events > 10

    crash = subprocess.run(
        [sys.executable, str(ROOT / "tests/faults/crashing_runner.py"), "after-commit"],
        cwd=ROOT,
        text=True,
        env={**os.environ, "DATABASE_NAME": connection.settings_dict["NAME"], "BATCH_SIZE": "10"},
        capture_output=True,
        timeout=60,
    )

    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert "committed a batch of 10" in crash.stdout
    died = statuses()
    assert {name: s[2] - before[name][2] for name, s in died.items()} == dict.fromkeys(died, 10)

    reads: list[store.Checkpoint] = []
    real_next_span = runner.next_span

    def watched_next_span(after, limit):
        reads.append(after)
        return real_next_span(after, limit)

    monkeypatch.setattr(runner, "next_span", watched_next_span)
    catch_up_task.run()  # the broker delivers the dead worker's message again
    once = statuses()
    catch_up_task.run()  # and again, for good measure

    assert reads[0] == store.Checkpoint(*next(iter(died.values()))[:2]), "resumed after the committed batch"
    assert {name: s[2] - before[name][2] for name, s in once.items()} == dict.fromkeys(once, new_events)
    assert statuses() == once
    assert all(not diff for diff in differences().values())


# --- a rolled-back command enqueues nothing ------------------------------------------------------


def test_a_rolled_back_command_puts_nothing_on_the_queue(committed):
    account = open_account()
    time.sleep(0.5)  # let the nudge of the opening go out to the usual broker first
    quiet = RedisProcess().start()  # no worker listens here: its queue shows what was published
    previous = settings.REDIS_URL
    point_at_redis(quiet.url)
    queue = redis_client.Redis.from_url(quiet.url)
    try:
        with pytest.raises(CallerFailed):
            execute_then_fail(c.Deposit(account_id=account, amount=700, currency="EUR"), actor="teller")
        time.sleep(1.5)  # the nudge publishes from a background thread; give it every chance

        assert (queue.llen("celery"), queue.exists(QUEUED_FLAG)) == (0, 0)
        assert load_account(account).balance == 0

        execute(c.Deposit(account_id=account, amount=700, currency="EUR"), actor="teller")  # the control
        wait_until(lambda: queue.llen("celery") == 1, timeout=10, message="a committed command's nudge")
    finally:
        point_at_redis(previous)
        queue.close()
        quiet.stop()
