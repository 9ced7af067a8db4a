"""A projection runner killed (SIGKILL) between applying a batch and committing it: the batch's
transaction dies with it, so the read models and checkpoints are as before, and the next catch-up
applies it once. (Killed just after a commit: tests/faults/test_delivery.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from django.db import connection

from projections import runner
from projections.models import AccountSummary, StatementLine
from scripts.processes import ROOT
from tests.projections.helpers import differences, some_activity, statuses


def test_a_runner_killed_between_applying_and_committing_changes_nothing(committed):
    some_activity()
    runner.catch_up()
    ada, _ = some_activity()  # events the killed runner will have applied but not committed
    before = (statuses(), AccountSummary.objects.filter(account_id=ada).exists(), StatementLine.objects.count())

    crash = subprocess.run(
        [sys.executable, str(ROOT / "tests/faults/crashing_runner.py"), "before-commit"],
        env={**os.environ, "DATABASE_NAME": connection.settings_dict["NAME"]},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert "applied, about to commit" in crash.stdout
    after = (statuses(), AccountSummary.objects.filter(account_id=ada).exists(), StatementLine.objects.count())
    assert after == before and before[1] is False
    runner.catch_up()
    assert AccountSummary.objects.get(account_id=ada).balance == 6_500
    assert all(not diff for diff in differences().values())
