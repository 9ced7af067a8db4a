"""A standing order in the browser: a teller sets one up from the account page, and it pays three
weekly periods as the test clock moves (the beat's task run by the real Celery worker); the order's
page and both statements show each payment once, also at 390px. Read models verified."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from ledger import clock, standing_orders, store
from ledger.execute import load_account
from ledger.roles import Role
from projections.tasks import pay_standing_orders
from tests.browser.helpers import screenshot
from tests.browser.test_approvals import shared_clock  # noqa: F401 - the fixture, shared with the server
from tests.projections.helpers import differences
from tests.write.helpers import open_account


def payments_to(account_id) -> int:
    return sum(
        e.type == "TransferReceived" and e.data.get("memo", "").startswith("Weekly rent (due ")
        for e in store.read_stream(account_id)
    )


def test_a_standing_order_pays_three_periods(shared_clock, login, live_server_url):  # noqa: F811 - the fixture
    ada = open_account(balance=100_000, owner="Ada Orders")
    bob = open_account(owner="Bob Landlord")
    teller = login(Role.TELLER)
    teller.goto(f"{live_server_url}/accounts/{ada}/")
    teller.click("[data-testid=account-standing-orders] a")
    teller.click("[data-testid=set-up-standing-order]")
    teller.fill("#id_to_account", str(bob))
    teller.fill("#id_amount", "250.00")
    teller.select_option("#id_interval", "weekly")
    teller.fill("#id_memo", "Weekly rent")
    teller.click("#task-form button[type=submit]")

    order = teller.locator("[data-testid=standing-order]")
    expect(order).to_contain_text("250.00 EUR every week")
    expect(teller.locator("[data-testid=message]")).to_contain_text("Standing order set up")
    expect(order.locator("[data-testid=next-due]")).to_contain_text(f"{standing_orders.today():%-d %b %Y}")

    for week in range(3):  # each week the beat's task pays one period
        if week:
            clock.move(timedelta(weeks=1))
        pay_standing_orders.delay()  # what the beat sends every minute, to the same worker
        for _ in range(30):
            if payments_to(bob) == week + 1:
                break
            teller.wait_for_timeout(500)
        assert payments_to(bob) == week + 1

    teller.set_viewport_size({"width": 390, "height": 844})
    for _ in range(20):  # the read model follows the worker
        teller.reload()
        if "3" in order.locator("[data-testid=payments]").inner_text():
            break
        teller.wait_for_timeout(500)
    expect(order.locator("[data-testid=payments]")).to_contain_text("3, last")
    assert teller.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    screenshot(teller, "standing-order-390px")
    order.locator("h2 a").first.click()
    expect(teller.locator("[data-testid=period][data-outcome=paid]")).to_have_count(3)
    screenshot(teller, "standing-order-page-390px")

    teller.set_viewport_size({"width": 1280, "height": 900})
    for account, sign in ((ada, "−"), (bob, "+")):
        teller.goto(f"{live_server_url}/accounts/{account}/")
        lines = teller.locator("#statement tbody tr", has_text="Weekly rent")
        expect(lines).to_have_count(3)
        expect(lines.first).to_contain_text(f"{sign}250.00")
    assert (load_account(ada).balance, load_account(bob).balance) == (25_000, 75_000)
    assert all(not found for found in differences().values()), differences()
