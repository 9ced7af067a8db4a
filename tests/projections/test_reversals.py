"""Reversals on the read side: a reversal's statement line names the line it reverses and the
original is shown reversed; balances and daily totals count the reversal; rebuild and
verify_projections cover all of it."""

from __future__ import annotations

from uuid import UUID

from django.core.management import call_command
from django.utils import timezone

from ledger import store
from ledger.domain.commands import Transfer
from ledger.execute import execute
from ledger.reversals import find_movement, reverse
from projections import queries, runner
from projections.models import AccountSummary, DailyActivity, StatementLine
from projections.projectors import get_projectors
from tests.projections.helpers import differences, verify_command_exit_code
from tests.write.helpers import open_account


def reverse_last(account_id: UUID, reason: str = "Keyed in twice") -> None:
    movement = find_movement(account_id=account_id, position=store.read_stream(account_id)[-1].position)
    assert movement is not None
    reverse(movement, account_id=account_id, reason=reason, actor="supervisor")


def lines(account_id: UUID) -> list[tuple]:
    return list(
        StatementLine.objects.filter(account_id=account_id)
        .order_by("version")
        .values_list("version", "kind", "amount", "balance_after", "counterparty_id", "memo", "reverses_version")
    )


def reversed_transfer() -> tuple[UUID, UUID]:
    ada, bob = open_account(balance=5000, owner="Ada"), open_account(owner="Bob")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="EUR", memo="rent"), actor="teller")
    reverse_last(bob, reason="Wrong payee")
    return ada, bob


def test_a_reversed_transfer_is_two_linked_lines_on_each_statement(committed):
    ada, bob = reversed_transfer()

    runner.catch_up()

    assert lines(ada) == [
        (2, "deposit", 5000, 5000, None, "", None),
        (3, "transfer_out", -3000, 2000, bob, "rent", None),
        (4, "transfer_out_reversal", 3000, 5000, bob, "Wrong payee", 3),
    ]
    assert lines(bob) == [
        (2, "transfer_in", 3000, 3000, ada, "rent", None),
        (3, "transfer_in_reversal", -3000, 0, ada, "Wrong payee", 2),
    ]
    page = {line.version: line.reversed_by_version for line in queries.statement_page(account_id=ada)}
    assert page == {2: None, 3: 4, 4: None}


def test_balances_and_daily_totals_count_a_reversal_as_the_opposite_movement(committed):
    before = {row.currency: row for row in DailyActivity.objects.filter(day=timezone.localdate())}
    ada = open_account(balance=5000, currency="SEK")
    reverse_last(ada)  # the deposit's reversal: a withdrawal of 50.00 today

    runner.catch_up()

    summary = AccountSummary.objects.get(account_id=ada)
    assert (summary.balance, summary.available) == (0, 0)
    today = DailyActivity.objects.get(day=timezone.localdate(), currency="SEK")
    was = before.get("SEK")
    assert today.deposits_sum - (was.deposits_sum if was else 0) == 5000
    assert today.withdrawals_sum - (was.withdrawals_sum if was else 0) == 5000
    assert today.withdrawals_count - (was.withdrawals_count if was else 0) == 1


def test_a_transfer_reversal_counts_once_as_a_transfer(committed):
    before = DailyActivity.objects.filter(day=timezone.localdate(), currency="CHF").first()
    ada, bob = open_account(balance=5000, currency="CHF"), open_account(currency="CHF")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="CHF"), actor="teller")
    reverse_last(ada)

    runner.catch_up()

    today = DailyActivity.objects.get(day=timezone.localdate(), currency="CHF")
    assert today.transfers_count - (before.transfers_count if before else 0) == 2
    assert today.transfers_sum - (before.transfers_sum if before else 0) == 6000


def test_rebuild_and_verify_cover_reversals(committed):
    reversed_transfer()
    reverse_last(open_account(balance=700))
    runner.catch_up()
    live = {p.name: p.table_rows() for p in get_projectors()}

    call_command("rebuild_projections", "--no-input")

    assert {p.name: p.table_rows() for p in get_projectors()} == live
    assert all(not diff for diff in differences().values())
    assert verify_command_exit_code() == 0


def test_verify_finds_a_reversal_line_that_lost_its_link(committed):
    ada, _ = reversed_transfer()
    runner.catch_up()
    StatementLine.objects.filter(account_id=ada, version=4).update(reverses_version=None)

    found = differences()["statement"]

    assert [d.key for d in found] == [(ada, 4)]
    assert verify_command_exit_code() != 0
    StatementLine.objects.filter(account_id=ada, version=4).update(reverses_version=3)  # leave it clean
