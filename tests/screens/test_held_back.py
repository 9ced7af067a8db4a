"""A transaction left open in the database holds every projection back (they read the log only below
the oldest open transaction that wrote). The read-side page and /metrics then say so within one 2 s
sweep: every role that it is held back and since when, operators (superusers) also which backend
(pid, state, database user) and the start of its query; /metrics names it to the bearer of its token."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from projections import queries, runner
from scripts.processes import wait_until
from tests.deploy.scrape import TOKEN, scrape
from tests.store.helpers import own_connection
from tests.write.helpers import open_account

SWEEP_SECONDS = 2.0  # the beat's catch-up sweep (CELERY_BEAT_SCHEDULE)
HELD_BACK = "The read side is held back by a long transaction"


@pytest.fixture
def idle_writer() -> Iterator[int]:
    """A second session that wrote and then sits idle inside its transaction, as a psql session left
    open in the middle of a change would; its pid."""
    session = own_connection()
    try:
        pid = session.info.backend_pid
        session.execute("CREATE TEMP TABLE forgotten (note text)")
        session.execute("INSERT INTO forgotten VALUES ('left open by a test')")
        yield pid
    finally:
        session.rollback()
        session.close()


def naming_it(page: str) -> str:
    """The page if it says the read side is held back, else "" (not yet)."""
    return page if HELD_BACK in page else ""


@pytest.fixture
def operator() -> Client:
    user, _ = User.objects.get_or_create(username="held-back-operator", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    return client


def test_an_idle_open_transaction_is_named_on_the_read_side_page_within_one_sweep(
    committed, idle_writer, operator, client_for, settings
):
    settings.TALLY_METRICS_TOKEN = TOKEN
    runner.catch_up()
    account = open_account()  # committed after the idle transaction began: it must wait for it
    committed_at = time.monotonic()

    runner.catch_up()  # what the sweep does: nothing gets past the open transaction
    page = wait_until(
        lambda: naming_it(operator.get("/projections/").content.decode()),
        timeout=SWEEP_SECONDS,
        interval=0.1,
        message="the read-side page to name the open transaction",
    )

    assert time.monotonic() - committed_at < SWEEP_SECONDS + 0.5
    assert f"pid {idle_writer}" in page and "idle in transaction" in page
    assert connection.settings_dict["USER"] in page
    assert "INSERT INTO forgotten VALUES (&#x27;left open by a test&#x27;)" in page
    assert queries.account_summary_get(account_id=account) is None  # still held back
    teller = client_for(Role.TELLER).get("/projections/", headers={"HX-Request": "true"}).content.decode()
    assert HELD_BACK in teller and "open since" in teller
    assert str(idle_writer) not in teller and "forgotten" not in teller and "idle in transaction" not in teller

    figures = scrape()
    assert figures.value("tally_read_side_held_back_seconds") >= queries.HELD_BACK_SECONDS
    [blocker] = figures.labels_of("tally_read_side_blocker_info")
    assert blocker["pid"] == str(idle_writer) and blocker["state"] == "idle in transaction"
    assert blocker["user"] == connection.settings_dict["USER"] and blocker["since"]
    assert blocker["query"].startswith("INSERT INTO forgotten")


def test_once_the_transaction_ends_the_read_side_catches_up_and_names_no_one(committed, operator, settings):
    settings.TALLY_METRICS_TOKEN = TOKEN
    session = own_connection()
    session.execute("CREATE TEMP TABLE forgotten (note text)")
    session.execute("INSERT INTO forgotten VALUES ('left open by a test')")
    account = open_account()
    execute(Deposit(account_id=account, amount=5, currency="EUR"), actor="teller")
    time.sleep(queries.HELD_BACK_SECONDS + 0.1)
    assert queries.read_side_held_back() is not None

    session.commit()
    session.close()
    runner.catch_up()

    assert HELD_BACK not in operator.get("/projections/").content.decode()
    summary = queries.account_summary_get(account_id=account)
    assert summary is not None and summary.balance == 5
    figures = scrape()
    assert figures.value("tally_read_side_held_back_seconds") == 0
    assert figures.labels_of("tally_read_side_blocker_info") == []


def test_a_transaction_that_wrote_nothing_holds_nothing_back(committed):
    reader = own_connection()
    try:
        reader.execute("SELECT count(*) FROM ledger_event")  # open, with a snapshot, but no transaction id
        account = open_account()
        time.sleep(queries.HELD_BACK_SECONDS + 0.1)
        runner.catch_up()

        assert queries.read_side_held_back() is None
        assert queries.account_summary_get(account_id=account) is not None
    finally:
        reader.rollback()
        reader.close()
