"""The audit export (issue 17): any list the event browser shows, downloaded as CSV or JSON lines,
holds exactly that list's events, oldest first, as stored; any query string is answered, never a 500."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.admin.export import COLUMNS
from ledger.domain.commands import Deposit, Withdraw
from ledger.execute import execute
from ledger.models import Event
from tests.admin.helpers import EVENTS
from tests.write.helpers import event_count, open_account

pytestmark = pytest.mark.django_db


def exported(client, kind: str, **params: str) -> bytes:
    response = client.get(reverse("admin:ledger_event_export", args=[kind]), params)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Disposition"].startswith("attachment;") and "no-store" in response["Cache-Control"]
    return b"".join(response.streaming_content)


@pytest.fixture
def clerk_history() -> tuple[str, list[Event]]:
    """An account with deposits and withdrawals by an actor of this test's own."""
    clerk = f"clerk-{uuid4().hex[:8]}"
    account = open_account(actor=clerk, balance=0)
    # Moments whose fraction is whole seconds or ends in zeros, which each format writes its own way.
    at = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    for moment in (at, at.replace(microsecond=767600)):
        execute(
            Deposit(account_id=account, amount=1, currency="EUR", memo='a, "quoted"\nmemo'),
            actor=clerk,
            recorded_at=moment,
        )
    for amount in (500, 700, 900):
        execute(Deposit(account_id=account, amount=amount, currency="EUR", memo='a, "quoted"\nmemo'), actor=clerk)
        execute(Withdraw(account_id=account, amount=amount // 5, currency="EUR"), actor=clerk)
    return clerk, list(Event.objects.filter(stream_id=account).order_by("position"))


def test_json_lines_hold_the_lists_events_oldest_first_exactly_as_stored(auditor, clerk_history):
    clerk, events = clerk_history

    lines = [json.loads(line) for line in exported(auditor, "jsonl", actor=clerk).splitlines()]

    assert [line["position"] for line in lines] == [e.position for e in events]
    for line, event in zip(lines, events, strict=True):
        assert line["data"] == event.data and line["metadata"] == event.metadata
        assert (line["event_id"], line["stream_id"], line["type"]) == (
            str(event.event_id),
            str(event.stream_id),
            event.type,
        )
        assert line["actor"] == clerk and line["recorded_at"] == event.recorded_at.isoformat()


def test_the_csv_holds_the_same_list_and_keeps_the_filters(auditor, clerk_history):
    clerk, events = clerk_history

    rows = list(csv.DictReader(io.StringIO(exported(auditor, "csv", actor=clerk, type="MoneyWithdrawn").decode())))

    withdrawals = [e for e in events if e.type == "MoneyWithdrawn"]
    assert [int(r["position"]) for r in rows] == [e.position for e in withdrawals] and len(rows) == 3
    assert list(rows[0]) == list(COLUMNS)
    assert [json.loads(r["data"]) for r in rows] == [e.data for e in withdrawals]
    deposits = list(csv.DictReader(io.StringIO(exported(auditor, "csv", actor=clerk, type="MoneyDeposited").decode())))
    assert {json.loads(r["data"])["memo"] for r in deposits} == {'a, "quoted"\nmemo'}  # quoted as CSV quotes


def test_the_list_offers_its_own_filters_as_exports(auditor, clerk_history):
    clerk, _ = clerk_history

    page = auditor.get(EVENTS, {"actor": clerk}).content.decode()

    assert f"{reverse('admin:ledger_event_export', args=['csv'])}?actor={clerk}" in page
    assert f"{reverse('admin:ledger_event_export', args=['jsonl'])}?actor={clerk}" in page


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["csv", "jsonl", "xml", "CSV"]),
    params=st.dictionaries(
        st.sampled_from(
            ["type", "actor", "stream", "correlation", "recorded_from", "recorded_to", "q", "before", "o", "zz"]
        ),
        st.text(max_size=20),
        max_size=3,
    ),
)
def test_any_query_string_gets_an_answer_never_a_500(auditor, kind, params):
    before = event_count()

    response = auditor.get(reverse("admin:ledger_event_export", args=[kind]), params)
    if response.streaming:
        b"".join(response.streaming_content)

    assert response.status_code in (200, 302, 400, 404)
    assert event_count() == before
