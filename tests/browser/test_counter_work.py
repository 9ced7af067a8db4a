"""The work around the tasks, in headless Chromium: a teller picks a recipient by number and sees
who it is before submitting, confirms, is told what was recorded and opens the printable receipt;
a supervisor freezes with a reason and the status history shows it; a statement for a period with
its opening and closing balances; the dashboard for the counter. Screenshots at desktop and 390 px."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from ledger.account_numbers import number_of
from ledger.domain import account_number
from ledger.domain.commands import Deposit, OpenAccount
from ledger.execute import execute
from ledger.roles import Role
from tests.browser.helpers import layout_problems, screenshot
from tests.write.helpers import open_account

PHONE = {"width": 390, "height": 844}


def test_a_teller_transfers_by_number_confirms_and_prints_the_receipt(login, live_server_url):
    source, target = open_account(owner="Cora Counter", balance=50_000), open_account(owner="Dev Desk")
    number = account_number.grouped(number_of(target) or "")
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{source}/")

    page.click("a[data-task=transfer]")
    page.wait_for_selector("#task-form")
    page.fill("#id_to_account", number.lower())  # as a person might type it
    expect(page.locator("[data-testid=recipient]")).to_contain_text("Dev Desk")  # before submitting
    page.fill("#id_amount", "120.00")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")
    expect(page.locator("[data-testid=confirm-from]")).to_contain_text("Cora Counter")
    expect(page.locator("[data-testid=confirm-to]")).to_contain_text(number)
    expect(page.locator("[data-testid=confirm-amount]")).to_have_text("120.00 EUR")
    screenshot(page, "transfer-confirmation")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("[data-testid=confirm-button]")

    message = page.locator("[data-testid=message]")
    expect(message).to_contain_text("Transfer of 120.00 EUR from Cora Counter's account recorded")
    message.locator("a", has_text="Receipt").click()
    expect(page.locator("h1")).to_have_text("Receipt")
    expect(page.locator("[data-testid=receipt-balance]").first).to_contain_text("380.00 EUR")
    expect(page.locator("[data-testid=receipt-who]")).to_contain_text("teller")
    screenshot(page, "receipt")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()  # printed: the receipt alone
    expect(page.locator("[data-testid=receipt-reference]")).to_be_visible()
    page.emulate_media(media="screen")
    page.set_viewport_size(PHONE)
    assert layout_problems(page) == []
    screenshot(page, "receipt-390px")


def test_a_frozen_recipient_is_a_warning_while_typing_and_on_the_confirmation(login, live_server_url):
    from ledger.domain.commands import FreezeAccount

    source, target = open_account(owner="Eve Sender", balance=5_000), open_account(owner="Finn Frozen")
    execute(FreezeAccount(account_id=target, reason="Identity check"), actor="supervisor")
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{source}/tasks/transfer/")

    page.fill("#id_to_account", number_of(target) or "")
    expect(page.locator("[data-testid=recipient-warning]")).to_contain_text("frozen")
    page.fill("#id_amount", "1.00")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")

    expect(page.locator("[data-testid=confirm-warning]")).to_contain_text("Finn Frozen's account is frozen")


def test_a_supervisor_freezes_with_a_reason_and_the_status_history_shows_it(login, live_server_url):
    account = open_account(owner="Gil History", balance=100)
    page = login(Role.SUPERVISOR)
    page.goto(f"{live_server_url}/accounts/{account}/")

    page.click("a[data-task=freeze]")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")
    expect(page.locator("#task-form")).to_contain_text("Say why the account is frozen")
    page.fill("#id_reason", "Card reported stolen")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")

    history = page.locator("[data-testid=status-history]")
    expect(history.locator("[data-testid=status-change]").first).to_contain_text("Card reported stolen")
    expect(history.locator("[data-testid=status-change]").first).to_contain_text("supervisor")
    expect(page.locator("a[data-task=close]")).to_have_text("Close account")


def test_a_statement_for_a_period_shows_its_opening_and_closing_balances(login, live_server_url):
    from uuid import uuid4

    account = uuid4()
    execute(
        OpenAccount(account_id=account, owner="Hal Period", currency="EUR"),
        actor="teller",
        recorded_at=datetime(2025, 1, 2, 9, tzinfo=UTC),
    )
    for day, amount in ((2, 10_000), (10, 2_500), (20, 4_000)):
        execute(
            Deposit(account_id=account, amount=amount, currency="EUR"),
            actor="teller",
            recorded_at=datetime(2025, 1, day, 10, tzinfo=UTC),
        )
    page = login(Role.AUDITOR)
    page.goto(f"{live_server_url}/accounts/{account}/")

    page.fill("#period-from", "2025-01-05")
    page.fill("#period-to", "2025-01-15")
    page.click("#statement form.period button[type=submit]")

    expect(page.locator("[data-testid=opening-balance]")).to_have_text("100.00 EUR")
    expect(page.locator("[data-testid=closing-balance]")).to_have_text("125.00 EUR")
    expect(page.locator("#statement tbody tr")).to_have_count(1)
    page.set_viewport_size(PHONE)
    assert layout_problems(page) == []
    screenshot(page, "statement-period-390px")


def test_the_dashboard_shows_today_the_latest_movements_and_a_readable_chart(login, live_server_url):
    account = open_account(owner="Ida Today", balance=4_200)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/")

    expect(page.locator("[data-testid=latest]")).to_contain_text("Ida Today", timeout=20_000)
    expect(page.locator("[data-testid=today]")).to_contain_text("EUR")
    expect(page.locator("[data-testid=freshness]")).to_contain_text("Figures")
    expect(page.locator("svg.chart text.tick").first).to_be_visible()  # a labelled axis
    page.click("#chart-figures summary")
    expect(page.locator("#chart-figures table tbody tr")).to_have_count(30)
    assert str(account)  # the account's movement is among the latest
    screenshot(page, "dashboard-counter")
