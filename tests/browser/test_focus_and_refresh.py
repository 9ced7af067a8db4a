"""Keyboard and screen-reader users: a skip link first, the focus on the first error after a refused
submit (swapped in by htmx, or a whole page without JavaScript), and self-refreshing parts of a page
(the accounts list, the approvals inbox, the account page while it says "processing") that never
take the focus or move the page; the dashboard's chart has a text alternative."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from uuid import uuid4

from playwright.sync_api import expect

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from projections.runner import catch_up
from tests.browser.helpers import screenshot
from tests.store.helpers import own_connection
from tests.write.helpers import open_account, request_approval

FOCUSED_HREF = "document.activeElement && document.activeElement.getAttribute('href')"


def mark(page, selector: str) -> None:
    """Tag the element now in the page (a property, not an attribute, which would change its HTML): a
    swap replaces it with one that has no tag."""
    page.evaluate("(s) => { document.querySelector(s).seenBefore = true }", selector)


def still_marked(page, selector: str) -> bool:
    return page.evaluate("(s) => document.querySelector(s).seenBefore === true", selector)


def described_by(page) -> str:
    """The text of what the focused element's aria-describedby names."""
    return page.evaluate(
        """(document.activeElement.getAttribute('aria-describedby') || '').split(' ')
             .map(id => document.getElementById(id)?.textContent || '').join(' ')"""
    )


def test_the_skip_link_comes_first_and_takes_the_reader_to_the_content(login, live_server_url):
    page = login(Role.TELLER)
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["y"] >= 0, "the skip link is shown when it has the focus"
    screenshot(page, "skip-link")

    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.querySelector('main').contains(document.activeElement)")


def test_after_a_refused_task_the_focus_is_on_the_first_error(login, live_server_url):
    account = open_account(balance=5_000)
    page = login(Role.TELLER)
    page.goto(f"{live_server_url}/accounts/{account}/")
    page.click("a[data-task=withdraw]")
    page.fill("#id_amount", "50.01")  # more than is available
    page.locator("#id_memo").focus()
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.keyboard.press("Enter")

    expect(page.locator("#task-form .field-error")).to_contain_text("Insufficient funds")
    expect(page.locator("#id_amount")).to_be_focused()
    assert "Insufficient funds" in described_by(page), "a screen reader reads the error with the field"


def test_without_javascript_a_refused_form_comes_back_with_the_focus_on_its_first_error(login, live_server_url):
    account = open_account(balance=5_000)
    page = login(Role.TELLER, javascript=False)
    page.goto(f"{live_server_url}/accounts/{account}/tasks/deposit/")
    page.fill("#id_amount", "1.234")
    page.click("#task-form button[type=submit]")

    expect(page.locator(".field-error")).to_contain_text("at most 2 decimal places")
    expect(page.locator("#id_amount")).to_be_focused()
    assert "at most 2 decimal places" in described_by(page)


def test_the_accounts_list_refreshes_without_taking_the_focus_or_the_scroll(login, live_server_url):
    tag = uuid4().hex[:8]
    accounts = [open_account(balance=1_000, owner=f"Refresh {tag} {n:02}") for n in range(12)]
    page = login(Role.TELLER)
    page.set_viewport_size({"width": 1280, "height": 420})
    page.goto(f"{live_server_url}/accounts/?q=Refresh+{tag}&sort=owner")
    last = page.locator(f"#results a[href='/accounts/{accounts[-1]}/']")
    expect(last).to_be_visible()

    mark(page, "#results")
    page.wait_for_timeout(6_000)  # a refresh with nothing new swaps nothing
    assert still_marked(page, "#results")

    last.scroll_into_view_if_needed()
    last.focus()
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0, "the page is long enough to scroll"
    execute(Deposit(account_id=accounts[-1], amount=2_500, currency="EUR"), actor="teller")

    row = page.locator("#results tr", has=page.locator(f"a[href='/accounts/{accounts[-1]}/']"))
    expect(row.locator("[data-testid=row-balance]")).to_have_text("35.00 EUR", timeout=15_000)
    assert not still_marked(page, "#results"), "the list was swapped"
    assert page.evaluate(FOCUSED_HREF) == f"/accounts/{accounts[-1]}/"
    assert page.evaluate("window.scrollY") == scrolled


def test_the_approvals_inbox_refreshes_without_taking_the_focus(login, live_server_url):
    ada, bob = open_account(balance=5_000_000, owner="Ada Inbox"), open_account(owner="Bob Inbox")
    first, _ = request_approval(ada, 1_200_000, actor="someone-else")
    page = login(Role.SUPERVISOR)
    page.goto(f"{live_server_url}/approvals/")
    link = page.locator(f"#inbox tr[data-request='{first}'] a[href='/approvals/{first}/']").first
    link.focus()

    second, _ = request_approval(ada, 1_300_000, to=bob, actor="someone-else")
    expect(page.locator(f"#inbox tr[data-request='{second}']")).to_be_visible(timeout=15_000)
    assert page.evaluate(FOCUSED_HREF) == f"/approvals/{first}/"


def test_the_read_side_page_refreshes_without_moving_the_page_or_the_focus(login, live_server_url):
    account = open_account(balance=1_000)
    page = login(Role.SUPERVISOR)
    page.set_viewport_size({"width": 390, "height": 320})
    page.goto(f"{live_server_url}/projections/")
    checkpoint = page.locator("#status tbody tr td.num").first
    before = checkpoint.inner_text()
    page.evaluate("document.querySelector('nav a[aria-current=page]').focus({preventScroll: true})")
    page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0, "the page is long enough to scroll"

    execute(Deposit(account_id=account, amount=100, currency="EUR"), actor="teller")
    expect(checkpoint).not_to_have_text(before, timeout=15_000)
    assert page.evaluate("window.scrollY") == scrolled
    assert page.evaluate(FOCUSED_HREF) == "/projections/"


@contextmanager
def read_side_held_back() -> Iterator[Callable[[], None]]:
    """A session that wrote and sits in its transaction: the projections read no further than it
    until the function given ends it."""
    session = own_connection()
    try:
        session.execute("CREATE TEMP TABLE held (note text)")
        session.execute("INSERT INTO held VALUES ('the read side waits for this transaction')")
        yield session.rollback
    finally:
        session.rollback()
        session.close()


def test_the_account_page_keeps_the_focus_when_processing_ends(login, live_server_url):
    account = open_account(balance=1_000)
    catch_up()
    page = login(Role.TELLER)
    with read_side_held_back() as let_go:
        result = execute(Deposit(account_id=account, amount=4_200, currency="EUR"), actor="teller")
        check_processing_ends_with_the_focus_kept(page, live_server_url, account, result, let_go)


def check_processing_ends_with_the_focus_kept(page, live_server_url, account, result, let_go) -> None:
    page.goto(f"{live_server_url}/accounts/{account}/?after={result.tx_id}.{result.position}")
    expect(page.locator(".banner.processing")).to_be_visible()
    history = page.locator("#account a[href$='/as-of/']")
    history.focus()
    scrolled = page.evaluate("window.scrollY")

    let_go()  # the read side catches up; the next refresh shows the deposit
    expect(page.locator("[data-testid=balance]")).to_have_text("52.00 EUR", timeout=15_000)
    expect(page.locator(".banner.processing")).to_have_count(0)
    expect(history).to_be_focused()
    assert page.evaluate("window.scrollY") == scrolled


def test_the_dashboard_chart_has_a_text_alternative(login, live_server_url):
    page = login(Role.TELLER)
    chart = page.locator("svg.chart")
    expect(chart).to_have_attribute("role", "img")
    name = page.evaluate(
        """(svg) => svg.getAttribute('aria-label') || (svg.getAttribute('aria-labelledby') || '')
             .split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ')""",
        chart.element_handle(),
    )
    assert name.strip(), "the chart has a name"
    described = chart.get_attribute("aria-describedby")
    assert described, "the chart points to its figures"
    figures = page.locator(f"#{described}")
    expect(figures.locator("table")).to_have_count(1)
    assert figures.locator("tbody tr").count() >= 1
