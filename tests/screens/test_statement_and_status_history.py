"""The account page's statement for a period (its opening and closing balances are the account's
balances as of the period's edges) and its status history (who froze or closed it, when, why)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.commands import CloseAccount, Deposit, FreezeAccount, OpenAccount, UnfreezeAccount, Withdraw
from ledger.execute import execute
from ledger.history import account_history
from ledger.roles import Role
from projections import runner
from projections.statements import Period, period_from, statement_for_period
from tests.write.helpers import event_count

pytestmark = pytest.mark.usefixtures("committed")

DAYS = [datetime(2024, 3, d, 12, tzinfo=UTC) for d in (1, 5, 10, 15, 20)]


@pytest.fixture
def supervisor(committed, client_for):
    return client_for(Role.SUPERVISOR)


@pytest.fixture(scope="module")
def dated(django_db_setup, django_db_blocker):
    """An account with a movement on each of five days of March 2024."""
    with django_db_blocker.unblock():
        account = uuid4()
        execute(OpenAccount(account_id=account, owner="Dana Dated", currency="EUR"), actor="t", recorded_at=DAYS[0])
        for i, at in enumerate(DAYS):
            kind, amount = (Deposit, 1_000 * (i + 1)) if i % 2 == 0 else (Withdraw, 100 * i)
            execute(kind(account_id=account, amount=amount, currency="EUR"), actor="teller", recorded_at=at)
        runner.catch_up()
    return account


def as_of(account, moment) -> int:
    """The account's balance as of `moment`, folded by the as-of history."""
    states = [s.state for s in account_history(account) if s.event.recorded_at < moment]
    assert all(states), "the history folds"
    return states[-1].balance if states and states[-1] else 0


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2024, 3, 5), date(2024, 3, 15)), (date(2024, 3, 6), date(2024, 3, 9)), (None, date(2024, 3, 10))],
)
def test_a_periods_opening_and_closing_balances_are_the_as_of_balances_at_its_edges(dated, start, end):
    found = statement_for_period(account_id=dated, currency="EUR", period=Period(start, end))

    begins, ends = Period(start, end).bounds()
    assert found.opening == (as_of(dated, begins) if begins else 0)
    assert found.closing == as_of(dated, ends)
    assert found.opening + found.money_in + found.money_out == found.closing
    lines = list(found.lines.object_list)
    assert all((begins is None or line.recorded_at >= begins) and line.recorded_at < ends for line in lines)


def test_the_account_page_shows_the_period_and_its_balances(supervisor, dated):
    page = supervisor.get(f"/accounts/{dated}/", {"from": "2024-03-05", "to": "2024-03-15"}).content.decode()

    assert 'data-testid="opening-balance">10.00 EUR' in page  # after the 10.00 deposit of 1 March
    assert 'data-testid="closing-balance">36.00 EUR' in page  # + 30.00 on the 10th, - 1.00 and - 3.00
    assert 'data-testid="closing-balance">' in page and "Whole statement" in page
    assert "from 5 Mar 2024" in page


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(start=st.text(max_size=12), end=st.text(max_size=12))
def test_any_period_text_is_answered_never_a_500(supervisor, dated, start, end):
    before = event_count()

    response = supervisor.get(f"/accounts/{dated}/", {"from": start, "to": end})

    assert response.status_code == 200
    period, error = period_from(start, end)
    assert bool(error) or period.whole or "Opening balance" in response.content.decode()
    assert event_count() == before


def test_a_period_that_ends_before_it_begins_says_so():
    period, error = period_from("2024-03-10", "2024-03-01")

    assert period.whole and "ends before it begins" in error
    assert period_from("9999-12-31", "")[1] and period_from("", "0001-01-01")[1]  # days no statement has


def test_the_status_history_says_who_froze_and_closed_the_account_when_and_why(supervisor):
    account = uuid4()
    execute(OpenAccount(account_id=account, owner="Sam Status", currency="EUR"), actor="teller")
    execute(FreezeAccount(account_id=account, reason="Card reported stolen"), actor="sue")
    execute(UnfreezeAccount(account_id=account), actor="sue")
    execute(CloseAccount(account_id=account, reason="Customer moved abroad"), actor="sam-supervisor")
    runner.catch_up()

    page = supervisor.get(f"/accounts/{account}/").content.decode()

    history = page.split('data-testid="status-history"')[1].split("<tbody>")[1]
    assert history.count('data-testid="status-change"') == 4
    assert history.index("closed") < history.index("unfrozen") < history.index("frozen") < history.index("opened")
    assert "Card reported stolen" in history and "Customer moved abroad" in history and "sam-supervisor" in history
    assert f"{datetime.now(UTC):%Y}" in history and "UTC" in history  # when, with its time zone
