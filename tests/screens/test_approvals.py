"""The approvals screens: a teller's large withdrawal is sent for approval (the account page says so,
with the held amount), the inbox lists it for supervisors and auditors, a request's page offers the
decision to a supervisor who did not ask, and the server refuses everyone else (nothing recorded).
Any input to the decision forms gets a clear message, never a 500."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.approvals import load_request
from ledger.domain import approval as a
from ledger.roles import Role
from projections import runner
from tests.screens.helpers import make_user
from tests.write.helpers import event_count, open_account, request_approval

pytestmark = pytest.mark.usefixtures("committed")

BIG = "15000.00"
SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def login(name: str, role: Role | None) -> Client:
    client = Client()
    client.force_login(make_user(name, role))
    return client


@pytest.fixture
def tom():
    return login("tom", Role.TELLER)


@pytest.fixture
def sue():
    return login("sue", Role.SUPERVISOR)


def pending(account_id):
    request_id, _ = request_approval(account_id, 1_500_000, actor="tom", memo="car")
    runner.catch_up()
    return request_id


def decision(form_id=None, reason="checked the ID", prefix="approve"):
    return {f"{prefix}-command_id": str(form_id or uuid4()), f"{prefix}-reason": reason}


def test_a_tellers_large_withdrawal_is_sent_for_approval_and_shown_held(tom):
    ada = open_account(balance=2_000_000)
    response = tom.post(
        f"/accounts/{ada}/tasks/withdraw/", {"command_id": str(uuid4()), "amount": BIG, "memo": "car", "confirmed": "1"}
    )
    assert response.status_code == 303
    runner.catch_up()  # no worker in these tests

    page = tom.get(response["Location"])
    body = page.content.decode()
    assert page.status_code == 200
    assert 'data-testid="pending-requests"' in body and "Sent for approval" in body
    assert 'data-testid="held">15,000.00 EUR' in body
    assert 'data-testid="balance">20,000.00 EUR' in body and 'data-testid="available">5,000.00 EUR' in body


def test_below_the_threshold_the_withdrawal_is_made_at_once(tom):
    ada = open_account(balance=2_000_000)
    tom.post(f"/accounts/{ada}/tasks/withdraw/", {"command_id": str(uuid4()), "amount": "9999.99"})
    runner.catch_up()
    assert "Sent for approval" not in tom.get(f"/accounts/{ada}/").content.decode()


def test_the_inbox_lists_pending_requests_with_the_available_funds(sue):
    ada = open_account(balance=2_000_000, owner="Ada Inbox")
    request_id = pending(ada)

    response = sue.get("/approvals/")
    body = response.content.decode()
    assert response.status_code == 200
    assert f'data-request="{request_id}"' in body
    line = next(line for line in response.context["lines"] if line.request.request_id == request_id)
    assert (line.owner, line.available, line.request.requested_by, line.request.memo) == (
        "Ada Inbox",
        500_000,
        "tom",
        "car",
    )
    assert 'hx-trigger="every 5s"' in body  # it refreshes itself
    partial = sue.get("/approvals/", headers={"HX-Request": "true"})
    assert partial.status_code == 200 and b"<html" not in partial.content


def test_tellers_have_no_inbox_but_auditors_see_it(tom):
    assert tom.get("/approvals/").status_code == 403
    assert login("aud", Role.AUDITOR).get("/approvals/").status_code == 200


def test_a_supervisor_approves_with_a_reason_and_the_request_page_shows_the_history(sue):
    ada = open_account(balance=2_000_000)
    request_id = pending(ada)
    page = sue.get(f"/approvals/{request_id}/")
    assert page.context["forms"] is not None

    response = sue.post(f"/approvals/{request_id}/approve/", decision())
    assert response.status_code == 303
    runner.catch_up()
    page = sue.get(response["Location"])
    body = page.content.decode()
    assert 'data-testid="request-status">approved · executed' in body
    assert [e.type for e in page.context["history"]] == [
        "ApprovalRequested",
        "FundsHeld",
        "ApprovalGranted",
        "MoneyWithdrawn",
        "HoldReleased",
        "ApprovalSettled",
    ]


def test_a_resubmitted_decision_is_one_decision(sue):
    request_id = pending(open_account(balance=2_000_000))
    form = decision(uuid4())
    assert sue.post(f"/approvals/{request_id}/approve/", form).status_code == 303
    assert sue.post(f"/approvals/{request_id}/approve/", form).status_code == 303
    assert load_request(request_id).status is a.RequestStatus.APPROVED


def test_the_requester_gets_403_even_as_a_supervisor_and_nothing_is_recorded():
    ada = open_account(balance=2_000_000)
    request_id, _ = request_approval(ada, 1_500_000, actor="boss")
    runner.catch_up()
    boss = login("boss", Role.SUPERVISOR)
    before = event_count()

    assert boss.get(f"/approvals/{request_id}/").context["forms"] is None
    assert boss.post(f"/approvals/{request_id}/approve/", decision()).status_code == 403
    assert boss.post(f"/approvals/{request_id}/reject/", decision(prefix="reject")).status_code == 403
    assert event_count() == before


@pytest.mark.parametrize("role", [Role.TELLER, Role.AUDITOR, None])
def test_only_supervisors_may_decide(role):
    request_id = pending(open_account(balance=2_000_000))
    before = event_count()
    client = login(f"someone-{role}", role)
    assert client.post(f"/approvals/{request_id}/approve/", decision()).status_code == 403
    assert event_count() == before


def test_an_unknown_request_or_decision_is_404(sue):
    assert sue.get(f"/approvals/{uuid4()}/").status_code == 404
    assert sue.post(f"/approvals/{uuid4()}/approve/", decision()).status_code == 404
    request_id = pending(open_account(balance=2_000_000))
    assert sue.post(f"/approvals/{request_id}/delete/", decision()).status_code == 404
    assert sue.get(f"/approvals/{request_id}/approve/").status_code == 405


def test_a_decision_without_a_reason_or_on_a_decided_request_says_why(sue):
    request_id = pending(open_account(balance=2_000_000))
    before = event_count()
    response = sue.post(f"/approvals/{request_id}/reject/", decision(reason="  ", prefix="reject"))
    assert response.status_code == 422 and "Say why" in response.content.decode()
    assert event_count() == before

    sue.post(f"/approvals/{request_id}/reject/", decision(prefix="reject"))
    response = sue.post(f"/approvals/{request_id}/approve/", decision())
    assert response.status_code == 422 and "no longer waiting" in response.content.decode()


def test_the_decision_form_needs_its_csrf_token():
    request_id = pending(open_account(balance=2_000_000))
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("sue", Role.SUPERVISOR))
    before = event_count()
    assert client.post(f"/approvals/{request_id}/approve/", decision()).status_code == 403
    assert event_count() == before


@pytest.fixture(scope="module")
def a_pending_request(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        request_id, _ = request_approval(open_account(balance=2_000_000), 1_500_000, actor="tom")
    return request_id


@SETTINGS
@given(
    reason=st.one_of(st.text(max_size=300), st.just("\x00"), st.just("x" * 201)),
    command_id=st.one_of(st.uuids().map(str), st.text(max_size=40)),
    prefix=st.sampled_from(["approve", "reject", "other"]),
)
def test_any_input_to_a_decision_gets_an_answer_never_a_500(a_pending_request, reason, command_id, prefix):
    client = login("max", Role.SUPERVISOR)
    response = client.post(
        f"/approvals/{a_pending_request}/reject/", {f"{prefix}-command_id": command_id, f"{prefix}-reason": reason}
    )
    assert response.status_code in {303, 422}
