"""The projection runner against the real Postgres: exactly once, crash-safe, isolated failures."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection, connections

from ledger.domain.commands import Deposit, FreezeAccount, Transfer, Withdraw
from ledger.execute import execute
from projections import runner
from projections.models import AccountSummary, DailyActivity, ProjectionStatus, StatementLine
from projections.projectors import PROJECTORS, Projector
from tests.projections.helpers import differences
from tests.write.helpers import open_account

ROOT = Path(__file__).resolve().parents[2]


def some_activity():
    ada, bob = open_account(balance=10_000, owner="Ada"), open_account(owner="Bob")
    execute(Withdraw(account_id=ada, amount=2_500, currency="EUR", memo="rent"), actor="teller")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=1_000, currency="EUR"), actor="teller")
    execute(FreezeAccount(account_id=bob, reason="check"), actor="supervisor")
    return ada, bob


def statuses() -> dict[str, tuple]:
    return {s.name: (s.tx_id, s.position, s.events_applied) for s in ProjectionStatus.objects.all()}


def test_catching_up_fills_every_read_model(committed):
    ada, bob = some_activity()

    runner.catch_up()

    summary = AccountSummary.objects.get(account_id=ada)
    assert (summary.owner, summary.balance, summary.available, summary.status) == ("Ada", 6_500, 6_500, "open")
    assert AccountSummary.objects.get(account_id=bob).status == "frozen"
    lines = list(StatementLine.objects.filter(account_id=ada).order_by("version")
                 .values_list("kind", "amount", "balance_after", "counterparty_id", "memo"))
    assert lines == [("deposit", 10_000, 10_000, None, ""), ("withdrawal", -2_500, 7_500, None, "rent"),
                     ("transfer_out", -1_000, 6_500, bob, "")]
    assert DailyActivity.objects.filter(currency="EUR").exists()
    assert all(not diff for diff in differences().values())


def test_catching_up_again_applies_nothing_twice(committed):
    some_activity()
    runner.catch_up()
    before = statuses()

    report = runner.catch_up()

    assert report.applied == 0 and statuses() == before
    assert all(not diff for diff in differences().values())


def test_a_runner_killed_between_applying_and_committing_changes_nothing(committed):
    some_activity()
    runner.catch_up()
    ada, _ = some_activity()  # events the killed runner will have applied but not committed
    before = (statuses(), AccountSummary.objects.filter(account_id=ada).exists(), StatementLine.objects.count())

    crash = subprocess.run([sys.executable, str(ROOT / "tests/projections/crash_mid_batch.py")],
                           env={**os.environ, "DATABASE_NAME": connection.settings_dict["NAME"]},
                           cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert crash.returncode == -signal.SIGKILL, crash.stderr
    assert "applied, about to commit" in crash.stdout
    after = (statuses(), AccountSummary.objects.filter(account_id=ada).exists(), StatementLine.objects.count())
    assert after == before and before[1] is False
    runner.catch_up()
    assert AccountSummary.objects.get(account_id=ada).balance == 6_500
    assert all(not diff for diff in differences().values())


def test_two_runners_at_once_apply_every_event_exactly_once(committed):
    runner.catch_up()
    applied_before = statuses()
    for _ in range(30):
        some_activity()
    results: list[runner.Report] = []

    def run():
        try:
            results.append(runner.catch_up(batch_size=7))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runner.catch_up()

    new_events = {name: s[2] - applied_before[name][2] for name, s in statuses().items()}
    assert len(set(new_events.values())) == 1 and next(iter(new_events.values())) >= 30 * 7
    assert all(not diff for diff in differences().values())


class Exploding(Projector):
    """Raises on one account's withdrawals; stands for a bug in a projector."""

    name = "exploding"
    handles = frozenset({"MoneyDeposited", "MoneyWithdrawn"})
    tables = ("projections_dailyactivity",)  # never written

    def __init__(self, bad_account):
        self.bad_account, self.seen = bad_account, []

    def apply(self, events):
        for e in events:
            if e.type == "MoneyWithdrawn" and e.stream_id == self.bad_account:
                raise ValueError(f"cannot handle {e.type} at {e.position}")
        self.seen.extend(e.position for e in events)

    def expected(self, events):
        return {}

    def table_rows(self):
        return {}


@pytest.fixture
def exploding():
    runner.catch_up()
    bad = open_account(balance=500)
    projector = Exploding(bad)
    PROJECTORS[projector.name] = projector
    status, _ = ProjectionStatus.objects.get_or_create(name="exploding")
    last = ProjectionStatus.objects.get(name="account_summary")
    ProjectionStatus.objects.filter(name="exploding").update(tx_id=last.tx_id, position=last.position)
    yield projector
    del PROJECTORS[projector.name]
    ProjectionStatus.objects.filter(name="exploding").delete()


def test_a_failing_projector_stops_before_the_bad_event_and_the_others_keep_going(committed, exploding):
    good = open_account(balance=100)
    execute(Withdraw(account_id=exploding.bad_account, amount=1, currency="EUR"), actor="teller")
    execute(Deposit(account_id=good, amount=7, currency="EUR"), actor="teller")

    report = runner.catch_up()

    assert "exploding" in report.failed and "cannot handle MoneyWithdrawn" in report.failed["exploding"]
    status = ProjectionStatus.objects.get(name="exploding")
    bad_position = status.last_error_position
    assert "ValueError: cannot handle MoneyWithdrawn" in status.last_error
    assert status.position < bad_position and max(exploding.seen) < bad_position
    assert AccountSummary.objects.get(account_id=good).balance == 107  # the others kept going

    runner.catch_up()  # retried later: still stuck at the same event, nothing skipped
    assert ProjectionStatus.objects.get(name="exploding").position == status.position

    exploding.bad_account = None  # the fix
    runner.catch_up()
    fixed = ProjectionStatus.objects.get(name="exploding")
    assert fixed.position > bad_position and fixed.last_error == ""
