"""What the screens' query functions answer, and in how many queries: the accounts search, a
statement page, and the account page's wait for its own read models."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

import pytest
from django.db import connection, transaction
from django.template.defaultfilters import date
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.timezone import localtime

from ledger.account_numbers import number_of
from ledger.domain.account_number import grouped
from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute
from ledger.store import Checkpoint
from projections import queries, runner
from projections.models import ProjectionStatus
from projections.templatetags.money import moment
from projections.views import ACCOUNT_PAGE_PROJECTIONS
from tests.write.helpers import open_account

# Committed: the runner reads only events of transactions that have ended.
pytestmark = pytest.mark.usefixtures("committed")


def test_search_finds_a_part_of_an_owners_name_and_the_start_of_an_account_number():
    tag = uuid4().hex[:8]
    grace, ada = open_account(owner=f"Grace Hopper{tag}"), open_account(owner=f"Ada Lovelace{tag}")
    runner.catch_up()
    number = number_of(ada)
    assert number is not None
    printed = grouped(number)  # "TL12 3456 7890 12"

    def found(q: str) -> set:
        return {a.account_id for a in queries.accounts_search(q=q)}

    assert found(f"hopper{tag}".upper()) == {grace}
    assert found(f"lace{tag}") == {ada}
    assert found(printed) == found(number) == found(printed.lower()) == found(printed[2:]) == {ada}
    assert ada in found(printed[:12]) and ada in found(number[:10]) and ada in found(number[2:10])
    assert found(f" {printed.replace(' ', '-')} ") == {ada}
    assert found(str(ada)) == {ada}  # the id, whole, as in the page's address
    assert found(str(ada)[:13]) == set()  # the id is no longer printed: its start is not a number
    assert found(f"Hopper{tag}-") == set()  # a name with a hyphen is still a name, not a number


def test_a_statement_page_brings_its_lines_their_counterparties_and_the_count_in_one_query():
    ada, grace = open_account(owner="Ada Lovelace", balance=10_000), open_account(owner="Grace Hopper")
    for _ in range(queries.PAGE_SIZE + 4):
        execute(Deposit(account_id=ada, amount=1, currency="EUR"), actor="teller")
    execute(Transfer(account_id=ada, to_account_id=grace, amount=5, currency="EUR"), actor="teller")
    runner.catch_up()

    with CaptureQueriesContext(connection) as ran:
        first = queries.statement_page(account_id=ada)
        lines = list(first)
    second = queries.statement_page(account_id=ada, page="2")

    assert len(ran) == 1
    assert first.paginator.count == queries.PAGE_SIZE + 6 and first.paginator.num_pages == 2
    assert (lines[0].kind, lines[0].counterparty_owner) == ("transfer_out", "Grace Hopper")
    assert lines[1].counterparty_owner is None
    assert [line.version for line in second] == [7, 6, 5, 4, 3, 2]  # 1 opened the account: no line
    assert (second.number, second.has_next(), second.has_previous()) == (2, False, True)
    assert queries.statement_page(account_id=ada, page="99").number == 2  # past the end: the last page
    assert queries.statement_page(account_id=ada, page="x").number == 1
    assert queries.statement_page(account_id=uuid4()).paginator.count == 0


def test_the_account_page_waits_for_its_own_read_models_and_not_for_the_dashboards():
    account = open_account(balance=100)
    runner.catch_up()
    head = max(Checkpoint(s.tx_id, s.position) for s in ProjectionStatus.objects.all())

    with transaction.atomic():  # the dashboard's projection far behind, for this test only
        ProjectionStatus.objects.filter(name="daily_activity").update(tx_id=0, position=0)

        assert queries.wait_until_projected(head, ACCOUNT_PAGE_PROJECTIONS, timeout=0)
        assert not queries.wait_until_projected(head, timeout=0)
        assert not queries.wait_until_projected(
            Checkpoint(head.tx_id, head.position + 1), ACCOUNT_PAGE_PROJECTIONS, timeout=0.02
        )
        transaction.set_rollback(True)
    summary = queries.account_summary_get(account_id=account)
    assert summary is not None and summary.balance == 100


@pytest.mark.parametrize("at", ["2026-03-03T04:05:00+00:00", "2025-12-31T23:59:59+00:00", "2026-07-14T09:30:00+02:00"])
def test_a_moment_on_a_statement_prints_as_djangos_date_filter_would(at: str):
    value = datetime.fromisoformat(at)

    assert moment(value) == date(localtime(value), "DATETIME_FORMAT")  # the template localizes before |date


@pytest.mark.parametrize("active_zone", ["Etc/GMT-14", "Etc/GMT+12"])  # at any hour, one of them is on another day
def test_the_dashboards_today_is_the_configured_zones_whatever_zone_is_active(active_zone):
    configured_today = timezone.localdate(timezone=timezone.get_default_timezone())

    with timezone.override(active_zone):
        days = queries.daily_activity(days=3)

    assert days[-1]["day"] == configured_today
