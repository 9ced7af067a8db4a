"""What the admin says and offers: no "History" button that leads to a page that is always empty (nothing
read-only is ever changed through the admin), and counts in words with the right plural."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.models import Event
from ledger.roles import Role
from projections import bluegreen
from projections.models import ProjectionStatus, SkippedEvent
from projections.verify import Difference, Verdict
from tests.admin.helpers import EVENTS, change_url
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def read_only_pages(db) -> dict[str, tuple[str, str]]:
    """(change page, history page) of an event, a projection's status and a skip."""
    account = open_account(balance=100)
    event = Event.objects.get(stream_id=account, version=2)
    status, _ = ProjectionStatus.objects.get_or_create(name="statement")
    skip = SkippedEvent.objects.create(
        projection="statement",
        position=event.pk,
        event_id=event.event_id,
        reason="test",
        skipped_by="root",
        skipped_at=event.recorded_at,
    )
    pages = {"event": ("ledger", "event", event.pk), "status": ("projections", "projectionstatus", status.pk)}
    pages["skip"] = ("projections", "skippedevent", skip.pk)
    return {
        name: (reverse(f"admin:{app}_{model}_change", args=[pk]), reverse(f"admin:{app}_{model}_history", args=[pk]))
        for name, (app, model, pk) in pages.items()
    }


@pytest.mark.parametrize("superuser", [False, True], ids=["auditor", "superuser"])
def test_no_read_only_page_offers_a_history_and_its_address_is_not_found(as_role, read_only_pages, superuser):
    client = as_role(superuser=True) if superuser else as_role(Role.AUDITOR)

    for name, (page, history) in read_only_pages.items():
        body = client.get(page).content.decode()
        assert client.get(page).status_code == 200, name
        assert "historylink" not in body and ">History<" not in body, name
        assert client.get(history).status_code == 404, name


def test_a_page_that_can_be_changed_through_the_admin_keeps_its_history(as_role):
    person = User.objects.create_user(username=f"someone-{uuid4().hex[:6]}")
    client = as_role(superuser=True)

    body = client.get(reverse("admin:auth_user_change", args=[person.pk])).content.decode()

    assert 'class="historylink"' in body


def _paginator_text(client, **params) -> str:
    body = client.get(EVENTS, params).content.decode()
    found = re.search(r'<nav class="paginator".*?</nav>', body, flags=re.S)
    assert found
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(0)).split())


def test_a_list_of_one_event_says_one_event_and_of_two_says_two_events(auditor):
    account = open_account()
    one = _paginator_text(auditor, stream=str(account))
    execute(Deposit(account_id=account, amount=100, currency="EUR"), actor="teller")
    two = _paginator_text(auditor, stream=str(account))

    assert one.endswith("1 event") and "1 events" not in one
    assert two.endswith("2 events")


def test_an_events_page_counts_what_shares_its_correlation_in_words(auditor):
    account = open_account()
    opened = Event.objects.get(stream_id=account, version=1)

    body = auditor.get(change_url(opened)).content.decode()

    assert ">1 event sharing it<" in body and "1 events" not in body


@pytest.mark.parametrize(
    ("rows", "events", "said"),
    [(1, 1, "1 row differs from a replay of 1 event:"), (2, 3, "2 rows differ from a replay of 3 events:")],
)
def test_a_rebuild_that_differs_from_a_replay_says_how_many_rows_in_words(rows, events, said):
    verdict = Verdict("statement", events=events, differences=[Difference(n, (n,), None) for n in range(rows)])

    assert bluegreen.describe(verdict).startswith(said)


def test_the_projection_status_page_counts_projections(auditor, read_only_pages):
    rows = ProjectionStatus.objects.count()

    body = auditor.get(reverse("admin:projections_projectionstatus_changelist")).content.decode()

    assert f"\n{rows} projection{'' if rows == 1 else 's'}\n" in body
    assert f"{rows} projection status" not in body
