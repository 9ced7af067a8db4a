"""The projectors work in SQL over spans of the log: what that SQL must keep of the event store's
rules (the gap-safe horizon, upcasting) and of the site's settings (its time zone)."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.store import Checkpoint
from ledger.store.upcasting import CURRENT_VIEW
from projections import runner
from projections.models import AccountSummary, DailyActivity, ProjectionStatus
from projections.projectors import account_summary, daily_activity, statement
from tests.projections.helpers import differences
from tests.store.helpers import own_connection
from tests.write.helpers import open_account

INSERT_EVENT = """
INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at)
VALUES (%s, %s, 'account', %s, %s, %s, %s, '{"actor": "import"}', coalesce(%s, now()))
"""


def insert_event(cursor, account_id, version, type_, data, *, schema_version=1, recorded_at=None):
    cursor.execute(
        INSERT_EVENT,
        [
            uuid4(),
            account_id,
            version,
            type_,
            schema_version,
            json.dumps({"account_id": str(account_id), **data}),
            recorded_at,
        ],
    )


def test_the_runner_does_not_project_past_an_event_a_slower_transaction_has_yet_to_commit(committed):
    ada = open_account(balance=100)
    runner.catch_up()

    with own_connection() as slow:  # takes a position first, commits last
        insert_event(slow.cursor(), ada, 3, "MoneyDeposited", {"amount": 25, "currency": "EUR", "memo": "late"})
        bob = open_account(balance=50)

        runner.catch_up()

        assert not AccountSummary.objects.filter(account_id=bob).exists()
        assert AccountSummary.objects.get(account_id=ada).balance == 100
        slow.commit()

    runner.catch_up()
    assert AccountSummary.objects.get(account_id=ada).balance == 125
    assert AccountSummary.objects.get(account_id=bob).balance == 50
    assert all(not diff for diff in differences().values())


@pytest.mark.parametrize("module", [account_summary, statement, daily_activity], ids=lambda m: m.__name__)
def test_every_projector_reads_events_through_the_upcasting_view(module):
    # Upcasting lives in ledger/store/upcasting.py only (Python and SQL side by side); a projector
    # reading ledger_event itself would see old payloads in their stored shape.
    for sql in module._APPLY.values():  # for a whole span and for one partition's share of it
        assert f"FROM {CURRENT_VIEW} e" in sql
        assert "ledger_event " not in sql.replace(CURRENT_VIEW, "")


def test_an_account_opened_before_overdrafts_existed_has_none(committed):
    carol = uuid4()
    with connection.cursor() as cursor:
        insert_event(cursor, carol, 1, "AccountOpened", {"owner": "Carol", "currency": "EUR"}, schema_version=1)
    execute(Deposit(account_id=carol, amount=300, currency="EUR"), actor="teller")

    runner.catch_up()

    summary = AccountSummary.objects.get(account_id=carol)
    assert (summary.owner, summary.overdraft_limit, summary.balance, summary.available) == ("Carol", 0, 300, 300)
    assert all(not diff for diff in differences().values())


def test_daily_activity_counts_a_movement_on_its_day_in_the_sites_time_zone(committed):
    ada = open_account()
    with connection.cursor() as cursor:  # 23:30 on New Year's Eve in UTC is 08:30 on New Year's Day in Tokyo
        insert_event(
            cursor,
            ada,
            2,
            "MoneyDeposited",
            {"amount": 1234, "currency": "EUR", "memo": ""},
            recorded_at="2019-12-31 23:30:00+00",
        )

    with override_settings(TIME_ZONE="Asia/Tokyo"):
        call_command("rebuild_projections", "daily_activity", "--no-input")
        tokyo = list(DailyActivity.objects.filter(day__year__lt=2021).values_list("day", "deposits_sum"))
        verified = differences()["daily_activity"]
    call_command("rebuild_projections", "daily_activity", "--no-input")

    assert tokyo == [(date(2020, 1, 1), 1234)] and verified == []
    assert list(DailyActivity.objects.filter(day__year__lt=2021).values_list("day", "deposits_sum")) == [
        (date(2019, 12, 31), 1234)
    ]
    assert not ProjectionStatus.objects.get(name="daily_activity").rebuilding


def test_a_span_ends_at_its_last_event_in_numeric_transaction_id_order(db):
    # Transactions 9 and 10, long gone, sort first in the log. As text, '9' would sort after '10'.
    with connection.cursor() as cursor:
        for tx_id in (9, 10):
            cursor.execute(
                "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, data,"
                " metadata, tx_id) VALUES (%s, %s, 'account', 1, 'NoteTaken', '{}', '{}', %s::text::xid8)"
                " RETURNING position",
                [uuid4(), uuid4(), str(tx_id)],
            )
        last = cursor.fetchone()[0]

    span = runner.next_span(Checkpoint(), 2)

    assert span is not None
    assert (span.upto, span.events) == (Checkpoint(10, last), 2)
