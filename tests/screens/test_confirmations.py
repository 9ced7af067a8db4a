"""The confirmation step (every transfer; any movement at or above the approval threshold), the
message after every task, and the printable receipt it links to."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.account_numbers import number_of
from ledger.domain.commands import CloseAccount, FreezeAccount
from ledger.execute import execute, load_account
from ledger.roles import Role
from projections import runner
from tests.write.helpers import event_count, open_account

pytestmark = pytest.mark.usefixtures("committed")  # commands really commit; the runner reads them


@pytest.fixture
def supervisor(committed, client_for):
    return client_for(Role.SUPERVISOR)


@pytest.fixture
def teller(committed, client_for):
    return client_for(Role.TELLER)


LARGE = "10000.00"  # the default approval threshold in two-decimal currencies


def transfer(client, source, target, amount="12.50", **extra):
    data = {"command_id": str(uuid4()), "to_account": str(target), "amount": amount, "memo": "lunch", **extra}
    return client.post(f"/accounts/{source}/tasks/transfer/", data), data


def test_a_transfer_is_confirmed_with_both_accounts_and_the_amount_before_anything_is_recorded(supervisor):
    ada, bob = open_account(owner="Ada Confirm", balance=10_000), open_account(owner="Bob Confirm")
    before = event_count()

    shown, data = transfer(supervisor, ada, bob)

    page = shown.content.decode()
    assert shown.status_code == 200 and event_count() == before
    assert "Confirm the transfer" in page and "Ada Confirm" in page and "Bob Confirm" in page and "12.50 EUR" in page
    assert 'name="confirmed" value="1"' in page and data["command_id"] in page

    done = supervisor.post(f"/accounts/{ada}/tasks/transfer/", {**data, "confirmed": "1"})
    again = supervisor.post(f"/accounts/{ada}/tasks/transfer/", {**data, "confirmed": "1"})  # a double click

    assert done.status_code == again.status_code == 303
    assert event_count() == before + 2  # sent and received, once
    assert (load_account(ada).balance, load_account(bob).balance) == (8_750, 1_250)


def test_change_on_the_confirmation_goes_back_to_the_form_as_filled_in(supervisor):
    ada, bob = open_account(balance=10_000), open_account()
    before = event_count()
    _, data = transfer(supervisor, ada, bob, amount="3.00")

    back = supervisor.post(f"/accounts/{ada}/tasks/transfer/", {**data, "confirmed": "1", "edit": "1"})

    page = back.content.decode()
    assert back.status_code == 200 and event_count() == before
    assert 'value="3.00"' in page and "Confirm the transfer" not in page


def test_a_frozen_recipient_is_a_warning_and_a_closed_one_a_refusal_on_the_form(supervisor):
    ada = open_account(balance=10_000)
    frozen, closed = open_account(owner="Frozen Fay"), open_account(owner="Closed Cal")
    execute(FreezeAccount(account_id=frozen, reason="check"), actor="supervisor")
    execute(CloseAccount(account_id=closed, reason="moved away"), actor="supervisor")
    before = event_count()

    warned, _ = transfer(supervisor, ada, frozen)
    refused, _ = transfer(supervisor, ada, closed)

    assert warned.status_code == 200 and "frozen" in warned.content.decode()
    assert 'data-testid="confirm-warning"' in warned.content.decode()
    assert refused.status_code == 422 and "closed" in refused.content.decode()
    assert "Confirm the transfer" not in refused.content.decode()
    assert event_count() == before


def test_a_large_withdrawal_is_confirmed_as_a_request_for_approval(teller):
    ada = open_account(balance=2_000_000)
    before = event_count()
    data = {"command_id": str(uuid4()), "amount": LARGE, "memo": "car"}

    shown = teller.post(f"/accounts/{ada}/tasks/withdraw/", data)
    done = teller.post(f"/accounts/{ada}/tasks/withdraw/", {**data, "confirmed": "1"})

    assert shown.status_code == 200 and "supervisor" in shown.content.decode()
    assert done.status_code == 303
    account = load_account(ada)
    assert (account.balance, account.held) == (2_000_000, 1_000_000)  # requested and held, not paid
    assert event_count() == before + 2  # the request and the hold


@pytest.mark.parametrize(("amount", "confirms"), [("9999.99", False), (LARGE, True), ("999999999.99", True)])
def test_only_a_large_deposit_is_confirmed(teller, amount, confirms):
    ada = open_account()
    data = {"command_id": str(uuid4()), "amount": amount}

    answer = teller.post(f"/accounts/{ada}/tasks/deposit/", data)

    assert answer.status_code == (200 if confirms else 303)
    if confirms:
        assert "large deposit" in answer.content.decode()


def test_every_task_tells_what_it_recorded_and_links_its_receipt(supervisor):
    ada, bob = open_account(owner="Ada Receipt", balance=10_000), open_account(owner="Bob Receipt")
    _, data = transfer(supervisor, ada, bob, amount="12.50")
    done = supervisor.post(f"/accounts/{ada}/tasks/transfer/", {**data, "confirmed": "1"}, follow=True)

    message = done.content.decode()
    assert "Transfer of 12.50 EUR from Ada Receipt&#x27;s account recorded" in message
    assert f"/receipts/{data['command_id']}/" in message

    runner.catch_up()
    receipt = supervisor.get(f"/receipts/{data['command_id']}/")

    page = receipt.content.decode()
    assert receipt.status_code == 200
    assert data["command_id"] in page and "supervisor-user" in page
    assert "Ada Receipt" in page and "Bob Receipt" in page
    assert "87.50 EUR" in page and "12.50 EUR" in page  # each account's balance after it
    assert "Processing" not in page


def test_a_receipt_of_an_unknown_reference_is_404(supervisor):
    assert supervisor.get(f"/receipts/{uuid4()}/").status_code == 404
    assert supervisor.get("/receipts/not-a-reference/").status_code == 404


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(confirmed=st.one_of(st.none(), st.text(max_size=6)), edit=st.one_of(st.none(), st.text(max_size=4)))
def test_any_confirmation_input_is_answered_and_records_at_most_once(supervisor, confirmed, edit):
    ada, bob = open_account(balance=10_000), open_account()
    before = event_count()
    data = {"command_id": str(uuid4()), "to_account": str(bob), "amount": "1.00"}
    if confirmed is not None:
        data["confirmed"] = confirmed
    if edit is not None:
        data["edit"] = edit

    answer = supervisor.post(f"/accounts/{ada}/tasks/transfer/", data)

    assert answer.status_code in (200, 303, 422)
    assert event_count() - before in (0, 2)
    assert (answer.status_code == 303) == (event_count() - before == 2)


def test_the_recipient_is_shown_while_the_number_is_typed(teller):
    ada, bob = open_account(owner="Ada Sender", balance=100), open_account(owner="Bob Recipient")
    frozen = open_account(owner="Fay Frozen")
    execute(FreezeAccount(account_id=frozen, reason="check"), actor="supervisor")
    runner.catch_up()
    number = number_of(bob)
    assert number is not None
    typed = f" {number[:4].lower()} {number[4:8]} {number[8:]} "  # as a person types it

    shown = teller.get(f"/accounts/{ada}/recipient/", {"to_account": typed}).content.decode()
    warned = teller.get(f"/accounts/{ada}/recipient/", {"to_account": str(frozen)}).content.decode()
    mistyped = teller.get(f"/accounts/{ada}/recipient/", {"to_account": number[:-1] + str((int(number[-1]) + 1) % 10)})

    assert "Bob Recipient" in shown and "EUR" in shown and "open" in shown
    assert "Fay Frozen" in warned and 'data-testid="recipient-warning"' in warned and "frozen" in warned
    assert "check the digits" in mistyped.content.decode()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=40))
def test_any_recipient_text_is_answered(teller, text):
    ada = open_account()

    assert teller.get(f"/accounts/{ada}/recipient/", {"to_account": text}).status_code == 200


def test_the_back_offices_tasks_link_their_receipts_too(supervisor, client_for):
    from ledger.domain.approval import RequestApproval
    from ledger.execute import execute as run

    ada = open_account(owner="Ada Request", balance=3_000_000)
    request_id = uuid4()
    run(
        RequestApproval(
            account_id=ada,
            command_id=request_id,
            amount=1_500_000,
            currency="EUR",
            requested_by="tom",
            requested_at=datetime.now(UTC),
            expires_at=datetime.now(UTC) + timedelta(days=1),
        ),
        actor="tom",
    )
    runner.catch_up()

    decided = supervisor.post(
        f"/approvals/{request_id}/reject/",
        {"reject-reason": "Call the customer first", "reject-command_id": str(uuid4())},
        follow=True,
    )

    page = decided.content.decode()
    assert "Rejected: the 15,000.00 EUR held for the request is being given back." in page
    receipt_url = re.search(r'href="(/receipts/[0-9a-f-]+/)"', page)
    assert receipt_url is not None
    runner.catch_up()
    receipt = supervisor.get(receipt_url[1]).content.decode()
    assert "Request rejected" in receipt and "Call the customer first" in receipt
    assert f"/approvals/{request_id}/" in receipt
