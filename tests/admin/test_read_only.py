"""No one, superusers included, adds, changes or deletes an event through the admin: every attempt
is a 403 and the row stays as it was."""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from django.urls import reverse

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.models import Event
from ledger.roles import Role
from tests.admin.helpers import EVENTS, change_url
from tests.write.helpers import open_account


@pytest.fixture
def deposit(db) -> Event:
    account = open_account()
    execute(Deposit(account_id=account, amount=2500, currency="EUR"), actor="teller")
    return Event.objects.get(stream_id=account, version=2)


def _row(event: Event) -> Mapping[str, object]:
    return Event.objects.filter(pk=event.pk).values().get()


@pytest.mark.parametrize("superuser", [False, True], ids=["auditor", "superuser"])
def test_no_one_can_add_change_or_delete_an_event(as_role, superuser, deposit):
    client = as_role(Role.AUDITOR) if not superuser else as_role(superuser=True)
    before, count = _row(deposit), Event.objects.count()
    forged = {"type": "MoneyWithdrawn", "data": '{"amount": 1}', "metadata": "{}", "version": 9}
    delete = reverse("admin:ledger_event_delete", args=[deposit.pk])
    add = reverse("admin:ledger_event_add")

    attempts = {
        "change": client.post(change_url(deposit), forged),
        "delete": client.post(delete, {"post": "yes"}),
        "add": client.post(add, {**forged, "stream_id": str(deposit.stream_id)}),
        "bulk delete": client.post(
            EVENTS, {"action": "delete_selected", "_selected_action": [deposit.pk], "post": "yes", "index": 0}
        ),
        "delete page": client.get(delete),
        "add page": client.get(add),
    }

    assert {name: r.status_code for name, r in attempts.items()} == dict.fromkeys(attempts, 403)
    assert _row(deposit) == before and Event.objects.count() == count


def test_the_detail_page_is_read_only_and_the_list_offers_no_bulk_actions(as_role, deposit):
    client = as_role(superuser=True)

    detail = client.get(change_url(deposit)).content.decode()
    listing = client.get(EVENTS)

    assert 'name="_save"' not in detail and "deletelink" not in detail
    assert listing.context["action_form"] is None and 'name="action"' not in listing.content.decode()
    assert reverse("admin:ledger_event_add") not in listing.content.decode()
