"""The as-of view by moment: the account as it was at a date and time, folded from its events,
whatever zone the moment is written in."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from ledger.domain.commands import Deposit, FreezeAccount, OpenAccount
from ledger.execute import execute
from ledger.roles import Role

OPENED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
FIRST_DEPOSIT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
SECOND_DEPOSIT = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)
FROZEN = datetime(2026, 3, 9, 8, 15, tzinfo=UTC)


@pytest.fixture
def account(db) -> UUID:
    """An account with a history at known moments (recorded_at, as an import of history sets it)."""
    account_id = uuid4()
    execute(OpenAccount(account_id=account_id, owner="Ada As-Of", currency="EUR"), actor="teller", recorded_at=OPENED)
    execute(Deposit(account_id=account_id, amount=10_000, currency="EUR"), actor="teller", recorded_at=FIRST_DEPOSIT)
    execute(Deposit(account_id=account_id, amount=2_550, currency="EUR"), actor="teller", recorded_at=SECOND_DEPOSIT)
    execute(FreezeAccount(account_id=account_id, reason="Card reported stolen"), actor="supervisor", recorded_at=FROZEN)
    return account_id


def as_of(client, account: UUID, at: str) -> str:
    response = client.get(f"/accounts/{account}/as-of/", {"at": at})
    assert response.status_code == 200
    return response.content.decode()


def figure(page: str, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]+)<', page)
    assert found, f"no {name} on the page"
    return found.group(1)


@pytest.mark.parametrize(
    ("at", "balance", "status", "events"),
    [
        ("2026-03-02T11:59:59+00:00", "0.00 EUR", "open", 1),  # opened, nothing deposited yet
        ("2026-03-02T12:00:00+00:00", "100.00 EUR", "open", 2),  # the very instant of the deposit counts
        ("2026-03-04T00:00", "100.00 EUR", "open", 2),  # naive: the site's zone (UTC)
        ("2026-03-05T18:30:00+02:00", "125.50 EUR", "open", 3),  # 16:30 UTC written in +02:00
        ("2026-03-05T11:29:59-05:00", "100.00 EUR", "open", 2),  # one second before it, in -05:00
        ("2026-03-09T08:15:00Z", "125.50 EUR", "frozen", 4),
        ("2027-01-01T00:00", "125.50 EUR", "frozen", 4),
    ],
)
def test_the_account_is_shown_as_it_was_at_a_moment(client_for, account, at, balance, status, events):
    page = as_of(client_for(Role.AUDITOR), account, at)

    assert "Historical view." in page
    assert figure(page, "asof-balance") == balance
    assert figure(page, "asof-status") == status
    assert page.count('<td class="mono">') == events  # the timeline stops at the moment


def test_a_moment_before_the_account_was_opened_says_so(client_for, account):
    page = as_of(client_for(Role.TELLER), account, "2026-03-01T08:59:59+00:00")

    assert "did not exist yet at that moment" in page and "1 Mar 2026, 09:00:00 UTC" in page
    assert 'data-testid="asof-balance"' not in page


def test_a_moment_that_is_not_a_date_gets_the_pages_message_and_the_whole_history(client_for, account):
    page = as_of(client_for(Role.TELLER), account, "next tuesday")

    assert "Enter the moment as a date and time" in page
    assert figure(page, "asof-balance") == "125.50 EUR"
