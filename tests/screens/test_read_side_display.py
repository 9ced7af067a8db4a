"""What the screens say about the read side: how far behind it is, and that a projection stopped.
The status rows are set as the runner would leave them, inside the test's transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.models import ProjectionStatus
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def behind() -> int:
    """Every projection caught up, then five deposits the read side has not applied yet."""
    account = open_account(balance=100)
    runner.ensure_status_rows(runner.get_projectors())
    head = max((s.tx_id, s.position) for s in ProjectionStatus.objects.all())
    for _ in range(5):
        execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
    ProjectionStatus.objects.update(tx_id=head[0], position=0)  # behind everything written since
    return 5


def test_a_read_side_that_lags_says_how_far_behind_it_is(client_for, behind):
    teller = client_for(Role.TELLER)

    status = teller.get("/projections/").content.decode()
    badge = teller.get("/projections/lag/").content.decode()

    # every row behind: the projectors and the process managers the runner has run
    assert status.count("catching up") == ProjectionStatus.objects.count() and "≈" in status
    assert "up to date" not in status
    assert "updating" in badge and "up to date" not in badge


def test_a_stopped_projection_is_shown_as_stopped_on_every_page_that_reports_the_read_side(client_for):
    runner.ensure_status_rows(runner.get_projectors())
    ProjectionStatus.objects.filter(name="statement").update(
        last_error="ValueError: cannot handle MoneyWithdrawn",
        last_error_position=4242,
        last_error_at=timezone.now() - timedelta(minutes=3),
    )
    teller = client_for(Role.TELLER)

    status = teller.get("/projections/").content.decode()
    badge = teller.get("/projections/lag/").content.decode()

    assert "stopped at event #4242" in status
    assert "stopped: figures may be out of date" in badge
