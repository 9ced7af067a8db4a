"""A poison event (one a projection cannot apply) against the real Postgres and the admin: the
projections that read it stop at it and say where; a retry tries it again; an operator skips it for
each with a reason; the skip is recorded and shown, the runner and a rebuild pass over it, and
verify_projections agrees. The event itself stays as it was, and the others apply it."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import store
from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from ledger.store import Checkpoint, NewEvent
from ledger.store.sql import fetch
from projections import bluegreen, runner, skips
from projections.models import AccountSummary, ProjectionStatus, SkippedEvent
from projections.projectors.base import Span
from tests.projections.helpers import differences
from tests.screens.helpers import make_user
from tests.write.helpers import open_account

ADMIN = "/admin/projections/projectionstatus/"
READERS = ("account_summary", "daily_activity", "statement")  # the projections that read deposits


def operator() -> Client:
    user, _ = User.objects.get_or_create(username="poison-operator", defaults={"is_superuser": True})
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def poison(committed):
    """A deposit recorded by an old release with its amount as text ("12.50"): valid JSON, but no
    projection's SQL or fold can add it up. Afterwards it is skipped for every reader whatever the
    test did, so that the projections other tests share never stay stopped at it."""
    runner.catch_up()
    account = open_account(owner="Poisoned", balance=100)  # versions 1 and 2
    deposit = NewEvent(
        event_id=uuid4(),
        stream_id=account,
        stream_type="account",
        version=3,
        type="MoneyDeposited",
        schema_version=1,
        data={"account_id": str(account), "amount": "12.50", "currency": "EUR", "memo": "imported"},
        metadata={"actor": "old-import"},
    )
    position = store.append([deposit]).position
    yield position
    for name in READERS:
        SkippedEvent.objects.get_or_create(
            projection=name,
            position=position,
            defaults={
                "event_id": deposit.event_id,
                "reason": "clean-up",
                "skipped_by": "test",
                "skipped_at": timezone.now(),
            },
        )
    runner.catch_up()


def test_a_poison_event_stops_its_readers_until_skipped_with_a_reason_and_verify_agrees(poison):
    after = open_account(owner="After the poison", balance=0)
    execute(Deposit(account_id=after, amount=700, currency="EUR"), actor="teller")

    first = runner.catch_up()

    assert set(first.failed) == set(READERS)
    for name in READERS:
        status = ProjectionStatus.objects.get(name=name)
        assert status.last_error_position == poison and status.position < poison
    assert not AccountSummary.objects.filter(account_id=after).exists()  # stopped before it, nothing skipped
    assert ProjectionStatus.objects.get(name="approvals").last_error == ""  # the others went on

    client = operator()
    listing = client.get(ADMIN).content.decode()
    assert f"/admin/ledger/event/{poison}/change/" in listing and "skip it" in listing
    retried = client.post(ADMIN, {"action": "retry_selected", "_selected_action": ["statement"]}, follow=True)
    assert "still stopped" in retried.content.decode()
    assert ProjectionStatus.objects.get(name="statement").last_error_position == poison

    for name in READERS:
        page = client.get(f"{ADMIN}{name}/skip/")
        assert page.status_code == 200 and f"event #{poison}" in page.content.decode()
        done = client.post(f"{ADMIN}{name}/skip/", {"reason": "amount stored as text by the 2019 import"})
        assert done.status_code == 302

    report = runner.catch_up()

    assert not report.failed
    assert AccountSummary.objects.get(account_id=after).balance == 700
    skipped = SkippedEvent.objects.filter(position=poison).order_by("projection")
    assert [(s.projection, s.skipped_by, s.reason) for s in skipped] == [
        (name, "poison-operator", "amount stored as text by the 2019 import") for name in READERS
    ]
    assert all("invalid input syntax" in s.error for s in skipped)  # the error it had, kept with the skip
    assert all(not d for d in differences().values())
    event_page = client.get(f"/admin/ledger/event/{poison}/change/").content.decode()
    assert "skipped by poison-operator: amount stored as text by the 2019 import" in event_page
    assert "approval_process" in event_page
    assert bluegreen.rebuild(list(READERS)).swapped  # the rebuilt tables pass over it too, and verify
    assert all(not d for d in differences().values())


def test_a_skip_is_refused_without_a_reason_or_for_an_event_a_projection_is_not_stopped_at(poison):
    runner.catch_up()
    with pytest.raises(skips.SkipRefused, match="Say why"):
        skips.skip_event(projection="statement", position=poison, reason="   ", actor="op")
    with pytest.raises(skips.SkipRefused, match="not stopped at event"):
        skips.skip_event(projection="statement", position=poison - 1, reason="why", actor="op")
    with pytest.raises(skips.SkipRefused, match="not stopped at any event"):
        skips.skip_event(projection="approvals", position=poison, reason="why", actor="op")
    with pytest.raises(skips.SkipRefused, match="no projection"):
        skips.skip_event(projection="nonesuch", position=poison, reason="why", actor="op")

    page = operator().post(f"{ADMIN}statement/skip/", {"reason": ""})

    assert page.status_code == 200 and "This field is required" in page.content.decode()
    assert not SkippedEvent.objects.filter(position=poison).exists()
    skips.skip_event(projection="statement", position=poison, reason="why", actor="op")
    skips.skip_event(projection="statement", position=poison, reason="again", actor="op2")  # a double click
    assert SkippedEvent.objects.filter(position=poison).count() == 1


def test_only_operators_may_skip(poison):
    runner.catch_up()
    for role in (Role.AUDITOR, Role.SUPERVISOR, Role.TELLER):
        client = Client()
        client.force_login(make_user(f"poison-{role.value}", role))
        assert client.post(f"{ADMIN}statement/skip/", {"reason": "mine"}).status_code in (302, 403)
    assert not SkippedEvent.objects.filter(position=poison).exists()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=st.text(max_size=300), name=st.sampled_from(["statement", "nonesuch", "approvals", "%00", "a/b"]))
def test_any_skip_form_input_gets_an_answer_never_a_500(poison, reason, name):
    runner.catch_up()
    response = operator().post(f"{ADMIN}{name}/skip/", {"reason": reason})

    assert response.status_code in (200, 302, 404)
    recorded = SkippedEvent.objects.filter(position=poison, projection="statement")
    assert recorded.count() <= 1
    if recorded.exists():
        assert name == "statement" and reason.strip() and "\x00" not in reason
        recorded.delete()  # for the next example


def test_the_event_before_a_skipped_one_is_found_in_commit_order_not_in_the_text_order_of_its_transaction(committed):
    """Transaction ids past a power of ten ('10000000' sorts before '9999999' as text): the event
    passed over must be the one named, and the part before it must end at the event just before it."""
    stream = uuid4()
    with transaction.atomic():  # rolled back: events of transactions that never ran stay out of the log
        positions = [
            fetch(
                "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, data, metadata, tx_id)"
                " VALUES (%s, %s, 'account', %s, 'NoteTaken', '{}', '{}', %s::text::xid8) RETURNING position",
                [uuid4(), stream, version, str(tx_id)],
            )[0][0]
            for version, tx_id in ((1, 9_999_999), (2, 10_000_000), (3, 10_000_001))
        ]
        skipped = Checkpoint(10_000_001, positions[2])
        span = Span(Checkpoint(9_999_999, positions[0]), Checkpoint(10_000_001, positions[2]), 2, timezone.now())

        parts = [(part.after, part.upto, part.events, passed) for part, passed in skips.around(span, [skipped])]

        transaction.set_rollback(True)
    middle = Checkpoint(10_000_000, positions[1])
    assert parts == [(span.after, middle, 1, False), (middle, skipped, 1, True)]
