"""Every command sent from a screen records who sent it: the signed-in user's name as the actor,
"web" as the source and the form's command id, on every event it appends."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from django.db import connection

from ledger.execute import load_account
from ledger.roles import Role
from tests.screens.helpers import url_of
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db


def events_of(command_id: str) -> list[tuple[str, dict]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, metadata FROM ledger_event WHERE metadata ->> 'command_id' = %s ORDER BY position",
            [command_id],
        )
        return [(type_, json.loads(metadata)) for type_, metadata in cursor.fetchall()]  # jsonb comes as text


@pytest.mark.parametrize(
    ("task", "extra", "types"),
    [
        ("open", {"owner": "Trail Owner", "currency": "EUR"}, ["AccountOpened"]),
        ("deposit", {"amount": "5.00"}, ["MoneyDeposited"]),
        ("withdraw", {"amount": "1.00"}, ["MoneyWithdrawn"]),
        ("transfer", {"amount": "2.00", "confirmed": "1"}, ["TransferSent", "TransferReceived"]),
        ("freeze", {"reason": "Checking"}, ["AccountFrozen"]),
    ],
)
def test_a_command_from_a_screen_records_the_signed_in_user_as_its_actor(client_for, task, extra, types):
    account, other = open_account(balance=1_000, actor="someone-else"), open_account(actor="someone-else")
    supervisor = client_for(Role.SUPERVISOR)
    command_id = str(uuid4())
    data = {
        "command_id": command_id,
        "seen_version": str(load_account(account).version),
        "to_account": str(other),
        **extra,
    }

    response = supervisor.post(url_of(task, account), data)

    assert response.status_code == 303
    recorded = events_of(command_id)
    assert [type_ for type_, _ in recorded] == types
    for _, metadata in recorded:
        assert metadata["actor"] == "supervisor-user"
        assert metadata["source"] == "web"
        assert metadata["command_id"] == command_id
