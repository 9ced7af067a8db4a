"""The figures /metrics shows move with what really happens: commands counted by outcome where
execute() knows it (accepted, refused, replayed, and conflict_retried after a real lost race between
two connections), the read side's lag while no runner catches up, a projection stopped on an error
and where, and the time from commit to visible as the runner observed it."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connections
from django.utils import timezone
from prometheus_client import REGISTRY

from ledger import store
from ledger.domain import commands as c
from ledger.domain.errors import DomainError, InsufficientFunds
from ledger.execute import execute, load_account
from ledger.store.sql import fetch
from projections import metrics, runner
from projections.models import ProjectionStatus
from projections.projectors import PROJECTORS, Projector
from projections.projectors.base import IN_SPAN, Span
from tests.deploy.scrape import TOKEN, Scrape, scrape
from tests.write.helpers import CallerFailed, execute_then_fail, open_account

pytestmark = pytest.mark.usefixtures("token_set")


@pytest.fixture
def token_set(settings):
    settings.TALLY_METRICS_TOKEN = TOKEN


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.count(name, **labels) - before.count(name, **labels)


def test_commands_are_counted_by_type_and_outcome_with_their_duration(committed):
    account = open_account(balance=1_000)
    before = scrape()

    deposit = c.Deposit(account_id=account, amount=250, currency="EUR")
    execute(deposit, actor="teller")
    execute(deposit, actor="teller")  # the same command id again: answered, nothing appended
    with pytest.raises(InsufficientFunds):
        execute(c.Withdraw(account_id=account, amount=1_000_000, currency="EUR"), actor="teller")
    with pytest.raises(DomainError):  # the same id with other details
        execute(c.Deposit(command_id=deposit.command_id, account_id=account, amount=1, currency="EUR"), actor="teller")
    with pytest.raises(CallerFailed):  # accepted, then rolled back by its caller: it recorded nothing
        execute_then_fail(c.Deposit(account_id=account, amount=5, currency="EUR"), actor="teller")

    after = scrape()
    assert moved(before, after, "tally_commands_total", command="Deposit", outcome="accepted") == 1
    assert moved(before, after, "tally_commands_total", command="Deposit", outcome="replayed") == 1
    assert moved(before, after, "tally_commands_total", command="Deposit", outcome="refused") == 1
    assert moved(before, after, "tally_commands_total", command="Withdraw", outcome="refused") == 1
    for command, outcome, times in [("Deposit", "accepted", 1), ("Deposit", "replayed", 1), ("Withdraw", "refused", 1)]:
        count = moved(before, after, "tally_command_duration_seconds_count", command=command, outcome=outcome)
        took = moved(before, after, "tally_command_duration_seconds_sum", command=command, outcome=outcome)
        assert count == times and 0 < took < 5


def test_a_command_that_loses_a_race_and_is_decided_again_is_counted_as_conflict_retried(committed, monkeypatch):
    account = open_account(balance=100)
    load_account(account)  # cached by this process: both racers decide on the same version, no load
    both_decided = threading.Barrier(2, timeout=10)
    appends: Counter[str] = Counter()
    real_append = store.append

    def append_together(*args, **kwargs):
        appends[threading.current_thread().name] += 1
        if appends[threading.current_thread().name] == 1:
            both_decided.wait()  # both append at the same instant, each on its own connection
        return real_append(*args, **kwargs)

    monkeypatch.setattr(store, "append", append_together)
    before = scrape()

    def deposit(amount: int) -> None:
        try:
            execute(c.Deposit(account_id=account, amount=amount, currency="EUR"), actor="teller")
        finally:
            connections.close_all()

    racers = [threading.Thread(target=deposit, args=(amount,), name=f"racer-{amount}") for amount in (10, 20)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)

    after = scrape()
    assert sorted(appends.values()) == [1, 2]  # the loser appended again
    assert load_account(account).balance == 130
    assert moved(before, after, "tally_commands_total", command="Deposit", outcome="accepted") == 1
    assert moved(before, after, "tally_commands_total", command="Deposit", outcome="conflict_retried") == 1


def test_the_lag_of_a_projection_no_runner_catches_up_shows_and_goes_away_once_applied(committed):
    runner.catch_up()
    account = open_account()
    for _ in range(4):
        execute(c.Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
    time.sleep(0.2)

    stalled = scrape()
    runner.catch_up()
    applied = scrape()

    for name in ("statement", "account_summary", "daily_activity"):
        assert stalled.value("tally_projection_lag_events", projection=name) >= 5, name
        assert stalled.value("tally_projection_lag_seconds", projection=name) >= 0.2, name
        assert applied.value("tally_projection_lag_events", projection=name) == 0
        assert applied.value("tally_projection_lag_seconds", projection=name) == 0
        assert moved(stalled, applied, "tally_projection_events_applied_total", projection=name) >= 5
        assert moved(stalled, applied, "tally_projection_batches_applied_total", projection=name) >= 1
        assert applied.value("tally_projection_stopped", projection=name) == 0
        assert applied.value("tally_projection_version", projection=name) >= 1
        assert moved(stalled, applied, "tally_commit_to_visible_seconds_count", projection=name) >= 1


class Choking(Projector):
    """Fails in SQL on one account's deposits, as a projector with a bug would."""

    name = "choking"
    handles = frozenset({"MoneyDeposited"})
    tables = ("projections_dailyactivity",)  # never written

    def __init__(self, bad_account):
        self.bad_account = bad_account

    def apply(self, span):
        fetch(
            f"""SELECT e.position FROM ledger_event e WHERE e.type = 'MoneyDeposited' AND {IN_SPAN}
                   AND CASE WHEN e.stream_id = %(bad)s THEN ('cannot handle ' || e.position)::int END IS NULL""",
            {**span.params(), "bad": self.bad_account},
        )

    def expected(self, events):
        return {}

    def table_rows(self):
        return {}


@pytest.fixture
def choking():
    runner.catch_up()
    projector = Choking(open_account())
    PROJECTORS[projector.name] = projector
    live = ProjectionStatus.objects.get(name="account_summary")
    ProjectionStatus.objects.update_or_create(
        name=projector.name, defaults={"tx_id": live.tx_id, "position": live.position}
    )
    yield projector
    del PROJECTORS[projector.name]
    ProjectionStatus.objects.filter(name=projector.name).delete()


def test_a_projection_stopped_on_an_error_shows_stopped_where_and_how_far_behind(committed, choking):
    bad = execute(c.Deposit(account_id=choking.bad_account, amount=1, currency="EUR"), actor="teller")
    execute(c.Deposit(account_id=open_account(), amount=1, currency="EUR"), actor="teller")

    report = runner.catch_up()
    time.sleep(0.1)
    figures = scrape()

    assert list(report.failed) == ["choking"]
    assert figures.value("tally_projection_stopped", projection="choking") == 1
    assert figures.value("tally_projection_stopped_at_position", projection="choking") == bad.position
    assert figures.value("tally_projection_lag_events", projection="choking") >= 3  # the bad event and after
    assert figures.value("tally_projection_lag_seconds", projection="choking") >= 0.1
    assert figures.value("tally_projection_stopped", projection="statement") == 0
    assert figures.find("tally_projection_stopped_at_position", projection="statement") is None
    assert figures.value("tally_projection_lag_events", projection="statement") == 0


@pytest.mark.parametrize(
    ("rebuilding", "phase", "observed"),
    [(False, "", 1), (True, "", 0), (False, "building", 0)],
    ids=["live", "rebuilt in place", "blue/green new tables"],
)
def test_only_batches_of_live_tables_count_as_commit_to_visible(rebuilding, phase, observed):
    name = f"visible-{uuid4().hex[:8]}"
    recorded = timezone.now() - timedelta(seconds=3)
    span = Span(store.Checkpoint(1, 1), store.Checkpoint(2, 2), 1, recorded)
    status = ProjectionStatus(name=name, rebuilding=rebuilding, rebuild_phase=phase)

    metrics.batch_visible(span, [status])

    seconds = REGISTRY.get_sample_value("tally_commit_to_visible_seconds_sum", {"projection": name})
    assert (seconds is not None and seconds >= 3) if observed else seconds is None
