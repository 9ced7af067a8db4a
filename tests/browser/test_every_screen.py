"""Every screen, at a desktop's width and at a phone's (390 px): axe-core finds no serious or critical
accessibility violation, the page has exactly one h1, and on the phone nothing needs sideways
scrolling, no card or control reaches past the edge, and no figure is clipped or wrapped, with
the largest amounts and balances the ledger allows on them. A screenshot of each is saved in
test-artifacts/screens/."""

from __future__ import annotations

import pytest

from tests.browser.helpers import accessibility_problems, layout_problems, screenshot
from tests.browser.screens import SCREENS, Pages, make_ledger, sessions


@pytest.fixture(scope="module")
def ledger(live_server_url, django_db_blocker):
    with django_db_blocker.unblock():
        return make_ledger()


@pytest.fixture(scope="module")
def pages(browser, live_server_url, ledger, django_db_blocker):
    with django_db_blocker.unblock():
        signed_in = sessions(ledger.users)
    opened = Pages(browser, live_server_url, signed_in)
    yield opened
    opened.close()


@pytest.mark.parametrize("width", ["desktop", "390"])
@pytest.mark.parametrize("screen", SCREENS, ids=str)
def test_the_screen_is_accessible_and_fits(screen, width, pages, ledger, live_server_url):
    page = pages(screen.who, width)
    screen.show(page, live_server_url, ledger)
    page.wait_for_load_state("networkidle")
    screenshot(page, f"screens/{screen.name}-{width}")

    problems = [f"{page.locator('h1').count()} h1 elements"] if page.locator("h1").count() != 1 else []
    problems += accessibility_problems(page)
    if width == "390":
        problems += layout_problems(page)
    assert not problems, f"{screen.name} at {width}:\n" + "\n".join(problems)
