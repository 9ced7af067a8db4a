"""The event-type catalogue (issue 17): each type with the schema versions it is stored in, the
upcasters that lift the older ones, how many events and when the first and last were recorded; the
same figures as a count of the event table, read from a few rows of the read side (no query of the
event table at request time)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger import store
from ledger.roles import Role
from ledger.store import NewEvent
from ledger.store.sql import fetch
from projections import runner
from tests.projections.helpers import differences, some_activity
from tests.screens.helpers import make_user

pytestmark = pytest.mark.usefixtures("committed")
CATALOGUE = reverse("admin:projections_eventtype_changelist")


def signed_in(role: Role) -> Client:
    client = Client()
    client.force_login(make_user(f"catalogue-{role.value}", role))
    return client


@pytest.fixture
def with_an_old_shape():
    """Activity of every kind, and an account opened in the first shape of AccountOpened (v1, before
    overdrafts), appended as an old ledger would have stored it."""
    some_activity()
    account = uuid4()
    store.append(
        [
            NewEvent(
                event_id=uuid4(),
                stream_id=account,
                stream_type="account",
                version=1,
                type="AccountOpened",
                schema_version=1,
                data={"account_id": str(account), "owner": "Olga Oldshape", "currency": "EUR"},
                metadata={"actor": "import"},
            )
        ]
    )
    runner.catch_up()


def test_the_catalogue_holds_what_a_count_of_the_event_table_says(with_an_old_shape):
    counted = {
        (t, v): (n, first, last)
        for t, v, n, first, last in fetch(
            "SELECT type, schema_version, count(*), min(recorded_at), max(recorded_at) FROM ledger_event"
            " WHERE type <> 'NoteTaken' GROUP BY 1, 2"
        )
    }
    kept = {
        (t, v): (n, first, last)
        for t, v, n, first, last in fetch(
            "SELECT type, schema_version, events, first_recorded_at, last_recorded_at FROM projections_eventtype"
        )
    }

    assert kept == counted and ("AccountOpened", 1) in kept and ("AccountOpened", 2) in kept
    assert not differences()["event_types"]  # and verify_projections agrees with it


def test_an_auditor_reads_each_type_with_its_versions_and_upcasters_without_a_query_of_the_event_table(
    with_an_old_shape,
):
    auditor = signed_in(Role.AUDITOR)

    with CaptureQueriesContext(connection) as ran:
        page = auditor.get(CATALOGUE)

    assert page.status_code == 200
    text = " ".join(page.content.decode().split())
    assert "schema version 1" in text and "v1 → v2" in text and "none: the current shape" in text
    assert f"{reverse('admin:ledger_event_changelist')}?type=MoneyDeposited" in text
    assert not [q["sql"] for q in ran.captured_queries if "ledger_event" in q["sql"]]


@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR])
def test_tellers_and_supervisors_are_refused(role):
    assert signed_in(role).get(CATALOGUE).status_code == 403
