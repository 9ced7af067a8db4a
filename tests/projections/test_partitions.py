"""Partitioned projections against the real Postgres (projections/partitions.py): the partitions
share the streams out exactly, apply them side by side from sessions of their own with nothing lost
or doubled, verify and rebuild per partition, and a changed number of partitions is a blue/green
rebuild while the live tables go on in their old layout."""

from __future__ import annotations

import threading
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from ledger.store.sql import fetch
from projections import bluegreen, dashboard, partitions, queries, runner
from projections.models import AccountSummary, AccountTotals, DailyActivity, StatementLine
from projections.projectors import PROJECTORS
from projections.projectors.base import BUCKETS, IN_PART, bucket, buckets
from projections.verify import verify_all
from tests.projections.helpers import some_activity
from tests.screens.helpers import make_user
from tests.store.helpers import own_connection
from tests.write.helpers import open_account

SPLIT = {"account_summary": 4, "statement": 4, "daily_activity": 2}
NAMES = sorted(SPLIT)


def figures() -> dict[str, object]:
    """Everything the screens show of the split projections, independent of how they are stored."""
    return {
        "summaries": sorted(AccountSummary.objects.values_list("account_id", "balance", "version", "status")),
        "lines": StatementLine.objects.count(),
        "last_lines": sorted(StatementLine.objects.order_by("-position").values_list("position", "balance_after")[:50]),
        "totals": queries.totals_by_currency(),  # summed over the account summary's partitions
        "daily": sorted(
            DailyActivity.objects.values("day", "currency")
            .annotate(d=Sum("deposits_sum"), w=Sum("withdrawals_sum"), t=Sum("transfers_count"))
            .values_list("day", "currency", "d", "w", "t")
        ),
    }


def layout() -> list[str]:
    return sorted(partitions.rows_of(NAMES))


@pytest.fixture
def split(committed, settings):
    """The three projections rebuilt in place as SPLIT partitions; back to one each afterwards (the
    tests after these read the status rows by the projections' own names)."""
    some_activity()
    runner.catch_up()
    before = figures()
    settings.TALLY_PROJECTION_PARTITIONS = SPLIT
    runner.reset(NAMES)
    runner.catch_up()
    yield before
    settings.TALLY_PROJECTION_PARTITIONS = {}
    runner.reset(NAMES)
    runner.catch_up()
    assert layout() == NAMES


@hypothesis_settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.uuids())
def test_postgres_and_python_put_a_stream_in_the_same_bucket(committed, stream_id):
    assert fetch("SELECT get_byte(uuid_send(%s::uuid), 15)", [stream_id])[0][0] == bucket(stream_id)


@given(st.integers(min_value=1, max_value=BUCKETS))
def test_the_partitions_share_out_every_bucket_exactly_once(n):
    shares = [buckets(k, n) for k in range(1, n + 1)]
    assert sorted(b for share in shares for b in share) == list(range(BUCKETS))
    assert max(map(len, shares)) - min(map(len, shares)) <= 1  # evenly


def test_split_projections_show_what_the_unsplit_ones_showed_and_match_a_replay(split):
    assert layout() == sorted(partitions.unit_name(name, k, n) for name, n in SPLIT.items() for k in range(1, n + 1))
    assert figures() == split  # the same balances, lines and daily totals (summed over partitions)
    verdicts = verify_all([PROJECTORS[n] for n in NAMES])
    assert len(verdicts) == sum(SPLIT.values()) and not any(v.differences for v in verdicts)
    call_command("verify_projections", *NAMES)  # raises CommandError on any difference
    # Each partition's verdict counted its own rows only: together, every row once.
    assert sum(v.rows for v in verdicts if v.name.startswith("statement:")) == StatementLine.objects.count()
    assert set(DailyActivity.objects.values_list("part", flat=True)) <= {1, 2}  # a row per partition
    assert set(AccountTotals.objects.values_list("part", flat=True)) <= {1, 2, 3, 4}


def test_the_screens_show_each_partition_and_the_figures_as_a_whole(split):
    ada, _ = some_activity()
    halves: set[bool] = set()
    while len(halves) < 2:  # a deposit today in each of daily_activity's two partitions
        halves.add(bucket(open_account(balance=100, owner="Half")) < BUCKETS // 2)
    runner.catch_up()
    operator, _ = User.objects.get_or_create(username="partition-operator", defaults={"is_superuser": True})
    teller = make_user("partition-teller", Role.TELLER)
    client = Client()
    client.force_login(operator)
    read_side = client.get("/projections/").content.decode()
    admin = client.get("/admin/projections/projectionstatus/").content.decode()
    for k in range(1, 5):
        assert f"statement:{k}/4" in read_side and f"statement:{k}/4" in admin
    client.force_login(teller)
    account = client.get(f"/accounts/{ada}/")
    dashboard_page = client.get("/")
    assert account.status_code == dashboard_page.status_code == 200
    assert "65.00" in account.content.decode()  # the summary and the lines, from the account's partition
    today = dashboard.today_by_currency()
    eur = next(row for row in today if row["currency"] == "EUR")
    rows = DailyActivity.objects.filter(day=dashboard.today(), currency="EUR")
    assert rows.count() == 2  # both partitions moved money today ...
    assert eur["deposits_sum_total"] == sum(r.deposits_sum for r in rows)  # ... and the screen adds them up


def test_writers_and_four_lanes_at_once_lose_and_double_nothing(split):
    """Two writers commit deposits while four runners, each with its own database session (as on
    four hosts), apply lanes 1-4 over and over; afterwards every partition matches a replay and
    every account's balance is the sum of its deposits."""
    accounts = [open_account(owner=f"Lane {i}") for i in range(16)]
    deposits = 60
    writing = threading.Event()
    writing.set()
    errors: list[BaseException] = []
    applied = dict.fromkeys(range(1, 5), 0)

    def write(start: int) -> None:
        try:
            for i in range(deposits):
                account = accounts[(start + i) % len(accounts)]
                execute(Deposit(account_id=account, amount=100 + i, currency="EUR"), actor="teller")
        except Exception as exc:  # noqa: BLE001 - any failure fails the test, below
            errors.append(exc)
        finally:
            connection.close()

    def apply(lane: int) -> None:
        try:
            while writing.is_set():
                applied[lane] += runner.catch_up(lane=lane, wait_seconds=0.2).applied
            applied[lane] += runner.catch_up(lane=lane, wait_seconds=5).applied
        except Exception as exc:  # noqa: BLE001 - any failure fails the test, below
            errors.append(exc)
        finally:
            connection.close()

    runners = [threading.Thread(target=apply, args=(lane,)) for lane in range(1, 5)]
    writers = [threading.Thread(target=write, args=(start,)) for start in (0, 7)]
    for thread in [*runners, *writers]:
        thread.start()
    for thread in writers:
        thread.join(60)
    writing.clear()
    for thread in runners:
        thread.join(60)
    assert not errors, errors
    assert all(applied[lane] > 0 for lane in applied)  # every lane did its share
    runner.catch_up()
    expected: dict[UUID, int] = dict.fromkeys(accounts, 0)
    for start in (0, 7):
        for i in range(deposits):
            expected[accounts[(start + i) % len(accounts)]] += 100 + i
    assert dict(AccountSummary.objects.filter(account_id__in=accounts).values_list("account_id", "balance")) == expected
    assert not any(v.differences for v in verify_all([PROJECTORS[n] for n in NAMES]))


def test_a_partition_held_by_one_runner_is_skipped_by_another_and_the_others_go_on(split):
    account = open_account(owner="Held")
    held = partitions.unit_name("statement", next(k for k in range(1, 5) if bucket(account) in buckets(k, 4)), 4)
    with own_connection(autocommit=True) as other:  # another worker, mid-batch on that partition
        other.execute("SELECT pg_advisory_lock(%s)", [runner.lock_key(held)])
        execute(Deposit(account_id=account, amount=500, currency="EUR"), actor="teller")
        report = runner.catch_up()
        assert held in report.skipped and len(report.skipped) == 1  # never applied by two at once
        assert StatementLine.objects.filter(account_id=account).count() == 0  # its partition waits
        assert AccountSummary.objects.get(account_id=account).balance == 500  # the others went on
    # The other worker's session ended (as a killed worker's does): its lock went with it.
    report = runner.catch_up()
    assert not report.skipped and StatementLine.objects.filter(account_id=account).count() == 1


def test_the_partition_condition_is_answered_by_the_bucket_index_through_the_view(committed):
    """The projectors read the upcasting view: its bucket condition must still match the index's
    expression. Which index a span takes is the planner's choice by its size (a live catch-up's few
    events are cheapest through the commit-order index); on the benchmark's 1,000,000-event log a
    rebuild's spans take this one (docs/scaling.md)."""
    condition = IN_PART.rsplit("AND", 1)[1]  # the bucket part of a partition's span condition
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        try:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(
                f"EXPLAIN SELECT e.position FROM ledger_event_current e WHERE {condition}", {"buckets": buckets(2, 4)}
            )
            plan = "\n".join(row[0] for row in cursor.fetchall())
        finally:
            cursor.execute("ROLLBACK")
    assert "ledger_event_bucket_tx_position" in plan and "get_byte(uuid_send(stream_id), 15)" in plan, plan


def test_a_changed_number_of_partitions_is_rebuilt_beside_the_live_tables(committed, settings):
    ada, _ = some_activity()
    runner.catch_up()
    settings.TALLY_PROJECTION_PARTITIONS = {"statement": 2}
    try:
        assert "statement" in bluegreen.outdated()  # the sweep rebuilds it (projections/tasks.py)
        # Meanwhile the live tables go on in the layout they were built with.
        execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")
        runner.catch_up()
        assert layout().count("statement") == 1 and StatementLine.objects.filter(account_id=ada).last()

        outcome = bluegreen.rebuild(["statement"])

        assert outcome.swapped == ["statement"] and not outcome.differences
        assert [n for n in layout() if n.startswith("statement")] == ["statement:1/2", "statement:2/2"]
        assert "statement" not in bluegreen.outdated()
        assert not any(v.differences for v in verify_all([PROJECTORS["statement"]]))
        with pytest.raises(bluegreen.RollbackRefused, match="partition"):
            bluegreen.rollback(["statement"])  # the kept tables are of the other layout
    finally:
        settings.TALLY_PROJECTION_PARTITIONS = {}
        assert "statement" in bluegreen.outdated()
        assert bluegreen.rebuild(["statement"]).swapped == ["statement"]
    assert "statement" in layout()
    assert dashboard.today_by_currency()  # the summed daily figures still read
