"""A worker killed (SIGKILL) in the approval process manager after it made the approved movement and
released the hold, before it recorded the request's outcome: the reaction and the checkpoint share
one transaction, which dies with the worker, and the restarted worker acts once: one movement."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.db import connection

from ledger import store
from ledger.approvals import load_request
from ledger.execute import load_account
from projections import runner
from scripts.processes import ROOT
from tests.projections.helpers import differences, statuses
from tests.write.helpers import decide, open_account, request_approval


def test_a_worker_killed_between_reacting_and_recording_the_outcome_makes_one_movement(committed):
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, 1_500_000)
    runner.catch_up()
    decide(request_id, ada)
    before = (statuses()["approval_process"], len(store.read_stream(ada)))

    crash = subprocess.run(
        [sys.executable, str(ROOT / "tests/faults/crashing_approval_process.py")],
        env={**os.environ, "DATABASE_NAME": connection.settings_dict["NAME"]},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert "reacted, about to record the outcome" in crash.stdout
    assert (statuses()["approval_process"], len(store.read_stream(ada))) == before  # nothing half-done
    runner.catch_up()  # the worker restarted

    assert [e.type for e in store.read_stream(ada)].count("MoneyWithdrawn") == 1
    assert load_request(request_id).outcome == "executed"
    assert (load_account(ada).balance, load_account(ada).held) == (500_000, 0)
    runner.catch_up()
    assert [e.type for e in store.read_stream(ada)].count("MoneyWithdrawn") == 1
    assert all(not diff for diff in differences().values())
