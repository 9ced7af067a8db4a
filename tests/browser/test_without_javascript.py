"""Every core task with JavaScript off: plain links to each task page, plain POSTs, a redirect to the
account page, which shows the result. What the README promises for a browser without scripts."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from ledger.execute import load_account
from ledger.roles import Role
from tests.write.helpers import open_account


def balance(page):
    return page.locator("[data-testid=balance]")


def status(page):
    return page.locator("[data-testid=account-status]")


def do_task(page, task: str, **fields: str) -> None:
    """Follow the task's link, fill the form and post it, as a browser without scripts does."""
    page.click(f"a[data-task={task}]")
    page.wait_for_url(re.compile(rf"/tasks/{task}/$"))
    for name, value in fields.items():
        page.fill(f"#id_{name}", value)
    with page.expect_navigation():
        page.click("#task-form button[type=submit]")
    if task == "transfer":  # every transfer is confirmed on a page of its own first
        with page.expect_navigation():
            page.click("[data-testid=confirm-button]")


def test_a_teller_opens_an_account_and_moves_money_with_javascript_off(login, live_server_url):
    target = open_account(owner="Nojs Target")
    page = login(Role.TELLER, javascript=False)

    page.goto(f"{live_server_url}/accounts/")
    page.click("text=Open an account")
    page.fill("#id_owner", "Nojs Owner")
    page.select_option("#id_currency", "EUR")
    with page.expect_navigation():
        page.click("#task-form button[type=submit]")
    page.wait_for_url(re.compile(r"/accounts/[0-9a-f-]{36}/\?after="))
    expect(page.locator("h1")).to_have_text("Nojs Owner")
    expect(balance(page)).to_have_text("0.00 EUR")

    do_task(page, "deposit", amount="100.00", memo="Cash")
    expect(balance(page)).to_have_text("100.00 EUR")
    do_task(page, "withdraw", amount="30.00")
    expect(balance(page)).to_have_text("70.00 EUR")
    do_task(page, "transfer", to_account=str(target), amount="20.00")
    expect(balance(page)).to_have_text("50.00 EUR")
    expect(page.locator("#statement tbody tr").first).to_contain_text("Nojs Target")
    assert load_account(target).balance == 2_000


def test_a_supervisor_freezes_unfreezes_and_closes_with_javascript_off(login, live_server_url):
    account = open_account(balance=0)
    page = login(Role.SUPERVISOR, javascript=False)
    page.goto(f"{live_server_url}/accounts/{account}/")

    do_task(page, "freeze", reason="Card reported stolen")
    expect(status(page)).to_have_text("frozen")
    do_task(page, "unfreeze", reason="New card issued")
    expect(status(page)).to_have_text("open")
    do_task(page, "close", reason="Customer moved abroad")
    expect(status(page)).to_have_text("closed")
    assert load_account(account).status.value == "closed"


def test_a_refused_task_shows_its_reason_with_javascript_off(login, live_server_url):
    account = open_account(balance=1_000)
    page = login(Role.TELLER, javascript=False)
    page.goto(f"{live_server_url}/accounts/{account}/")

    page.click("a[data-task=withdraw]")
    page.fill("#id_amount", "10.01")
    with page.expect_navigation():
        page.click("#task-form button[type=submit]")

    expect(page.locator("#task-form .field-error")).to_contain_text("Insufficient funds")
    assert load_account(account).balance == 1_000
