"""Account numbers on the screens: shown wherever an account is (its page, the list, the statement's
counterparty, the history, the approvals, the standing orders), searched however they are typed,
and taken as a transfer's target, where a mistyped one is refused by its check digits and nothing
is recorded. Any text in the search boxes or the target field: never a 500."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger import standing_orders
from ledger.account_numbers import number_of
from ledger.domain.account_number import grouped
from ledger.domain.commands import Transfer
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from projections.models import AccountSummary, StandingOrder
from tests.screens.helpers import make_user
from tests.write.helpers import event_count, open_account, request_approval

pytestmark = pytest.mark.usefixtures("committed")  # the pages read committed events

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def login(name: str, role: Role) -> Client:
    client = Client()
    client.force_login(make_user(name, role))
    return client


@pytest.fixture
def sue() -> Client:
    return login("sue-numbers", Role.SUPERVISOR)


def printed(account: UUID) -> str:
    number = number_of(account)
    assert number is not None
    return grouped(number)


def mistyped(number: str) -> str:
    """`number` with its last digit typed one higher: a single error the check digits catch."""
    return number[:-1] + str((int(number[-1]) + 1) % 10)


@pytest.fixture
def pair() -> tuple[UUID, UUID]:
    tag = uuid4().hex[:6]
    ada, bob = open_account(balance=100_000, owner=f"Ada Numbers{tag}"), open_account(owner=f"Bob Numbers{tag}")
    runner.catch_up()
    return ada, bob


def test_the_account_page_and_the_list_show_the_number_grouped(sue, pair):
    ada, _ = pair
    number = printed(ada)

    page = sue.get(f"/accounts/{ada}/").content.decode()
    listed = sue.get("/accounts/", {"q": number}).content.decode()

    assert f'data-testid="account-number">{number}</span>' in page
    assert f'data-testid="row-number">{number}</td>' in listed and f"/accounts/{ada}/" in listed
    assert AccountSummary.objects.get(account_id=ada).number == number.replace(" ", "")


def test_the_statement_names_the_counterparty_with_its_number(sue, pair):
    ada, bob = pair
    execute(Transfer(account_id=ada, to_account_id=bob, amount=1_000, currency="EUR"), actor="teller")
    runner.catch_up()

    page = sue.get(f"/accounts/{ada}/").content.decode()

    assert f'data-testid="counterparty-number">{printed(bob)}</span>' in page


def test_the_history_is_headed_with_the_number(sue, pair):
    ada, _ = pair

    page = sue.get(f"/accounts/{ada}/as-of/", {"version": "1"}).content.decode()

    assert f'data-testid="asof-number">{printed(ada)}</span>' in page


def test_the_approvals_inbox_and_a_requests_page_show_both_numbers(sue):
    ada, bob = open_account(balance=2_000_000, owner="Ada Large"), open_account(owner="Bob Large")
    request_id, _ = request_approval(ada, 1_500_000, to=bob, actor="tom")  # above the approval threshold
    runner.catch_up()

    inbox = sue.get("/approvals/").content.decode()
    request = sue.get(f"/approvals/{request_id}/").content.decode()

    for page in (inbox, request):
        assert printed(ada) in page and printed(bob) in page


def test_the_standing_orders_pages_show_the_other_accounts_number(sue, pair):
    ada, bob = pair
    answer = sue.post(
        f"/accounts/{ada}/standing-orders/new/",
        {
            "command_id": str(uuid4()),
            "to_account": printed(bob).lower(),  # taken as a number, however typed
            "amount": "25.00",
            "interval": "weekly",
            "start_date": standing_orders.today().isoformat(),
            "memo": "Rent",
        },
    )
    assert answer.status_code == 303, answer.content.decode()
    runner.catch_up()

    paying = sue.get(f"/accounts/{ada}/standing-orders/").content.decode()
    receiving = sue.get(f"/accounts/{bob}/standing-orders/").content.decode()

    order = StandingOrder.objects.get(account_id=ada)
    order_page = sue.get(f"/accounts/{ada}/standing-orders/{order.order_id}/").content.decode()

    assert printed(bob) in paying and printed(ada) in receiving
    assert printed(ada) in order_page and printed(bob) in order_page


@pytest.mark.parametrize("spelling", [str.upper, str.lower, lambda n: n.replace(" ", ""), lambda n: n[2:]])
def test_a_transfer_goes_to_the_account_its_number_names_however_it_is_typed(sue, pair, spelling):
    ada, bob = pair
    # "confirmed": as the transfer's confirmation step sends it (a plain form without it is shown back
    # for confirmation first).

    answer = sue.post(
        f"/accounts/{ada}/tasks/transfer/",
        {"command_id": str(uuid4()), "to_account": spelling(printed(bob)), "amount": "1.00", "confirmed": "1"},
    )

    assert answer.status_code == 303
    runner.catch_up()
    assert AccountSummary.objects.get(account_id=bob).balance == 100


def test_a_mistyped_number_is_caught_by_its_check_digits_and_nothing_is_recorded(sue, pair):
    ada, bob = pair
    before = event_count()

    answer = sue.post(
        f"/accounts/{ada}/tasks/transfer/",
        {"command_id": str(uuid4()), "to_account": mistyped(printed(bob)), "amount": "1.00"},
    )

    body = answer.content.decode()
    assert answer.status_code == 422
    assert f"{mistyped(printed(bob))} is not a valid account number: check the digits." in body
    assert 'id="err_to_account"' in body
    assert event_count() == before


def test_a_valid_number_no_account_has_is_refused(sue, pair):
    ada, _ = pair
    before = event_count()
    nobodys = "TL32 3141 5926 53"  # the example in messages: position 0, never an event's

    answer = sue.post(
        f"/accounts/{ada}/tasks/transfer/", {"command_id": str(uuid4()), "to_account": nobodys, "amount": "1.00"}
    )

    assert answer.status_code == 422
    assert f"There is no account {nobodys}" in answer.content.decode()
    assert event_count() == before


def test_the_accounts_search_says_when_a_whole_number_was_mistyped(sue, pair):
    ada, _ = pair

    found = sue.get("/accounts/", {"q": mistyped(printed(ada))}).content.decode()

    assert "No accounts match" in found
    assert "is not a valid account number: check the digits." in found


def test_the_transfer_targets_are_found_by_number_or_name(sue, pair):
    ada, bob = pair
    url = f"/accounts/{ada}/transfer-targets/"

    by_number = sue.get(url, {"q": printed(bob)[:9]}).content.decode()
    by_name = sue.get(url, {"q": "bob numbers"}).content.decode()

    assert f'value="{printed(bob)}"' in by_number
    assert f'value="{printed(bob)}"' in by_name


TYPED = st.one_of(
    st.text(max_size=40),
    st.from_regex(r"(?i)(tl)?[0-9 \-]{0,20}", fullmatch=True),
    st.text(alphabet="TLtl0123456789 -\x00\u00a0١", max_size=24),
)


@SETTINGS
@given(text=TYPED)
@example(text="\x00")
@example(text="TL" + "9" * 4_000)
def test_any_text_in_the_search_boxes_is_answered_never_a_500(sue, pair, text):
    ada, _ = pair

    for url in ("/accounts/", f"/accounts/{ada}/transfer-targets/"):
        assert sue.get(url, {"q": text}).status_code == 200


@SETTINGS
@given(text=TYPED)
@example(text="\x00")
def test_any_text_as_the_transfer_target_is_refused_or_a_transfer_never_a_500(sue, pair, text):
    ada, _ = pair

    answer = sue.post(
        f"/accounts/{ada}/tasks/transfer/",
        {"command_id": str(uuid4()), "to_account": text, "amount": "0.01", "confirmed": "1"},
    )

    assert answer.status_code in (303, 422)
