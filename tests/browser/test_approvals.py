"""Four eyes in the browser: a teller's large withdrawal is sent for approval, the supervisor finds it
in the inbox (which refreshes itself) and approves or rejects it with a reason; a request nobody
decides expires by the test clock, through the Celery worker. Money conserved, read models verified."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from ledger import clock
from ledger.execute import load_account
from ledger.roles import Role
from projections.tasks import expire_approvals
from tests.browser.helpers import screenshot
from tests.projections.helpers import differences
from tests.write.helpers import open_account, request_approval


@pytest.fixture(scope="module")
def shared_clock(tmp_path_factory):
    """One test clock for this process and the server and worker it starts (they inherit the
    environment): requested before the servers, so they start with it."""
    from django.conf import settings

    path = tmp_path_factory.mktemp("clock") / "clock"
    path.write_text("0")
    os.environ["TALLY_TEST_CLOCK_FILE"] = str(path)
    previous, settings.TALLY_TEST_CLOCK_FILE = settings.TALLY_TEST_CLOCK_FILE, str(path)
    yield
    settings.TALLY_TEST_CLOCK_FILE = previous
    del os.environ["TALLY_TEST_CLOCK_FILE"]


def withdraw_large(page, live_server_url, account) -> None:
    page.goto(f"{live_server_url}/accounts/{account}/")
    page.click("a[data-task=withdraw]")
    page.wait_for_selector("#task-form")
    page.fill("#id_amount", "15,000.00")
    page.fill("#id_memo", "Car purchase")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("#task-form button[type=submit]")
    expect(page.locator("[data-testid=confirm-note]")).to_contain_text("sent to a supervisor")
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.click("[data-testid=confirm-button]")


def no_differences() -> None:
    assert all(not found for found in differences().values()), differences()


def test_a_large_withdrawal_is_approved_from_the_inbox(shared_clock, login, live_server_url):
    ada = open_account(balance=2_000_000, owner="Ada Approve")
    teller = login(Role.TELLER)
    withdraw_large(teller, live_server_url, ada)

    pending = teller.locator("[data-testid=pending-requests]")
    expect(pending).to_contain_text("Withdrawal of 15,000.00 EUR")
    expect(teller.locator("[data-testid=held]")).to_have_text("15,000.00 EUR")
    expect(teller.locator("[data-testid=balance]")).to_have_text("20,000.00 EUR")
    expect(teller.locator("[data-testid=available]")).to_have_text("5,000.00 EUR")
    screenshot(teller, "approval-sent")

    supervisor = login(Role.SUPERVISOR)
    supervisor.click("nav >> text=Approvals")
    row = supervisor.locator("[data-testid=pending-request]", has_text="Ada Approve")
    expect(row).to_contain_text("15,000.00 EUR")
    expect(row).to_contain_text("5,000.00 EUR")  # the available funds
    screenshot(supervisor, "approvals-inbox")
    row.locator("a", has_text="15,000.00 EUR").click()
    supervisor.fill("#id_approve-reason", "Customer called back, ID checked")
    supervisor.click("button[data-decision=approve]")

    expect(supervisor.locator("[data-testid=request-status]")).to_have_text(re.compile("approved · executed"))
    expect(supervisor.locator("[data-testid=history-event]")).to_have_count(6)
    screenshot(supervisor, "approval-executed")
    teller.goto(f"{live_server_url}/accounts/{ada}/")
    expect(teller.locator("[data-testid=balance]")).to_have_text("5,000.00 EUR")
    expect(teller.locator("[data-testid=pending-requests]")).to_have_count(0)
    assert (load_account(ada).balance, load_account(ada).held) == (500_000, 0)
    no_differences()


def test_a_rejected_request_gives_the_money_back_and_the_inbox_updates_itself(shared_clock, login, live_server_url):
    ada = open_account(balance=2_000_000, owner="Ada Reject")
    supervisor = login(Role.SUPERVISOR)
    supervisor.goto(f"{live_server_url}/approvals/")
    teller = login(Role.TELLER)
    withdraw_large(teller, live_server_url, ada)

    row = supervisor.locator("[data-testid=pending-request]", has_text="Ada Reject")
    expect(row).to_be_visible(timeout=15_000)  # the open inbox polled and found it
    row.locator("a", has_text="15,000.00 EUR").click()
    supervisor.click("button[data-decision=reject]")
    expect(supervisor.locator("#decide-reject")).to_contain_text("Say why")  # a reason is required
    supervisor.fill("#id_reject-reason", "No ID shown")
    supervisor.click("button[data-decision=reject]")

    expect(supervisor.locator("[data-testid=request-status]")).to_have_text(re.compile("rejected · released"))
    assert (load_account(ada).balance, load_account(ada).available) == (2_000_000, 2_000_000)
    no_differences()


def test_a_request_nobody_decides_expires_by_the_clock(shared_clock, login, live_server_url):
    ada = open_account(balance=2_000_000, owner="Ada Expire")
    request_id, _ = request_approval(ada, 1_500_000, actor="browser-teller")
    supervisor = login(Role.SUPERVISOR)
    supervisor.goto(f"{live_server_url}/approvals/{request_id}/")
    expect(supervisor.locator("[data-testid=request-status]")).to_have_text("pending")

    clock.move(timedelta(hours=24, seconds=1))
    expire_approvals.delay()  # what the beat sends every 30 s, to the same worker
    supervisor.set_viewport_size({"width": 390, "height": 844})  # and on a phone

    status = supervisor.locator("[data-testid=request-status]")
    for _ in range(20):  # the page does not poll while a request is pending (it would clear a reason being typed)
        supervisor.reload()
        if "released" in status.inner_text():
            break
        supervisor.wait_for_timeout(1000)
    expect(status).to_have_text(re.compile("expired · released"))
    expect(supervisor.locator("[data-testid=history-event]")).to_have_count(5)
    screenshot(supervisor, "approval-expired-390px")
    assert load_account(ada).held == 0
    no_differences()
