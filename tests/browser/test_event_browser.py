"""The auditors' and operators' admin pages in Chromium: a range of days picked in the event browser's
filter panel (with JavaScript and without), and the projection status page refreshing its figures by
itself, without reloading, and holding still while the operator has rows selected for an action."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.models import Event
from ledger.roles import Role
from projections.models import ProjectionStatus
from scripts.processes import wait_until
from tests.browser.conftest import PASSWORD
from tests.browser.helpers import screenshot
from tests.write.helpers import open_account

STATUS_PAGE = "/admin/projections/projectionstatus/"


def history_of(clerk: str) -> dict[str, int]:
    """Deposits by `clerk` recorded on 1, 2, 3 and 4 March 2026 (imported history): day -> position."""
    account = open_account(owner="Ada Range", balance=0)
    for day in (1, 2, 3, 4):
        at = datetime(2026, 3, day, 12, 0, tzinfo=UTC)
        execute(Deposit(account_id=account, amount=1_234_56, currency="EUR"), actor=clerk, recorded_at=at)
    deposits = Event.objects.filter(stream_id=account, type="MoneyDeposited").order_by("position")
    return {f"2026-03-0{n}": event.pk for n, event in enumerate(deposits, start=1)}


def positions_listed(page) -> list[int]:
    return [int(text) for text in page.locator("#result_list tbody th.field-position a").all_inner_texts()]


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_an_auditor_picks_a_range_of_days_in_the_filter_panel(login, live_server_url, javascript):
    clerk = f"clerk-{uuid4().hex[:8]}"
    recorded = history_of(clerk)
    page = login(Role.AUDITOR, javascript=javascript)
    page.goto(f"{live_server_url}/admin/ledger/event/?actor={clerk}")
    assert positions_listed(page) == sorted(recorded.values(), reverse=True)

    page.fill("#recorded-from", "2026-03-02")
    page.fill("#recorded-to", "2026-03-03")
    page.click("#recorded-range button[type=submit]")

    page.wait_for_url(lambda url: "recorded_to=2026-03-03" in url)
    assert f"actor={clerk}" in page.url  # the form kept the other filter
    assert positions_listed(page) == [recorded["2026-03-03"], recorded["2026-03-02"]]
    expect(page.locator("#recorded-from")).to_have_value("2026-03-02")
    expect(page.locator("#result_list tbody td.field-amount").first).to_have_text("1,234.56 EUR")
    expect(page.locator("#result_list tbody td.field-owner").first).to_have_text("Ada Range")
    screenshot(page, f"event-browser-range-of-days-{'js' if javascript else 'no-js'}")


@pytest.fixture
def operator(browser, live_server_url, committed):
    """A page signed in to the admin as a superuser (an operator: the rows can be selected for actions)."""
    user, _ = User.objects.get_or_create(username="browser-operator")
    user.is_superuser = True
    user.set_password(PASSWORD)
    user.save()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(f"{live_server_url}/admin/login/?next={STATUS_PAGE}")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server_url}{STATUS_PAGE}")
    yield page
    context.close()


def applied_by_statement() -> int:
    return ProjectionStatus.objects.get(name="statement").events_applied


def deposit_and_wait_until_applied(account) -> int:
    """A deposit, and the worker's catching up with it; the statement's count of events applied after it."""
    before = applied_by_statement()
    execute(Deposit(account_id=account, amount=100, currency="EUR"), actor="teller")
    return wait_until(lambda: applied_by_statement() > before and applied_by_statement(), timeout=20)


def shows_the_latest(cell) -> bool:
    """The cell shows the statement's count of events applied as the database has it now (the worker
    may still be applying other tests' events, so the figure is read again each time)."""
    return cell.inner_text() == f"{applied_by_statement():,}"


def test_the_projection_status_refreshes_itself_and_holds_still_while_rows_are_selected(operator):
    account = open_account(balance=100)
    page = operator
    page.evaluate("window.notReloaded = true")
    cell = page.locator("#live-statement-applied")
    shown = cell.inner_text()

    deposit_and_wait_until_applied(account)
    wait_until(lambda: cell.inner_text() != shown and shows_the_latest(cell), timeout=30)  # polled in
    assert page.evaluate("window.notReloaded") is True

    page.check("input.action-select[value=statement]")
    expect(page.locator("span.action-counter")).to_contain_text("1 of")  # the admin's script still works
    held = cell.inner_text()
    deposit_and_wait_until_applied(account)
    time.sleep(7)  # more than two polls' time

    assert cell.inner_text() == held
    expect(page.locator("input.action-select[value=statement]")).to_be_checked()
    screenshot(page, "projection-status-held-while-selected")

    page.uncheck("input.action-select[value=statement]")
    wait_until(lambda: cell.inner_text() != held and shows_the_latest(cell), timeout=30)
    assert page.evaluate("window.notReloaded") is True
    screenshot(page, "projection-status-refreshed")
