"""The account page and the accounts list as a signed-in teller sees them: the rows of their tables
(built in Python, see projections.rows) and the account page's wait for the read side."""

from __future__ import annotations

import html
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.queries import PAGE_SIZE
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")

MARKUP = '<b>"Bold" & Co</b>'


def test_statement_rows_show_each_line_escaped_with_its_counterparty_linked(client_for):
    teller = client_for(Role.TELLER)
    payer, payee = open_account(balance=10_000, owner=f"Payer {MARKUP}"), open_account(owner="Grace Hopper")
    execute(Transfer(account_id=payer, to_account_id=payee, amount=2_550, currency="EUR", memo=MARKUP), actor="teller")
    execute(Deposit(account_id=payer, amount=1, currency="EUR"), actor="teller")
    runner.catch_up()

    page = teller.get(f"/accounts/{payer}/").content.decode()
    rows = page[page.index("<tbody>") : page.index("</tbody>")]

    assert MARKUP not in page and html.escape(MARKUP) in page
    deposit, transfer, opening = rows.split("</tr>")[:3]
    assert '<td class="num positive">+0.01 EUR</td><td class="num">74.51 EUR</td>' in deposit
    assert f'Transfer to <a href="/accounts/{payee}/">Grace Hopper</a>' in transfer
    assert f'<span class="muted">· {html.escape(MARKUP)}</span>' in transfer
    assert '<td class="num negative">−25.50 EUR</td><td class="num">74.50 EUR</td>' in transfer
    assert '<td class="muted">teller</td>' in opening and "+100.00 EUR" in opening


def test_account_rows_link_each_account_and_escape_its_owner(client_for):
    teller = client_for(Role.TELLER)
    account = open_account(owner=f"Owner {MARKUP}", overdraft_limit=500)
    execute(Transfer(account_id=account, to_account_id=open_account(), amount=300, currency="EUR"), actor="teller")
    runner.catch_up()

    page = teller.get("/accounts/", {"q": str(account)}).content.decode()
    assert MARKUP not in page
    assert f'<a href="/accounts/{account}/">Owner {html.escape(MARKUP)}</a>' in page
    assert '<td class="num negative" data-testid="row-balance">-3.00 EUR</td>' in page


def test_a_page_that_polls_while_processing_looks_once_and_a_page_after_a_task_waits(client_for):
    teller = client_for(Role.TELLER)
    account = open_account(balance=100)
    runner.catch_up()
    # A checkpoint a command wrote and the read side has not reached (no worker runs here). One
    # that no command wrote is not waited for at all (tests/screens/test_read_your_writes_limits.py).
    pending = execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller").checkpoint
    ahead = f"{pending.tx_id}.{pending.position}"

    def checkpoint_reads(url: str) -> tuple[str, int]:
        with CaptureQueriesContext(connection) as ran:
            body = teller.get(url).content.decode()
        return body, sum("projections_projectionstatus" in q["sql"] for q in ran.captured_queries)

    polled, polled_reads = checkpoint_reads(f"/accounts/{account}/?after={ahead}&poll=1")
    waited, waited_reads = checkpoint_reads(f"/accounts/{account}/?after={ahead}")

    assert "banner processing" in polled and "banner processing" in waited
    assert f"?after={ahead}&amp;poll=1" in waited  # the page polls with poll=1
    assert polled_reads == 1
    assert waited_reads > 1  # it asked again until its time was up


def test_pager_links_keep_the_filters_and_drop_the_wait_after_a_task(client_for):
    teller = client_for(Role.TELLER)
    tag = uuid4().hex[:8]
    for n in range(PAGE_SIZE + 1):
        open_account(owner=f"Pager {tag} {n:02}")
    runner.catch_up()

    page = teller.get("/accounts/", {"q": f"pager {tag}", "sort": "owner", "after": "1.1", "poll": "1"})
    body = page.content.decode()

    following = f"?q=pager+{tag}&amp;sort=owner&amp;page=2"
    assert f'<a href="{following}" hx-get="{following}"' in body
    second = teller.get("/accounts/", {"q": f"pager {tag}", "sort": "owner", "page": "2"}).content.decode()
    assert f"Pager {tag} {PAGE_SIZE:02}" in second and "Page 2 of 2" in second
    assert "?q=pager+" + tag + '&amp;sort=owner&amp;page=1"' in second
