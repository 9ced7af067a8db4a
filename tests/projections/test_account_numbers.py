"""The account summary's numbers: the projector's SQL computes what the domain's Python computes from
the position of each account's AccountOpened event (verify_projections compares the two), an open
account command sent twice keeps its number, and tables built before numbers existed (projector
version 1) are rebuilt blue/green with them."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.core.management import call_command

from ledger.account_numbers import account_numbered, number_of
from ledger.domain import account_number
from ledger.domain.commands import OpenAccount
from ledger.execute import execute
from ledger.store import read_stream
from ledger.store.sql import execute as sql
from projections import bluegreen, runner
from projections.models import AccountSummary, ProjectionStatus
from projections.projectors import PROJECTORS
from projections.projectors.account_summary import number_sql
from tests.projections.helpers import differences
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")


def test_each_account_gets_the_number_of_its_opening_position_in_sql_and_in_python():
    accounts = [open_account(owner=f"Number {i}") for i in range(5)]
    runner.catch_up()

    for account in accounts:
        opened = read_stream(account)[0]
        stored = AccountSummary.objects.get(account_id=account).number
        assert stored == account_number.from_position(opened.position) == number_of(account)
        assert account_numbered(stored) == account
    assert differences()["account_summary"] == []


@pytest.mark.parametrize("position", [0, 1, 97, 123_456_789, 2**33, account_number.CAPACITY - 1])
def test_the_sql_arithmetic_is_the_domains_at_any_position(position):
    """Past bigint's range in the product (MULTIPLIER * position), the SQL still agrees."""
    from ledger.store.sql import fetch

    number = fetch(f"SELECT {number_sql('%(position)s::bigint')}", {"position": position})[0][0]

    assert number == account_number.from_position(position)


def test_an_open_account_command_sent_twice_keeps_its_number():
    command = OpenAccount(account_id=uuid4(), command_id=uuid4(), owner="Twice Sent", currency="EUR")
    execute(command, actor="teller")
    first = number_of(command.account_id)

    replayed = execute(command, actor="teller")
    runner.catch_up()

    assert replayed.replayed and number_of(command.account_id) == first
    assert AccountSummary.objects.get(account_id=command.account_id).number == first


def test_tables_built_before_numbers_are_rebuilt_blue_green_with_them():
    account = open_account(owner="Before Numbers")
    runner.catch_up()
    # As version 1 of the projector left them: no numbers, and its version on the status row.
    sql("UPDATE projections_accountsummary SET number = NULL")
    ProjectionStatus.objects.filter(name="account_summary").update(version=1)
    assert bluegreen.outdated() == ["account_summary"]

    call_command("rebuild_projections", "--outdated", "--no-input")

    assert AccountSummary.objects.get(account_id=account).number == number_of(account)
    assert not AccountSummary.objects.filter(number__isnull=True).exists()
    assert ProjectionStatus.objects.get(name="account_summary").version == PROJECTORS["account_summary"].version
    assert differences()["account_summary"] == []
