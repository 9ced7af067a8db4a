"""What an auditor reads of an event without opening its JSON: the owner of its account, its amount in
major units with the currency, and the other account of a movement as a link to that account's events;
in the list and on the event's page, with one query for a whole page's owners."""

from __future__ import annotations

import re
from uuid import UUID

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ledger.domain.commands import Deposit, Transfer
from ledger.execute import execute
from ledger.models import Event
from tests.admin.helpers import EVENTS, change_url, link, listed, stream_url
from tests.write.helpers import open_account, request_approval

pytestmark = pytest.mark.django_db


def _row(page: str, event: Event) -> str:
    found = re.search(rf'<tr><th class="field-position"><a [^>]*>{event.pk}</a>.*?</tr>', page)
    assert found, f"event {event.pk} should be listed"
    return found.group(0)


def _cell(row: str, name: str) -> str:
    found = re.search(rf'<td class="field-{name}">(.*?)</td>', row)
    assert found, name
    return found.group(1)


def _transfer(source: UUID, target: UUID, amount: int) -> tuple[Event, Event]:
    command = Transfer(account_id=source, to_account_id=target, amount=amount, currency="EUR")
    execute(command, actor="teller")
    sent, received = Event.objects.filter(metadata__command_id=str(command.command_id)).order_by("position")
    return sent, received


@pytest.mark.parametrize(
    ("currency", "amount", "shown"),
    [("EUR", 123_456, "1,234.56 EUR"), ("JPY", 123_456, "123,456 JPY"), ("USD", 99_999_999_999, "999,999,999.99 USD")],
)
def test_an_amount_shows_in_major_units_with_its_currency_in_the_list_and_on_its_page(auditor, currency, amount, shown):
    account = open_account(currency=currency, owner="Grace Hopper")
    execute(Deposit(account_id=account, amount=amount, currency=currency), actor="teller")
    deposit = Event.objects.get(stream_id=account, version=2)

    row = _row(auditor.get(EVENTS, {"stream": account}).content.decode(), deposit)
    page = auditor.get(change_url(deposit)).content.decode()

    assert _cell(row, "amount") == shown
    assert re.search(rf"<label>Amount:</label>\s*<div class=\"readonly\">{re.escape(shown)}</div>", page)


def test_the_owner_of_the_account_shows_on_every_one_of_its_events(auditor):
    account = open_account(balance=10_000, owner="Grace <Hopper>")
    events = Event.objects.filter(stream_id=account).order_by("position")

    page = auditor.get(EVENTS, {"stream": account}).content.decode()

    assert [_cell(_row(page, e), "owner") for e in events] == ["Grace &lt;Hopper&gt;"] * 2
    assert "Grace &lt;Hopper&gt;" in auditor.get(change_url(events[1])).content.decode()


def test_both_sides_of_a_transfer_name_the_other_account_and_link_to_its_events(auditor):
    ada, bob = open_account(balance=10_000, owner="Ada Lovelace"), open_account(owner="Bob Kahn")
    sent, received = _transfer(ada, bob, 2_500)

    page = auditor.get(EVENTS, {"correlation": sent.metadata["correlation_id"]}).content.decode()
    sent_row, received_row = _row(page, sent), _row(page, received)

    assert link(sent_row, str(bob)) == f"{EVENTS}?stream={bob}"
    assert link(received_row, str(ada)) == f"{EVENTS}?stream={ada}"
    assert "Bob Kahn" in _cell(sent_row, "counterparty") and "Ada Lovelace" in _cell(received_row, "counterparty")
    assert (_cell(sent_row, "owner"), _cell(received_row, "owner")) == ("Ada Lovelace", "Bob Kahn")
    detail = auditor.get(change_url(sent)).content.decode()
    assert link(detail, "its history") == stream_url(bob)
    assert link(detail, "its list of events") == f"{EVENTS}?stream={bob}"
    assert [e.pk for e in listed(auditor, link(detail, "its list of events"))][:1] == [received.pk]


def test_an_approval_requests_events_show_the_account_and_the_recipient_it_is_for(auditor):
    ada, bob = open_account(balance=5_000_000, owner="Ada Lovelace"), open_account(owner="Bob Kahn")
    request_id, _ = request_approval(ada, 2_000_000, to=bob)
    requested = Event.objects.get(stream_id=request_id, version=1)

    row = _row(auditor.get(EVENTS, {"stream": request_id}).content.decode(), requested)

    assert _cell(row, "owner") == "Ada Lovelace"
    assert _cell(row, "amount") == "20,000.00 EUR"
    assert link(row, str(bob)) == f"{EVENTS}?stream={bob}" and "Bob Kahn" in _cell(row, "counterparty")


def test_an_event_without_money_or_another_account_says_so_on_its_page(auditor):
    account = open_account()
    opened = Event.objects.get(stream_id=account, version=1)

    page = auditor.get(change_url(opened)).content.decode()
    row = _row(auditor.get(EVENTS, {"stream": account}).content.decode(), opened)

    assert (_cell(row, "amount"), _cell(row, "counterparty")) == ("&nbsp;", "&nbsp;")
    assert re.search(r"<label>Other account:</label>\s*<div class=\"readonly\">none</div>", page)


def test_a_page_of_many_accounts_reads_their_owners_in_one_query(auditor):
    for number in range(30):
        open_account(balance=100, owner=f"Owner {number}")

    with CaptureQueriesContext(connection) as page:
        auditor.get(EVENTS)

    assert len([q for q in page.captured_queries if "AccountOpened" in q["sql"]]) == 1


def test_the_stream_view_shows_amounts_in_major_units_and_links_the_other_account(auditor):
    ada, bob = open_account(balance=10_000), open_account(owner="Bob Kahn")
    _transfer(ada, bob, 2_550)

    page = auditor.get(stream_url(ada)).content.decode()

    assert "amount=25.50 EUR" in page and "amount=2550" not in page
    assert link(page, str(bob)) == f"{EVENTS}?stream={bob}"
