"""A supervisor reverses a transfer in headless Chromium, and both statements show it; the
confirmation page fits a 390 px phone."""

from __future__ import annotations

from playwright.sync_api import expect

from ledger.domain.commands import Transfer
from ledger.execute import execute, load_account
from ledger.roles import Role
from tests.browser.helpers import screenshot
from tests.write.helpers import open_account


def test_a_supervisor_reverses_a_transfer_and_both_statements_show_it(login, live_server_url):
    ada, bob = open_account(balance=10_000, owner="Ada Lovelace"), open_account(owner="Bob Babbage")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=2_500, currency="EUR", memo="Rent"), actor="teller")
    page = login(Role.SUPERVISOR)
    page.goto(f"{live_server_url}/accounts/{bob}/")
    line = page.locator("#statement tbody tr", has_text="Rent")
    expect(line).to_contain_text("Transfer from")

    line.locator("[data-testid=reverse]").click()

    sides = page.locator("[data-testid=reversal-sides]")
    expect(sides).to_contain_text("Ada Lovelace")
    expect(sides).to_contain_text("Bob Babbage")
    expect(sides).to_contain_text("takes 25.00 EUR out")
    page.fill("#id_reason", "Paid to the wrong account")
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out on a phone
    screenshot(page, "reverse-transfer-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#reverse-form button[type=submit]")

    expect(page.locator("[data-testid=message]")).to_contain_text("Reversed on both accounts: 25.00 EUR moved back")
    expect(page.locator("[data-testid=balance]")).to_have_text("0.00 EUR")
    statement = page.locator("#statement tbody")
    expect(statement.locator("tr").first).to_contain_text("Reversal of a transfer from")
    expect(statement.locator("tr").first).to_contain_text("Paid to the wrong account")
    expect(statement.locator("[data-testid=reversed-by]")).to_have_count(1)
    expect(statement.locator("[data-testid=reverse]")).to_have_count(0)
    screenshot(page, "reversed-transfer-receiver")

    page.goto(f"{live_server_url}/accounts/{ada}/")
    expect(page.locator("[data-testid=balance]")).to_have_text("100.00 EUR")
    first = page.locator("#statement tbody tr").first
    expect(first).to_contain_text("Reversal of a transfer to")
    expect(first).to_contain_text("Bob Babbage")
    expect(page.locator("#statement [data-testid=reversed-by]")).to_have_count(1)
    screenshot(page, "reversed-transfer-sender")
    assert (load_account(ada).balance, load_account(bob).balance) == (10_000, 0)
