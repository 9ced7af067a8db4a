"""Posting the "Open an account" form twice (one after the other, or at the same moment) opens one
account and answers both times as the first did, like every other task."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import pytest
from django.db import connections
from django.test import Client

from ledger import store
from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from tests.screens.helpers import make_user
from tests.write.helpers import event_count, open_account


def opened_account(response) -> UUID:
    """The account a successful open sent the browser to (`/accounts/<id>/?after=...`)."""
    return UUID(response["Location"].split("/")[2])


def opened_events(account_id: UUID) -> list[str]:
    return [event.type for event in store.read_stream(account_id) if event.type == "AccountOpened"]


def teller() -> Client:
    client = Client()
    client.force_login(make_user("teller-user", Role.TELLER))
    return client


def form(command_id: str, owner: str = "Grace Hopper") -> dict[str, str]:
    return {"command_id": command_id, "owner": owner, "currency": "EUR", "overdraft_limit": "50.00"}


def test_the_same_open_form_posted_twice_opens_one_account_and_answers_the_same(db):
    client, data = teller(), form(str(uuid4()))

    first = client.post("/accounts/open/", data)
    second = client.post("/accounts/open/", data)

    assert first.status_code == second.status_code == 303
    assert second["Location"] == first["Location"]
    assert opened_events(opened_account(first)) == ["AccountOpened"]
    assert event_count(command_id=data["command_id"]) == 1


def test_the_same_open_form_posted_at_the_same_moment_opens_one_account(committed):
    clients = [teller() for _ in range(4)]
    for _ in range(5):  # several rounds: a race that is lost only now and then still shows
        data = form(str(uuid4()))
        start = threading.Barrier(len(clients))

        def post(client: Client, data: dict[str, str] = data, start: threading.Barrier = start):
            try:
                start.wait()
                return client.post("/accounts/open/", data)
            finally:
                connections.close_all()  # each thread had its own connection

        with ThreadPoolExecutor(len(clients)) as pool:
            answers = list(pool.map(post, clients))

        assert [a.status_code for a in answers] == [303] * len(clients)
        assert len({a["Location"] for a in answers}) == 1
        assert opened_events(opened_account(answers[0])) == ["AccountOpened"]
        assert event_count(command_id=data["command_id"]) == 1


def test_the_same_command_id_with_other_details_is_refused_and_opens_nothing(db):
    client, command_id = teller(), str(uuid4())
    first = client.post("/accounts/open/", form(command_id))

    refused = client.post("/accounts/open/", form(command_id, owner="Someone Else"))

    assert refused.status_code == 422
    assert "already submitted with different details" in refused.content.decode()
    assert event_count(command_id=command_id) == 1
    assert opened_events(opened_account(first)) == ["AccountOpened"]


def test_an_open_form_carrying_the_id_of_another_command_is_refused_cleanly(db):
    # The account number derives from the command id, so a client cannot pick one; reusing the
    # id of a deposit is another command under the same id, refused with nothing recorded.
    account = open_account()
    deposit = Deposit(account_id=account, amount=500, currency="EUR")
    execute(deposit, actor="teller")

    refused = teller().post("/accounts/open/", form(str(deposit.command_id)))

    assert refused.status_code == 422
    assert "already submitted with different details" in refused.content.decode()
    assert event_count(command_id=str(deposit.command_id)) == 1


@pytest.mark.parametrize("field", ["account_id", "account"])
def test_an_account_number_sent_with_the_open_form_is_ignored(db, field):
    existing = open_account()

    response = teller().post("/accounts/open/", {**form(str(uuid4())), field: str(existing)})

    assert response.status_code == 303
    assert opened_account(response) != existing
    assert opened_events(existing) == ["AccountOpened"]
