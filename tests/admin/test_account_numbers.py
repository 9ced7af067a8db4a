"""The event browser and account numbers: a number (however typed) finds its account's stream from the
number alone, the start of an owner's name (or of a word in it) finds that owner's accounts, a
mistyped number says so, and an account's events and stream view show its number."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.account_numbers import number_of
from ledger.admin import filters
from ledger.domain.account_number import grouped
from ledger.domain.commands import Transfer
from ledger.execute import execute
from ledger.roles import Role
from projections import runner
from tests.admin.helpers import EVENTS, change_url, stream_url
from tests.screens.helpers import make_user
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")  # owners are found through the read side's table

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def auditor():
    from django.test import Client

    client = Client()
    client.force_login(make_user("auditor-numbers", Role.AUDITOR))
    return client


@pytest.fixture
def owners():
    """Two accounts of a rarely named owner and one of another: (lovelace, lovelace_usd, hopper, tag)."""
    tag = uuid4().hex[:8]
    lovelace = open_account(owner=f"Augusta{tag} Lovelace{tag}", balance=500)
    lovelace_usd = open_account(owner=f"Augusta{tag} Lovelace{tag}", currency="USD")
    hopper = open_account(owner=f"Grace{tag} Hopper{tag}", balance=700)
    execute(Transfer(account_id=hopper, to_account_id=lovelace, amount=100, currency="EUR"), actor="teller")
    runner.catch_up()
    return lovelace, lovelace_usd, hopper, tag


def streams_found(auditor, q: str) -> set:
    response = auditor.get(EVENTS, {"q": q})
    assert response.status_code == 200
    return {event.stream_id for event in response.context["cl"].result_list}


@pytest.mark.parametrize("spelling", [grouped, str, str.lower, lambda n: grouped(n)[2:], lambda n: f"  {n}  "])
def test_a_number_finds_its_accounts_stream_however_it_is_typed(auditor, owners, spelling):
    lovelace, *_ = owners
    number = number_of(lovelace)
    assert number is not None

    assert streams_found(auditor, spelling(number)) == {lovelace}


def test_the_start_of_an_owners_name_or_of_a_word_in_it_finds_their_accounts(auditor, owners):
    lovelace, lovelace_usd, hopper, tag = owners

    assert streams_found(auditor, f"augusta{tag}") == {lovelace, lovelace_usd}
    assert streams_found(auditor, f"Augusta{tag} Love") == {lovelace, lovelace_usd}
    assert streams_found(auditor, f"LOVELACE{tag}"[:-2]) == {lovelace, lovelace_usd}  # a word's start
    assert streams_found(auditor, f"race{tag}") == set()  # a part inside a word is no start
    assert streams_found(auditor, f"Grace{tag}") == {hopper}


def test_an_actors_name_still_finds_their_events(auditor, owners):
    lovelace, *_ = owners

    by_teller = filters.search_events(filters.Event.objects.filter(stream_id=lovelace), "teller")

    assert [e.type for e in by_teller] == ["TransferReceived", "MoneyDeposited", "AccountOpened"]


def test_a_mistyped_number_finds_nothing_and_says_why(auditor, owners):
    lovelace, *_ = owners
    number = grouped(number_of(lovelace) or "")
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)

    response = auditor.get(EVENTS, {"q": wrong})

    assert list(response.context["cl"].result_list) == []
    assert f"{wrong} is not a valid account number: check the digits." in response.content.decode()


def test_more_owners_than_one_search_follows_are_cut_and_the_note_says_so(owners, monkeypatch):
    *_, tag = owners
    monkeypatch.setattr(filters, "OWNER_ACCOUNTS", 1)

    found = filters.search(filters.Event.objects.all(), f"Augusta{tag}")

    assert len({e.stream_id for e in found.events}) == 1
    assert "More than 1 accounts" in found.note and "Type more of the name" in found.note


def test_an_account_streams_events_and_stream_view_show_its_number(auditor, owners):
    lovelace, *_ = owners
    number = grouped(number_of(lovelace) or "")
    later = filters.Event.objects.filter(stream_id=lovelace, version=2).get()
    opened = filters.Event.objects.filter(stream_id=lovelace, version=1).get()

    for event in (opened, later):
        assert f"account <strong>{number}</strong>" in auditor.get(change_url(event)).content.decode()
    stream = auditor.get(stream_url(lovelace)).content.decode()
    assert f'data-testid="stream-account-number">{number}</strong>' in stream
    assert f"Account {number}" in stream  # the page's title


@SETTINGS
@given(text=st.one_of(st.text(max_size=30), st.from_regex(r"(?i)(tl)?[0-9 \-]{0,20}", fullmatch=True)))
@example(text="TL" + "9" * 5_000)
@example(text="\x00")
def test_any_search_text_gets_a_page_never_a_500(auditor, owners, text):
    assert auditor.get(EVENTS, {"q": text}).status_code == 200
