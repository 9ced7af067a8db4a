"""The account page's read-your-writes wait (`?after=`) cannot be turned against the web workers: a
checkpoint no command wrote is not waited for at all, and only a few requests of a process wait
at once; the others say "processing" at once (and refresh by themselves)."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from ledger.store import Checkpoint
from projections import queries, runner
from projections.views import ACCOUNT_PAGE_PROJECTIONS
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")  # the runner and the other threads see commits only


def _head() -> tuple[int, int, int]:
    """One past the newest finished transaction id, the newest position, and the newest transaction id
    of an event (a checkpoint of an older transaction is one the projections have passed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint, max(position),"
            " max(tx_id::text::bigint) FROM ledger_event"
        )
        return cursor.fetchone()


def _pending_checkpoint(account) -> Checkpoint:
    """A checkpoint a command wrote and the read side has not applied (no worker runs here)."""
    return execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller").checkpoint


@pytest.fixture
def account():
    account = open_account(balance=100)
    runner.catch_up()
    return account


def test_a_checkpoint_beyond_the_head_of_the_log_is_not_waited_for(account):
    xmax, head, newest_tx = _head()
    beyond = [
        Checkpoint(newest_tx, head + 1),
        Checkpoint(newest_tx, head + 10**6),
        Checkpoint(xmax, 1),
        Checkpoint(xmax + 10**9, head),
        Checkpoint(2**64 + 5, 2**70),
    ]

    for checkpoint in beyond:
        started = time.monotonic()
        assert queries.projection_wait(checkpoint, ACCOUNT_PAGE_PROJECTIONS, timeout=3) is queries.Wait.UNWRITTEN
        assert time.monotonic() - started < 0.5


def test_a_checkpoint_naming_a_transaction_that_wrote_no_event_there_is_not_waited_for(account):
    """A made-up checkpoint whose transaction id another transaction has since taken and finished
    (any write takes one) is as unwritten as one beyond the head: the event at its position is not
    that transaction's."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text::bigint")  # takes an id, and commits
        (taken,) = cursor.fetchone()
    _, head, _ = _head()
    for checkpoint in (Checkpoint(taken, 1), Checkpoint(taken, head)):
        assert queries.projection_wait(checkpoint, ACCOUNT_PAGE_PROJECTIONS, timeout=3) is queries.Wait.UNWRITTEN


def test_a_checkpoint_written_and_not_yet_applied_is_still_waited_for(account):
    pending = _pending_checkpoint(account)

    started = time.monotonic()
    assert queries.projection_wait(pending, ACCOUNT_PAGE_PROJECTIONS, timeout=0.3) is queries.Wait.PENDING
    assert time.monotonic() - started >= 0.3
    runner.catch_up()
    assert queries.projection_wait(pending, ACCOUNT_PAGE_PROJECTIONS, timeout=0.3) is queries.Wait.REACHED


def test_the_account_page_with_a_made_up_checkpoint_answers_at_once_and_shows_the_account(client_for, account):
    teller = client_for(Role.TELLER)
    _, head, newest_tx = _head()

    started = time.monotonic()
    with CaptureQueriesContext(connection) as ran:
        response = teller.get(f"/accounts/{account}/", {"after": f"{newest_tx}.{head + 10**6}"})
    took = time.monotonic() - started

    assert response.status_code == 200 and took < queries.READ_YOUR_WRITES_SECONDS / 2
    assert "banner processing" not in response.content.decode()  # nothing is being processed
    assert sum("projections_projectionstatus" in q["sql"] for q in ran.captured_queries) == 1


def test_a_made_up_checkpoint_for_an_unknown_account_is_a_404_at_once(client_for):
    from uuid import uuid4

    teller = client_for(Role.TELLER)
    _, head, newest_tx = _head()

    started = time.monotonic()
    response = teller.get(f"/accounts/{uuid4()}/", {"after": f"{newest_tx}.{head + 10**6}"})

    assert response.status_code == 404 and time.monotonic() - started < queries.READ_YOUR_WRITES_SECONDS / 2


def test_only_a_few_requests_of_a_process_wait_at_once_the_others_say_processing_at_once(client_for, account):
    pending = _pending_checkpoint(account)
    url = f"/accounts/{account}/?after={pending.tx_id}.{pending.position}"
    waited: list[float] = []

    def wait_on_the_page(client) -> None:
        try:
            started = time.monotonic()
            assert "banner processing" in client.get(url).content.decode()
            waited.append(time.monotonic() - started)
        finally:
            connection.close()

    waiters = [
        threading.Thread(target=wait_on_the_page, args=[client_for(Role.TELLER)])
        for _ in range(queries.WAITING_REQUESTS)
    ]
    for thread in waiters:
        thread.start()
    time.sleep(0.4)  # every waiter is in its wait by now (the wait is 1.5 s)

    teller = client_for(Role.TELLER)
    started = time.monotonic()
    response = teller.get(url)
    answered_in = time.monotonic() - started
    for thread in waiters:
        thread.join(10)

    assert len(waited) == queries.WAITING_REQUESTS
    assert min(waited) >= queries.READ_YOUR_WRITES_SECONDS  # the first ones waited their whole time
    assert (
        answered_in < queries.READ_YOUR_WRITES_SECONDS / 2
    )  # this one did not wait for a place (the others waited it whole)
    body = response.content.decode()
    assert "banner processing" in body and f"?after={pending.tx_id}.{pending.position}&amp;poll=1" in body

    # With the places free again, a page waits as before (and finds the command applied).
    runner.catch_up()
    assert "banner processing" not in teller.get(url).content.decode()
