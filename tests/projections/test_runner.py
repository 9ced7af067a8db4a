"""The projection runner against the real Postgres: exactly once, crash-safe, isolated failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import UTC, date, datetime
from uuid import uuid4

import psycopg
import pytest
from django.db import OperationalError, connection, connections
from django.utils import timezone

from ledger.domain.commands import Deposit, OpenAccount, Withdraw
from ledger.execute import execute
from ledger.store.sql import fetch
from projections import runner
from projections.models import AccountSummary, DailyActivity, ProjectionStatus, StatementLine
from projections.projectors import PROJECTORS, Projector
from projections.projectors.base import IN_SPAN, Span
from tests.projections.helpers import differences, some_activity, statuses, verify_command_exit_code
from tests.store.helpers import own_connection
from tests.write.helpers import open_account


def test_catching_up_fills_every_read_model(committed):
    ada, bob = some_activity()

    runner.catch_up()

    summary = AccountSummary.objects.get(account_id=ada)
    assert (summary.owner, summary.balance, summary.available, summary.status) == ("Ada", 6_500, 6_500, "open")
    assert AccountSummary.objects.get(account_id=bob).status == "frozen"
    lines = list(
        StatementLine.objects.filter(account_id=ada)
        .order_by("version")
        .values_list("kind", "amount", "balance_after", "counterparty_id", "memo")
    )
    assert lines == [
        ("deposit", 10_000, 10_000, None, ""),
        ("withdrawal", -2_500, 7_500, None, "rent"),
        ("transfer_out", -1_000, 6_500, bob, ""),
    ]
    assert DailyActivity.objects.filter(currency="EUR").exists()
    assert all(not diff for diff in differences().values())


def test_catching_up_again_applies_nothing_twice(committed):
    some_activity()
    runner.catch_up()
    before = statuses()

    report = runner.catch_up()

    assert report.applied == 0 and statuses() == before
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
    """Fails in SQL on one account's withdrawals, as a projector with a bug would; remembers the
    positions of the events it applied and how often it was called."""

    name = "exploding"
    handles = frozenset({"MoneyDeposited", "MoneyWithdrawn"})
    tables = ("projections_dailyactivity",)  # never written

    def __init__(self, bad_account):
        self.bad_account, self.seen, self.calls = bad_account, [], 0

    def apply(self, span):
        self.calls += 1
        self.seen.extend(
            p
            for (p,) in fetch(
                f"""
            SELECT e.position FROM ledger_event e
             WHERE e.type IN ('MoneyDeposited', 'MoneyWithdrawn') AND {IN_SPAN}
               AND CASE WHEN e.type = 'MoneyWithdrawn' AND e.stream_id = %(bad)s
                        THEN ('cannot handle MoneyWithdrawn at ' || e.position)::int END IS NULL""",
                {**span.params(), "bad": self.bad_account},
            )
        )

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
    ProjectionStatus.objects.get_or_create(name="exploding")
    last = ProjectionStatus.objects.get(name="account_summary")
    ProjectionStatus.objects.filter(name="exploding").update(tx_id=last.tx_id, position=last.position)
    yield projector
    del PROJECTORS[projector.name]
    ProjectionStatus.objects.filter(name="exploding").delete()


def event_before(checkpoint) -> int:
    """The position of the event just before `checkpoint` in the log's (tx_id, position) order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT position FROM ledger_event WHERE (tx_id, position) < (%s::text::xid8, %s)"
            " ORDER BY tx_id DESC, position DESC LIMIT 1",
            [str(checkpoint.tx_id), checkpoint.position],
        )
        return cursor.fetchone()[0]


def test_a_failing_projector_stops_before_the_bad_event_and_the_others_keep_going(committed, exploding):
    good = open_account(balance=100)
    withdrawal = execute(Withdraw(account_id=exploding.bad_account, amount=1, currency="EUR"), actor="teller")
    execute(Deposit(account_id=good, amount=7, currency="EUR"), actor="teller")

    report = runner.catch_up()

    assert "exploding" in report.failed and "cannot handle MoneyWithdrawn" in report.failed["exploding"]
    status = ProjectionStatus.objects.get(name="exploding")
    bad_position = status.last_error_position
    assert bad_position == withdrawal.position
    assert "invalid input syntax for type integer" in status.last_error
    assert status.position == event_before(withdrawal.checkpoint) and max(exploding.seen) < bad_position
    assert AccountSummary.objects.get(account_id=good).balance == 107  # the others kept going

    runner.catch_up()  # retried later: still stuck at the same event, nothing skipped
    assert ProjectionStatus.objects.get(name="exploding").position == status.position

    exploding.bad_account = None  # the fix
    runner.catch_up()
    fixed = ProjectionStatus.objects.get(name="exploding")
    assert fixed.position > bad_position and fixed.last_error == ""


def test_the_bad_event_in_a_big_batch_is_found_by_halving_not_event_by_event(committed, exploding):
    good = open_account(balance=100)
    for _ in range(60):
        execute(Deposit(account_id=good, amount=1, currency="EUR"), actor="teller")
    withdrawal = execute(Withdraw(account_id=exploding.bad_account, amount=1, currency="EUR"), actor="teller")
    for _ in range(60):
        execute(Deposit(account_id=good, amount=1, currency="EUR"), actor="teller")

    runner.catch_up(["exploding"])

    status = ProjectionStatus.objects.get(name="exploding")
    assert status.last_error_position == withdrawal.position
    assert status.position == event_before(withdrawal.checkpoint)
    assert len(exploding.seen) == len(set(exploding.seen)) == 62  # each event before it, once
    assert exploding.calls <= 10  # the whole batch, then about log2(125) halves; one by one took ~64


def test_projectors_caught_up_side_by_side_fail_alone(committed, exploding):
    good = open_account(balance=100)
    withdrawal = execute(Withdraw(account_id=exploding.bad_account, amount=1, currency="EUR"), actor="teller")
    counted: dict[str, int] = {}

    report = runner.catch_up_each(
        ["exploding", "account_summary"],
        progress=lambda name, count: counted.update({name: counted.get(name, 0) + count}),
    )

    assert list(report.failed) == ["exploding"] and not report.caught_up
    assert ProjectionStatus.objects.get(name="exploding").last_error_position == withdrawal.position
    assert AccountSummary.objects.get(account_id=good).balance == 100
    assert set(counted) == {"exploding", "account_summary"}  # each bar hears of its own projector


@contextmanager
def another_runner_holding(name: str):
    """A second session holding projector `name`'s advisory lock, as a busy runner would."""
    key = runner.lock_key(name)
    with own_connection(autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [key])
        yield other
        # Given back by hand: a closed session's locks go only when its backend has exited, a moment
        # after the client is told the connection is closed, and a test taking the lock next would race it.
        other.execute("SELECT pg_advisory_unlock_all()")


@contextmanager
def when_this_session_waits_for_a_lock(action: str):
    """Run `action` (pg_terminate_backend or pg_cancel_backend) on this thread's database session
    as soon as it is seen waiting for a lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    def interrupt() -> None:
        with own_connection(autocommit=True) as admin:
            for _ in range(500):
                if admin.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", [pid]
                ).fetchone():
                    admin.execute(f"SELECT {action}(%s)", [pid])
                    return
                time.sleep(0.01)

    thread = threading.Thread(target=interrupt)
    thread.start()
    try:
        yield
    finally:
        thread.join()


def test_a_runner_whose_connection_is_lost_while_waiting_for_the_lock_hears_of_it_not_busy(committed):
    with (
        another_runner_holding("statement"),
        when_this_session_waits_for_a_lock("pg_terminate_backend"),
        pytest.raises(OperationalError) as raised,
    ):
        runner.reset(["statement"], wait_seconds=10)
    connection.close()  # the lost one

    # The server's own reason, not "busy" and not a later "the connection is lost" hiding it.
    assert isinstance(raised.value.__cause__, psycopg.errors.AdminShutdown)
    assert runner.try_lock(["statement"]) == ["statement"]  # a new connection takes it at once
    runner.unlock(["statement"])


def test_a_cancelled_lock_wait_raises_and_leaves_no_lock_and_no_timeout_behind(committed):
    with another_runner_holding("statement") as other, when_this_session_waits_for_a_lock("pg_cancel_backend"):
        with pytest.raises(OperationalError) as raised:
            runner.try_lock(["account_summary", "statement"], wait_seconds=10)
        taken = other.execute("SELECT pg_try_advisory_lock(%s)", [runner.lock_key("account_summary")]).fetchone()[0]

    assert isinstance(raised.value.__cause__, psycopg.errors.QueryCanceled)
    assert taken  # the lock taken before the cancelled wait was given back
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_lock_another_runner_keeps_past_the_wait_is_busy(committed):
    with another_runner_holding("statement"):
        assert runner.try_lock(["statement"], wait_seconds=0.2) == []
        with pytest.raises(RuntimeError, match="busy in another runner"):
            runner.reset(["statement"], wait_seconds=0.2)

    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "0"


def sek_deposits_on(*days: date) -> list[tuple[int, int]]:
    rows = {
        r.day: (r.deposits_count, r.deposits_sum) for r in DailyActivity.objects.filter(currency="SEK", day__in=days)
    }
    return [rows.get(day, (0, 0)) for day in days]


def test_daily_totals_fall_on_days_of_the_configured_zone_whatever_zone_is_active(committed, settings):
    assert settings.TIME_ZONE == "UTC"
    runner.catch_up()
    noon = datetime(2022, 3, 1, 12, tzinfo=UTC)  # already 2 a.m. on the 2nd in Kiritimati (UTC+14)
    first, second = date(2022, 3, 1), date(2022, 3, 2)
    before = sek_deposits_on(first, second)
    account = uuid4()
    execute(OpenAccount(account_id=account, owner="Ada", currency="SEK"), actor="teller", recorded_at=noon)
    execute(Deposit(account_id=account, amount=4_200, currency="SEK"), actor="teller", recorded_at=noon)

    with timezone.override("Pacific/Kiritimati"):
        runner.catch_up()
        assert verify_command_exit_code() == 0  # the replay, in the same active zone, agrees

    (first_count, first_sum), second_day = sek_deposits_on(first, second)
    assert (first_count - before[0][0], first_sum - before[0][1]) == (1, 4_200)
    assert second_day == before[1]
    assert verify_command_exit_code() == 0  # and so does one with no zone active


def test_two_runners_waiting_for_each_others_locks_never_deadlock(committed):
    """A runner that finds some projectors busy takes the free ones and waits for the others. If it
    waited while holding locks in no order, a second runner taking what was free meanwhile could hold
    what the first waits for and wait for what the first holds: Postgres ends one of them with
    "deadlock detected" after a second (seen in the benchmark's catch-ups as a 1 s stall and a failed
    task). Here a third session hands the first runner its locks one by one, then frees the rest but
    one while a second runner starts: both must end up with every lock, one after the other."""
    names = [f"lock-order-{i}" for i in range(8)]
    holder = own_connection(autocommit=True)
    for name in names:
        holder.execute("SELECT pg_advisory_lock(%s)", [runner.lock_key(name)])
    held = set(names)
    by_key = {runner.lock_key(name): name for name in names}
    pids: dict[str, int] = {}
    results: dict[str, object] = {}

    def run(who: str) -> None:
        try:
            pids[who] = fetch("SELECT pg_backend_pid()")[0][0]
            locked = runner.try_lock(names, wait_seconds=20)
            results[who] = sorted(locked)
            runner.unlock(locked)
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            results[who] = exc
        finally:
            connections.close_all()

    def waiting_for(who: str, other_than: str | None = None) -> str:
        """The name whose lock runner `who` waits for (a different one than `other_than`)."""
        for _ in range(1000):
            if who in pids:
                row = holder.execute(
                    """SELECT (classid::bigint << 32) | objid::bigint FROM pg_locks
                        WHERE locktype = 'advisory' AND objsubid = 1 AND NOT granted AND pid = %s""",
                    [pids[who]],
                ).fetchone()
                if row and by_key.get(row[0]) not in (None, other_than):
                    return by_key[row[0]]
            if who in results:
                raise AssertionError(f"{who} stopped waiting: {results[who]}")
            time.sleep(0.01)
        raise AssertionError(f"{who} never waited for a lock")

    def hand_over(name: str) -> None:
        holder.execute("SELECT pg_advisory_unlock(%s)", [runner.lock_key(name)])
        held.discard(name)

    first = threading.Thread(target=run, args=("first",))
    first.start()
    waited = waiting_for("first")
    for _ in range(4):  # the first runner gets four locks, one at a time, as another runner lets go
        hand_over(waited)
        waited = waiting_for("first", other_than=waited)
    for name in sorted(held - {waited}):  # all the rest are free but the one it waits for
        hand_over(name)
    second = threading.Thread(target=run, args=("second",))
    second.start()
    waiting_for("second")  # it took what was free, or gave it back, and waits
    hand_over(waited)
    first.join(timeout=60)
    second.join(timeout=60)
    holder.close()

    assert results == {"first": sorted(names), "second": sorted(names)}


def test_a_projector_handling_none_of_a_live_spans_events_sends_nothing_and_its_checkpoint_moves(
    committed, monkeypatch
):
    account = open_account()
    runner.catch_up()
    applied: list[str] = []

    def recorded(unit: Projector) -> Callable[[Span], None]:
        real = unit.apply

        def apply(span: Span) -> None:
            applied.append(unit.name)
            real(span)

        return apply

    for unit in runner.units():
        monkeypatch.setattr(unit, "apply", recorded(unit))

    result = execute(Deposit(account_id=account, amount=700, currency="EUR"), actor="teller")
    report = runner.catch_up()

    # A deposit's span: the four that handle it; approvals, standing orders and the approval process do not.
    assert sorted(applied) == ["account_summary", "daily_activity", "event_types", "statement"]
    assert report.applied == 1 and report.caught_up
    head = (result.tx_id, result.position)
    assert {(tx_id, position) for tx_id, position, _ in statuses().values()} == {head}
    assert not any(differences().values())
