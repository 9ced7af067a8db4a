"""The causation chain of an approval in the event browser: the movement links to the approval that
caused it, the approval to the request (all one correlation), and the request's stream is browsable."""

from __future__ import annotations

import pytest
from django.test import Client

from ledger.models import Event
from ledger.roles import Role
from projections import runner
from tests.admin.helpers import change_url, link, listed
from tests.screens.helpers import make_user
from tests.write.helpers import decide, open_account, request_approval

pytestmark = pytest.mark.usefixtures("committed")  # the process manager acts on committed events


def test_request_approval_and_movement_are_linked_by_causation_and_correlation():
    auditor = Client()
    auditor.force_login(make_user("chain-auditor", Role.AUDITOR))
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, 1_500_000)
    decide(request_id, ada)
    runner.catch_up()
    granted = Event.objects.get(stream_id=request_id, type="ApprovalGranted")
    withdrawn = Event.objects.get(stream_id=ada, type="MoneyWithdrawn")

    page = auditor.get(change_url(withdrawn)).content.decode()
    assert link(page, "ApprovalGranted") == change_url(granted)
    chain = [e.type for e in listed(auditor, link(page, "6 events sharing it"))]
    assert sorted(chain) == sorted(
        ["ApprovalRequested", "FundsHeld", "ApprovalGranted", "MoneyWithdrawn", "HoldReleased", "ApprovalSettled"]
    )
    assert auditor.get("/admin/ledger/event/?stream_type=approval").status_code == 200
