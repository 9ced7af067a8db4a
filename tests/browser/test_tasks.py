"""One browser test per task, as tellers and supervisors do them, in headless Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ledger.domain.commands import Deposit
from ledger.execute import execute, load_account
from ledger.roles import Role
from tests.browser.helpers import screenshot
from tests.write.helpers import event_count, open_account


def open_task(page, task: str):
    page.click(f"a[data-task={task}]")
    page.wait_for_selector("#task-form")


def submit(page):
    """Click the form's button and wait for the server's answer to that POST."""
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")


def balance(page):
    return page.locator("[data-testid=balance]")


def test_a_teller_opens_an_account(login, live_server_url):
    page = login(Role.TELLER)
    page.click("text=Open an account")
    page.fill("#id_owner", "Grace Hopper")
    page.select_option("#id_currency", "USD")
    page.fill("#id_overdraft_limit", "250")
    screenshot(page, "open-account-form")
    submit(page)

    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}/"))
    expect(page.locator("h1")).to_have_text("Grace Hopper")
    expect(balance(page)).to_have_text("0.00 USD")
    expect(page.locator("[data-testid=available]")).to_have_text("250.00 USD")
    screenshot(page, "account-page-new")


def test_a_deposit_updates_the_balance_and_the_statement(login, live_server_url):
    account = open_account(balance=10_000)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")

    open_task(page, "deposit")
    page.fill("#id_amount", "1,234.56")
    page.fill("#id_memo", "Cash at the counter")
    submit(page)

    expect(balance(page)).to_have_text("1,334.56 EUR")
    expect(page.locator("#statement tbody tr").first).to_contain_text("Cash at the counter")
    expect(page.locator("#task-panel")).to_be_empty()
    screenshot(page, "account-page-after-deposit")


def test_a_withdrawal_beyond_the_limit_is_refused_and_changes_nothing(login, live_server_url):
    account = open_account(balance=5_000)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")
    before = event_count()

    open_task(page, "withdraw")
    page.fill("#id_amount", "50.01")
    submit(page)

    expect(page.locator(".field-error")).to_contain_text("Insufficient funds: at most 50.00 EUR is available")
    screenshot(page, "withdraw-refused")
    assert event_count() == before
    expect(balance(page)).to_have_text("50.00 EUR")


def test_bad_amounts_get_a_message_next_to_the_field(login, live_server_url):
    account = open_account(balance=5_000)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")
    before = event_count()
    open_task(page, "deposit")

    for typed, message in [
        ("", "Enter an amount"),
        ("0", "greater than zero"),
        ("-3", "greater than zero"),
        ("1.234", "at most 2 decimal places"),
        ("1e5", "plain number"),
        ("1" + "0" * 30, "larger than"),
    ]:
        page.fill("#id_amount", typed)
        submit(page)
        expect(page.locator("#task-form .field-error")).to_contain_text(message)

    assert event_count() == before


def test_a_transfer_moves_money_between_two_accounts(login, live_server_url):
    source, target = open_account(balance=20_000, owner="Ada Source"), open_account(owner="Bob Target")
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{source}/")

    open_task(page, "transfer")
    page.fill("#id_to_account", str(target))
    page.fill("#id_amount", "75.25")
    submit(page)
    expect(page.locator("#task-form")).to_contain_text("Confirm the transfer")  # both accounts, the amount
    expect(page.locator("[data-testid=confirm-to]")).to_contain_text("Bob Target")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("[data-testid=confirm-button]")

    expect(balance(page)).to_have_text("124.75 EUR")
    expect(page.locator("#statement tbody tr").first).to_contain_text("Bob Target")
    page.click("#statement tbody tr >> nth=0 >> a")
    expect(balance(page)).to_have_text("75.25 EUR")


def test_a_frozen_account_refuses_a_withdrawal_until_unfrozen(login, live_server_url):
    account = open_account(balance=10_000)
    page = login(Role.SUPERVISOR)
    page.goto(f"{live_server_url}/accounts/{account}/")

    open_task(page, "freeze")
    page.fill("#id_reason", "Card reported stolen")
    submit(page)
    expect(page.locator("[data-testid=account-status]")).to_have_text("frozen")
    expect(page.locator("a[data-task=withdraw]")).to_have_count(0)

    before = event_count()
    page.goto(f"{live_server_url}/accounts/{account}/tasks/withdraw/")  # straight to the task, anyway
    expect(page.locator("#task-form")).to_contain_text("not possible while the account is frozen")
    expect(page.locator("#id_amount")).to_have_count(0)
    assert event_count() == before

    page.goto(f"{live_server_url}/accounts/{account}/")
    open_task(page, "unfreeze")
    submit(page)
    expect(page.locator("[data-testid=account-status]")).to_have_text("open")
    expect(page.locator("a[data-task=withdraw]")).to_have_count(1)


def test_a_supervisor_closes_an_emptied_account(login, live_server_url):
    account = open_account(balance=1_000)
    page = login(Role.SUPERVISOR)
    page.goto(f"{live_server_url}/accounts/{account}/")

    open_task(page, "close")
    submit(page)
    expect(page.locator("#task-form")).to_contain_text("zero balance")

    page.click("#task-form a:text('Cancel')")
    open_task(page, "withdraw")
    page.fill("#id_amount", "10.00")
    submit(page)
    expect(balance(page)).to_have_text("0.00 EUR")
    open_task(page, "close")
    page.fill("#id_reason", "Customer moved abroad")
    submit(page)

    expect(page.locator("[data-testid=account-status]")).to_have_text("closed")
    expect(page.locator(".tasks")).to_contain_text("This account is closed")


def test_a_teller_cannot_freeze(login, live_server_url):
    account = open_account(balance=100)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")
    expect(page.locator("a[data-task=deposit]")).to_have_count(1)
    expect(page.locator("a[data-task=freeze]")).to_have_count(0)
    before = event_count()

    response = page.goto(f"{live_server_url}/accounts/{account}/tasks/freeze/")

    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Not allowed")
    assert event_count() == before and load_account(account).status.value == "open"


def test_a_double_clicked_submit_deposits_once(login, live_server_url):
    account = open_account(balance=100)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")
    open_task(page, "deposit")
    page.fill("#id_amount", "5.00")

    page.dblclick("#task-form button[type=submit]")

    expect(balance(page)).to_have_text("6.00 EUR")
    page.wait_for_timeout(500)
    assert load_account(account).balance == 600


def test_the_accounts_list_shows_another_users_change_without_a_reload(login, live_server_url):
    account = open_account(balance=100, owner="Live Update Person")
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/?q=Live+Update+Person")
    row = page.locator("#results tbody tr", has_text="Live Update Person")
    expect(row.locator("[data-testid=row-balance]")).to_have_text("1.00 EUR")

    execute(Deposit(account_id=account, amount=4_200, currency="EUR"), actor="another-teller")

    expect(row.locator("[data-testid=row-balance]")).to_have_text("43.00 EUR", timeout=12_000)
    screenshot(page, "accounts-list")


def test_the_as_of_view_shows_the_account_as_it_was(login, live_server_url):
    account = open_account(balance=1_000)
    for amount in (2_000, 3_000):
        execute(Deposit(account_id=account, amount=amount, currency="EUR"), actor="teller")
    page = login(Role.AUDITOR)
    page.goto(f"{live_server_url}/accounts/{account}/as-of/")

    page.select_option("#version", "2")  # right after the second event: the first deposit
    page.click("text=Show")

    expect(page.locator("[data-testid=historical-banner]")).to_contain_text("Historical view")
    expect(page.locator("[data-testid=asof-balance]")).to_have_text("10.00 EUR")
    screenshot(page, "as-of")
    page.goto(f"{live_server_url}/accounts/{account}/")
    expect(balance(page)).to_have_text("60.00 EUR")


def test_a_deposit_works_with_javascript_off(login, live_server_url):
    account = open_account(balance=100)
    page = login(Role.TELLER, javascript=False)
    page.goto(f"{live_server_url}/accounts/{account}/")

    page.click("a[data-task=deposit]")  # a plain link to the task page
    page.fill("#id_amount", "9.00")
    page.click("#task-form button[type=submit]")  # a plain POST, then a redirect

    expect(balance(page)).to_have_text("10.00 EUR")


def test_the_main_screens_look_finished(login, live_server_url):
    open_account(balance=123_456)
    page = login(Role.SUPERVISOR)
    for name, path in [("dashboard", "/"), ("accounts", "/accounts/"), ("read-side", "/projections/")]:
        page.goto(f"{live_server_url}{path}")
        expect(page.locator("h1")).to_be_visible()
        screenshot(page, name)
