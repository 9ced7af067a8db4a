"""The Reverse task on the screens: who sees it and who may do it (checked on the server), the
confirmation page, the success message, bad and hostile input, and a resubmitted form."""

from __future__ import annotations

from uuid import UUID

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import store
from ledger.domain.commands import CloseAccount, Transfer, Withdraw
from ledger.execute import execute, load_account
from ledger.roles import Role
from projections import runner
from tests.screens.helpers import make_user
from tests.write.helpers import event_count, open_account

pytestmark = pytest.mark.usefixtures("committed")  # the account page reads committed events


def reverse_url(account_id: UUID, position: int) -> str:
    return f"/accounts/{account_id}/movements/{position}/reverse/"


def last_position(account_id: UUID) -> int:
    return store.read_stream(account_id)[-1].position


def reversals_of(account_id: UUID) -> int:
    return sum(e.type == "MovementReversed" for e in store.read_stream(account_id))


@pytest.fixture
def transfer() -> tuple[UUID, UUID, int]:
    """Ada paid Bob 30.00: (ada, bob, the position of Bob's side)."""
    ada, bob = open_account(balance=5000, owner="Ada Lovelace"), open_account(owner="Bob Babbage")
    execute(Transfer(account_id=ada, to_account_id=bob, amount=3000, currency="EUR", memo="rent"), actor="teller")
    return ada, bob, last_position(bob)


@pytest.fixture
def boss(client_for) -> Client:
    return client_for(Role.SUPERVISOR)


def test_the_confirmation_page_shows_the_movement_both_accounts_and_asks_why(boss, transfer):
    ada, bob, position = transfer

    page = boss.get(reverse_url(bob, position))

    assert page.status_code == 200
    text = page.content.decode()
    assert "Ada Lovelace" in text and "Bob Babbage" in text and str(ada) in text and str(bob) in text
    assert "takes 30.00 EUR out" in text and "puts 30.00 EUR back" in text
    assert 'name="reason"' in text


def test_a_supervisor_reverses_a_transfer_and_is_told_so(boss, transfer):
    ada, bob, position = transfer

    response = boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})

    assert response.status_code == 303 and response["Location"].startswith(f"/accounts/{bob}/?after=")
    assert (load_account(ada).balance, load_account(bob).balance) == (5000, 0)
    page = boss.get(response["Location"])
    assert "Reversed on both accounts: 30.00 EUR moved back" in page.content.decode()


def test_a_resubmitted_reversal_is_recorded_once(boss, transfer):
    _, bob, position = transfer
    boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})

    again = boss.post(reverse_url(bob, position), {"reason": "Wrong payee"}, follow=True)

    assert reversals_of(bob) == 1
    assert "had already been reversed; nothing more was recorded" in again.content.decode()


def test_another_supervisor_reversing_the_same_movement_is_told_it_is_done(boss, transfer):
    ada, bob, position = transfer
    boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})
    other = Client()
    other.force_login(make_user("second-supervisor", Role.SUPERVISOR))

    sent = next(e for e in store.read_stream(ada) if e.type == "TransferSent")
    response = other.post(reverse_url(ada, sent.position), {"reason": "Customer asked"})

    assert response.status_code == 422
    assert "already been reversed" in response.content.decode()
    assert reversals_of(bob) == 1


@pytest.mark.parametrize("role", [Role.TELLER, Role.AUDITOR, None], ids=lambda r: r or "no-role")
def test_only_supervisors_may_reverse_on_the_server(client_for, role, transfer):
    _, bob, position = transfer
    client = client_for(role)
    before = event_count()

    assert client.get(reverse_url(bob, position)).status_code == 403
    assert client.post(reverse_url(bob, position), {"reason": "x"}).status_code == 403
    assert event_count() == before


def test_logged_out_visitors_are_sent_to_log_in(transfer):
    _, bob, position = transfer
    response = Client().post(reverse_url(bob, position), {"reason": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_account_page_offers_reverse_to_supervisors_only_and_not_on_reversed_lines(boss, client_for, transfer):
    _, bob, position = transfer
    runner.catch_up()
    teller_page = client_for(Role.TELLER).get(f"/accounts/{bob}/").content.decode()
    assert 'data-testid="reverse"' not in teller_page
    assert f'href="{reverse_url(bob, position)}"' in boss.get(f"/accounts/{bob}/").content.decode()

    boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})
    runner.catch_up()
    page = boss.get(f"/accounts/{bob}/").content.decode()

    assert 'data-testid="reverse"' not in page  # neither the reversed line nor the reversal
    assert "reversed by #3" in page and "of line #2" in page and "Wrong payee" in page


def test_no_reverse_is_offered_on_a_closed_account(boss):
    ada = open_account(balance=100)
    execute(Withdraw(account_id=ada, amount=100, currency="EUR"), actor="teller")
    execute(CloseAccount(account_id=ada, reason="Moved abroad"), actor="supervisor")
    runner.catch_up()
    assert 'data-testid="reverse"' not in boss.get(f"/accounts/{ada}/").content.decode()


def test_a_reversal_the_rules_refuse_is_explained_before_and_after_submitting(boss, transfer):
    _, bob, position = transfer
    execute(Withdraw(account_id=bob, amount=2500, currency="EUR"), actor="teller")
    before = event_count()

    page = boss.get(reverse_url(bob, position)).content.decode()
    assert "the receiving account has only 5.00 EUR available" in page and 'name="reason"' not in page

    response = boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})
    assert response.status_code == 422
    assert "the receiving account has only 5.00 EUR available" in response.content.decode()
    assert event_count() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Say why the movement is reversed."),
        ({"reason": "   "}, "Say why the movement is reversed."),
        ({"reason": "x" * 201}, "Keep it to 200 characters or fewer."),
        ({"reason": "a\x00b"}, "Null characters are not allowed."),
    ],
)
def test_bad_input_gets_a_clear_message_and_records_nothing(boss, transfer, data, message):
    _, bob, position = transfer
    before = event_count()

    response = boss.post(reverse_url(bob, position), data)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert event_count() == before


def test_a_place_with_no_movement_of_this_account_is_not_found(boss, transfer):
    ada, bob, position = transfer
    opened = store.read_stream(bob)[0].position
    for url in (
        reverse_url(bob, opened),
        reverse_url(ada, position),
        reverse_url(bob, 10**15),
        reverse_url(bob, 10**40),
    ):
        assert boss.get(url).status_code == 404
    assert boss.get(f"/accounts/{bob}/movements/-1/reverse/").status_code == 404


def test_a_reversal_cannot_be_reversed(boss, transfer):
    _, bob, position = transfer
    boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})

    page = boss.get(reverse_url(bob, last_position(bob)))

    assert page.status_code == 200 and "cannot itself be reversed" in page.content.decode()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reason=st.one_of(st.text(max_size=250), st.just(""), st.text(alphabet="\x00\r\n\t ", max_size=5)),
    extra=st.dictionaries(st.sampled_from(["reason", "command_id", "amount", "sides"]), st.text(max_size=20)),
    twice=st.booleans(),
)
def test_any_input_is_answered_without_a_500_and_reverses_at_most_once(boss, reason, extra, twice):
    ada = open_account(balance=1000)
    url = reverse_url(ada, last_position(ada))
    data = {**extra, "reason": [reason, reason] if twice else reason}

    first, second = boss.post(url, data), boss.post(url, data)

    assert first.status_code in (303, 422) and second.status_code in (303, 422)
    assert reversals_of(ada) == (1 if first.status_code == 303 else 0)
    assert load_account(ada).balance in (0, 1000)


def test_the_history_links_a_movement_and_its_reversal(boss, transfer):
    _, bob, position = transfer
    boss.post(reverse_url(bob, position), {"reason": "Wrong payee"})

    page = boss.get(f"/accounts/{bob}/as-of/").content.decode()

    assert f'href="/accounts/{bob}/as-of/?version=2" data-testid="history-reverses">reverses #2' in page
    assert 'data-testid="history-reversed-by">reversed by #3' in page
