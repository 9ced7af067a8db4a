"""The standing orders screens: the account's orders page (list, set-up form, cancel), who may do
what (checked on the server), bad and hostile input (never a 500, nothing recorded), a resubmitted
form (one order), and failures shown on the order and the account page."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

import pytest
from django.db import connection
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import standing_orders
from ledger.domain import standing_order as so
from ledger.roles import Role
from projections import runner
from projections.tasks import pay_standing_orders
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")  # the pages read committed events


def new_url(account_id: UUID) -> str:
    return f"/accounts/{account_id}/standing-orders/new/"


def list_url(account_id: UUID) -> str:
    return f"/accounts/{account_id}/standing-orders/"


def orders_from(account_id: UUID) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM ledger_event WHERE stream_type = %s AND data ->> 'account_id' = %s",
            [so.STREAM_TYPE, str(account_id)],
        )
        return cursor.fetchone()[0]


def form(to: UUID, **overrides: object) -> dict[str, object]:
    return {
        "command_id": str(uuid4()),
        "to_account": str(to),
        "amount": "25.00",
        "interval": "weekly",
        "start_date": standing_orders.today().isoformat(),
        "end_date": "",
        "memo": "Rent",
        **overrides,
    }


@pytest.fixture
def pair() -> tuple[UUID, UUID]:
    accounts = open_account(balance=10_000, owner="Ada Lovelace"), open_account(owner="Bob Babbage")
    runner.catch_up()
    return accounts


@pytest.fixture
def teller(client_for) -> Client:
    return client_for(Role.TELLER)


def test_a_teller_sets_up_an_order_and_sees_it_listed(teller, pair):
    ada, bob = pair
    assert teller.get(new_url(ada)).status_code == 200

    answer = teller.post(new_url(ada), form(bob))

    assert answer.status_code == 303 and answer["Location"].startswith(list_url(ada) + "?after=")
    runner.catch_up()
    page = teller.get(answer["Location"])
    text = page.content.decode()
    assert page.status_code == 200 and "25.00 EUR every week" in text and "Standing order set up" in text
    assert 'data-testid="cancel-order"' in text
    assert "25.00 EUR every week" in teller.get(list_url(bob)).content.decode()  # the receiving side too


def test_a_resubmitted_form_sets_up_one_order(teller, pair):
    ada, bob = pair
    data = form(bob)
    first, second = teller.post(new_url(ada), data), teller.post(new_url(ada), data)
    assert first.status_code == second.status_code == 303
    assert orders_from(ada) == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "10000.00"}, "approval threshold"),
        ({"interval": "daily"}, "weekly or monthly"),
        ({"start_date": "2001-01-01"}, "cannot be in the past"),
        ({"start_date": "31/31/2027"}, "Enter a date like"),
        ({"end_date": "2000-01-01"}, "on or after the start date"),
        ({"to_account": "nope"}, "full account number"),
        ({"command_id": ""}, "reload the page"),
    ],
)
def test_bad_input_gets_a_clear_message_and_records_nothing(teller, pair, overrides, message):
    ada, bob = pair
    answer = teller.post(new_url(ada), form(bob, **overrides))
    assert answer.status_code == 422
    assert message.lower() in answer.content.decode().lower()
    assert orders_from(ada) == 0


def test_orders_to_itself_unknown_or_closed_accounts_are_refused(teller, pair):
    ada, bob = pair
    for to in (ada, uuid4()):
        answer = teller.post(new_url(ada), form(to))
        assert answer.status_code == 422
    assert orders_from(ada) == 0
    assert teller.post(new_url(uuid4()), form(bob)).status_code == 404


@pytest.mark.parametrize("role", [Role.AUDITOR, None])
def test_auditors_and_others_may_read_but_not_set_up_or_cancel(client_for, teller, pair, role):
    ada, bob = pair
    teller.post(new_url(ada), form(bob))
    runner.catch_up()
    order_id = standing_orders_of(ada)[0]
    someone = client_for(role)

    assert someone.post(new_url(ada), form(bob)).status_code == 403
    assert someone.get(new_url(ada)).status_code == 403
    cancel = someone.post(f"{list_url(ada)}{order_id}/cancel/", {"command_id": str(uuid4())})
    assert cancel.status_code == 403
    assert orders_from(ada) == 1
    page = someone.get(list_url(ada))
    assert page.status_code == 200 and 'data-testid="cancel-order"' not in page.content.decode()
    assert 'data-testid="set-up-standing-order"' not in page.content.decode()


def standing_orders_of(account_id: UUID) -> list[UUID]:
    from projections.models import StandingOrder

    return list(StandingOrder.objects.filter(account_id=account_id).values_list("order_id", flat=True))


@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR])
def test_tellers_and_supervisors_cancel_once(client_for, teller, pair, role):
    ada, bob = pair
    teller.post(new_url(ada), form(bob))
    runner.catch_up()
    [order_id] = standing_orders_of(ada)
    who = client_for(role)
    data = {"command_id": str(uuid4()), "reason": "customer asked"}

    first = who.post(f"{list_url(ada)}{order_id}/cancel/", data)
    second = who.post(f"{list_url(ada)}{order_id}/cancel/", data)  # a double click

    assert first.status_code == second.status_code == 303
    assert standing_orders.load_order(order_id).status is so.OrderStatus.CANCELLED
    again = who.post(f"{list_url(ada)}{order_id}/cancel/", {"command_id": str(uuid4())}, follow=True)
    assert "no longer active" in again.content.decode()
    assert who.get(f"{list_url(ada)}{order_id}/cancel/").status_code == 405
    assert who.post(f"{list_url(bob)}{order_id}/cancel/", data).status_code == 404  # not from Bob's


def test_a_failed_payment_is_shown_on_the_order_and_the_account_page(teller, test_clock):
    ada, bob = open_account(balance=1_000, owner="Ada"), open_account(owner="Bob")
    teller.post(new_url(ada), form(bob, amount="20.00"))
    runner.catch_up()
    [order_id] = standing_orders_of(ada)
    test_clock.move(timedelta(days=1))
    pay_standing_orders()
    runner.catch_up()

    listed = teller.get(list_url(ada)).content.decode()
    assert "Insufficient funds" in listed and 'data-testid="last-failure"' in listed
    account = teller.get(f"/accounts/{ada}/").content.decode()
    assert 'data-testid="account-order-failure"' in account and "Insufficient funds" in account
    assert f"/accounts/{ada}/standing-orders/" in account
    order_page = teller.get(f"{list_url(ada)}{order_id}/")
    assert order_page.status_code == 200 and 'data-outcome="failed"' in order_page.content.decode()


def test_unknown_orders_and_accounts_are_not_found(teller, pair):
    ada, _ = pair
    assert teller.get(list_url(uuid4())).status_code == 404
    assert teller.get(f"{list_url(ada)}{uuid4()}/").status_code == 404
    assert teller.post(f"{list_url(ada)}{uuid4()}/cancel/", {"command_id": str(uuid4())}).status_code == 404


def test_logged_out_visitors_are_sent_to_log_in(pair):
    ada, bob = pair
    for answer in (Client().get(list_url(ada)), Client().post(new_url(ada), form(bob))):
        assert answer.status_code == 302 and "/login/" in answer["Location"]
    assert orders_from(ada) == 0


FIELDS = ("to_account", "amount", "interval", "start_date", "end_date", "memo", "command_id")
_text = st.one_of(st.text(max_size=40), st.just(""), st.text(alphabet="0123456789-./\x00 ", max_size=12))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    fields=st.fixed_dictionaries(
        {},
        optional=dict.fromkeys(
            ("to_account", "amount", "interval", "start_date", "end_date", "memo", "command_id"), _text
        ),
    ),
    valid_target=st.booleans(),
    twice=st.booleans(),
)
def test_any_input_is_answered_without_a_500_and_sets_up_at_most_once(teller, fields, valid_target, twice):
    ada, bob = open_account(balance=100), open_account()
    data: dict[str, object] = {**form(bob), **fields}
    if valid_target:
        data["to_account"] = str(bob)
    if twice:
        data = {k: [v, v] for k, v in data.items()}

    first, second = teller.post(new_url(ada), data), teller.post(new_url(ada), data)

    assert first.status_code in (303, 422) and second.status_code in (303, 422)
    assert orders_from(ada) == (1 if first.status_code == 303 else 0)
