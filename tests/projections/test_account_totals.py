"""The bank's totals per currency (projections.models.AccountTotals), which the account summary's
projector moves in the statement that writes the accounts' rows: they stay the sums of those rows
through every kind of change, applied event by event or in one span, verify_projections finds a
totals row that is not, and the dashboard and the accounts list read them."""

from __future__ import annotations

from collections import Counter
from uuid import UUID

import pytest
from django.db import connection
from django.test import Client

from ledger import store
from ledger.domain.commands import CloseAccount, Deposit, FreezeAccount, Transfer, UnfreezeAccount, Withdraw
from ledger.execute import execute
from ledger.reversals import find_movement, reverse
from ledger.roles import Role
from projections import queries, runner
from projections.models import AccountSummary
from projections.projectors import PROJECTORS
from tests.projections.helpers import verify_command_exit_code
from tests.screens.helpers import make_user
from tests.write.helpers import open_account


def totals() -> dict[str, tuple[int, int, int, int, int]]:
    return {t.currency: (t.accounts, t.open, t.frozen, t.closed, t.balance) for t in queries.totals_by_currency()}


def summed_from_rows() -> dict[str, tuple[int, int, int, int, int]]:
    """The same figures added up from every account's row, as the dashboard once read them."""
    sums: dict[str, Counter] = {}
    for currency, status, balance in AccountSummary.objects.values_list("currency", "status", "balance"):
        counted = sums.setdefault(currency, Counter())
        counted["accounts"] += 1
        counted[status] += 1
        counted["balance"] += balance
    return {c: (s["accounts"], s["open"], s["frozen"], s["closed"], s["balance"]) for c, s in sums.items()}


def moved(before: dict, after: dict) -> dict[str, tuple[int, ...]]:
    return {
        c: d for c in after if any(d := tuple(a - b for a, b in zip(after[c], before.get(c, (0,) * 5), strict=True)))
    }


def a_day_at_the_bank(catch_up_after_each: bool) -> None:
    """Every change an account's totals can see: opening, money in and out, a transfer, a reversal,
    freezing and unfreezing, closing an open account and a frozen one."""
    step = runner.catch_up if catch_up_after_each else (lambda: None)
    ada, bob = open_account(balance=10_000, owner="Ada"), open_account(owner="Bob")
    step()
    yen = open_account(currency="JPY", balance=500, owner="Yoshi")
    idle = open_account(owner="Idle")
    step()
    execute(Withdraw(account_id=ada, amount=2_500, currency="EUR"), actor="teller")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=1_000, currency="EUR"), actor="teller")
    step()
    execute(Deposit(account_id=bob, amount=77, currency="EUR"), actor="teller")
    movement = find_movement(account_id=bob, position=store.read_stream(bob)[-1].position)
    assert movement is not None
    reverse(movement, account_id=bob, reason="Keyed in twice", actor="supervisor")  # bob's 77 back out
    step()
    execute(FreezeAccount(account_id=bob, reason="check"), actor="supervisor")
    step()
    execute(UnfreezeAccount(account_id=bob, reason="checked"), actor="supervisor")
    execute(FreezeAccount(account_id=idle, reason="dormant"), actor="supervisor")
    execute(CloseAccount(account_id=idle, reason="dormant"), actor="supervisor")  # frozen, then closed
    step()
    execute(Withdraw(account_id=yen, amount=500, currency="JPY"), actor="teller")
    execute(CloseAccount(account_id=yen, reason="moved away"), actor="supervisor")  # open, then closed
    runner.catch_up()


@pytest.mark.parametrize("catch_up_after_each", [True, False], ids=["span by span", "one span"])
def test_the_totals_stay_the_sums_of_the_accounts_through_every_kind_of_change(committed, catch_up_after_each):
    runner.catch_up()
    before = totals()
    a_day_at_the_bank(catch_up_after_each)
    # EUR: three accounts opened (ada, bob, idle), one closed from frozen; 10,000 - 2,500 in, the
    # transfer and the reversed deposit moving nothing in total. JPY: one opened and closed, 0 held.
    assert moved(before, totals()) == {"EUR": (3, 2, 0, 1, 7_500), "JPY": (1, 0, 0, 1, 0)}
    assert totals() == summed_from_rows()
    assert PROJECTORS["account_summary"].totals_differences("projections_accountsummary") == []


def test_verify_names_a_totals_row_that_is_not_the_sum_of_the_accounts(committed):
    open_account(currency="GBP", balance=300, owner="Gwen")
    runner.catch_up()
    assert verify_command_exit_code() == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE projections_accounttotals SET balance = balance + 1, frozen = frozen + 2 WHERE currency = 'GBP'"
        )
    try:
        [(currency, expected, actual)] = PROJECTORS["account_summary"].totals_differences("projections_accountsummary")
        assert currency == "GBP" and expected and actual
        assert actual[4] == expected[4] + 1 and actual[2] == expected[2] + 2
        assert verify_command_exit_code() != 0
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE projections_accounttotals SET balance = balance - 1, frozen = frozen - 2 WHERE currency = 'GBP'"
            )
    assert verify_command_exit_code() == 0


def test_the_dashboard_and_the_accounts_list_count_from_the_totals(committed):
    frozen_id: UUID = open_account(currency="USD", owner="Frieda Frost")
    execute(FreezeAccount(account_id=frozen_id, reason="check"), actor="supervisor")
    runner.catch_up()
    client = Client()
    client.force_login(make_user("totals-teller", Role.TELLER))
    usd = totals()["USD"]
    dashboard = client.get("/").content.decode()
    assert f"{usd[0]} account" in dashboard and f"{usd[2]} frozen" in dashboard
    for filters, expected in [
        ({}, AccountSummary.objects.count()),
        ({"status": "frozen"}, AccountSummary.objects.filter(status="frozen").count()),
        (
            {"status": "frozen", "currency": "USD"},
            AccountSummary.objects.filter(status="frozen", currency="USD").count(),
        ),
        ({"currency": "USD"}, AccountSummary.objects.filter(currency="USD").count()),
        ({"status": "nonesuch"}, 0),
        ({"currency": "XXX"}, 0),
        ({"q": "Frieda Fro"}, 1),  # a search counts its matches
    ]:
        assert queries.accounts_search(**filters).paginator.count == expected, filters
        assert client.get("/accounts/", filters).status_code == 200


def test_a_search_counts_its_matches_only_as_far_as_it_lists_them(committed, monkeypatch):
    monkeypatch.setattr(queries, "SEARCH_LISTED", 3)
    for i in range(3):
        open_account(owner=f"Listed Quincey {i}")
    runner.catch_up()
    client = Client()
    client.force_login(make_user("search-teller", Role.TELLER))
    three = client.get("/accounts/", {"q": "listed quincey"}).content.decode()
    assert queries.accounts_search(q="listed quincey").paginator.count == 3
    assert 'data-testid="more-than"' not in three and three.count('data-testid="row-number"') == 3
    open_account(owner="Listed Quincey 3")
    runner.catch_up()
    page = queries.accounts_search(q="listed quincey")
    assert page.paginator.count == 3 and page.paginator.more_than == 3  # type: ignore[attr-defined]
    four = client.get("/accounts/", {"q": "listed quincey"}).content.decode()
    assert "More than 3 accounts match: the first 3 are listed." in four
    assert four.count('data-testid="row-number"') == 3
