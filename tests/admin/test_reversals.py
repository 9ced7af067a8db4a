"""The event browser links a movement and its reversal both ways, and the shared correlation lists
them together."""

from __future__ import annotations

import pytest

from ledger.domain.commands import Transfer
from ledger.execute import execute
from ledger.models import Event
from ledger.reversals import find_movement, reverse
from tests.admin.helpers import change_url, link, listed
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db


def test_an_original_and_its_reversal_link_to_each_other(auditor):
    ada, bob = open_account(balance=5000), open_account()
    command = Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="EUR")
    execute(command, actor="teller")
    sent, received = Event.objects.filter(metadata__command_id=str(command.command_id)).order_by("position")
    movement = find_movement(account_id=ada, position=sent.position)
    assert movement is not None
    assert "not reversed" in auditor.get(change_url(sent)).content.decode()

    reverse(movement, account_id=ada, reason="Wrong payee", actor="supervisor")
    back = Event.objects.get(stream_id=ada, type="MovementReversed")

    original_page = auditor.get(change_url(sent)).content.decode()
    assert link(original_page, f"event #{back.position}") == change_url(back)
    reversal_page = auditor.get(change_url(back)).content.decode()
    assert link(reversal_page, str(sent)) == change_url(sent)
    shared = listed(auditor, link(original_page, "4 events sharing it"))
    assert {e.type for e in shared} == {"TransferSent", "TransferReceived", "MovementReversed"}
    assert received.pk in {e.pk for e in shared}
