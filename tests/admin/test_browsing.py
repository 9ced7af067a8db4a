"""What an auditor finds in the event browser, on events recorded through real commands: the links
between events, the search, pretty and escaped JSON, and a stream's history with its balances."""

from __future__ import annotations

import re
from uuid import UUID, uuid4

import pytest

from ledger.domain.commands import Deposit, FreezeAccount, Transfer, Withdraw
from ledger.execute import execute
from ledger.models import Event
from ledger.moments import format_moment
from tests.admin.helpers import EVENTS, change_url, link, listed, stream_url
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db


def _transfer(source: UUID, target: UUID, amount: int, actor: str = "teller") -> tuple[Event, Event]:
    command = Transfer(account_id=source, to_account_id=target, amount=amount, currency="EUR")
    execute(command, actor=actor)
    sent, received = Event.objects.filter(metadata__command_id=str(command.command_id)).order_by("position")
    return sent, received


def test_following_a_transfers_correlation_id_shows_both_accounts_events_and_nothing_else(auditor):
    ada, bob, cy = open_account(balance=10_000), open_account(), open_account()
    sent, received = _transfer(ada, bob, 2_500)
    _transfer(ada, cy, 100)  # another transfer from the same account: not part of this one
    execute(Deposit(account_id=bob, amount=700, currency="EUR"), actor="teller")

    detail = auditor.get(change_url(sent)).content.decode()
    shown = listed(auditor, link(detail, "2 events sharing it"))

    assert [(e.stream_id, e.type) for e in shown] == [(bob, "TransferReceived"), (ada, "TransferSent")]
    assert [e.pk for e in shown] == [received.pk, sent.pk]


def test_a_transfers_second_half_links_to_the_first_and_the_first_to_what_it_caused(auditor):
    ada, bob = open_account(balance=10_000), open_account()
    sent, received = _transfer(ada, bob, 2_500)

    received_page = auditor.get(change_url(received)).content.decode()
    sent_page = auditor.get(change_url(sent)).content.decode()

    assert link(received_page, "TransferSent") == change_url(sent)
    assert [e.pk for e in listed(auditor, link(sent_page, "1 event"))] == [received.pk]
    assert "no other event" in received_page


def test_an_event_caused_by_its_command_links_to_that_commands_events(auditor):
    ada, bob = open_account(balance=10_000), open_account()
    sent, received = _transfer(ada, bob, 2_500)

    page = auditor.get(change_url(sent)).content.decode()

    assert link(page, "its events") == f"{EVENTS}?command={sent.metadata['command_id']}"
    assert {e.pk for e in listed(auditor, link(page, "its events"))} == {sent.pk, received.pk}


def test_the_whole_stream_is_one_link_away_from_any_of_its_events(auditor):
    ada = open_account(balance=10_000)
    deposit = Event.objects.get(stream_id=ada, version=2)

    page = auditor.get(change_url(deposit)).content.decode()

    assert link(page, "whole stream in order") == stream_url(ada)
    assert [e.version for e in listed(auditor, link(page, "in the list"))] == [2, 1]


def test_data_and_metadata_are_pretty_printed_and_escaped(auditor):
    ada = open_account()
    execute(
        Deposit(account_id=ada, amount=2_500, currency="EUR", memo="<script>alert('x')</script>"),
        actor="<b>mallory</b>",
    )
    deposit = Event.objects.get(stream_id=ada, version=2)

    page = auditor.get(change_url(deposit)).content.decode()

    assert "<script>alert" not in page and "<b>mallory" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "\n  &quot;amount&quot;: 2500,\n" in page  # one key a line, indented
    assert "&quot;actor&quot;: &quot;&lt;b&gt;mallory&lt;/b&gt;&quot;" in page


def test_a_list_row_shows_each_column_escaped_and_links_to_the_event_with_the_filters_kept(auditor):
    ada = open_account()
    execute(Deposit(account_id=ada, amount=2_500, currency="EUR"), actor="<b>mallory</b>")
    deposit = Event.objects.get(stream_id=ada, version=2)

    page = auditor.get(EVENTS, {"stream": ada}).content.decode()
    found = re.search(rf"<tr><th class=\"field-position\">.*?>{deposit.pk}</a>.*?</tr>", page)
    assert found, "the deposit's row should be listed"
    row = found.group(0)

    assert "<b>mallory" not in page
    actor = '<a href="/admin/ledger/event/?actor=%3Cb%3Emallory%3C%2Fb%3E">&lt;b&gt;mallory&lt;/b&gt;</a>'
    assert f'<td class="field-actor">{actor}</td>' in row
    assert '<td class="field-type">MoneyDeposited</td><td class="field-amount">25.00 EUR</td>' in row
    assert '<td class="field-version">2</td>' in row
    assert format_moment(deposit.recorded_at) in row
    assert link(row, str(deposit.pk)) == f"{change_url(deposit)}?_changelist_filters=stream%3D{ada}"
    assert link(row, str(ada)) == f"{EVENTS}?stream={ada}"
    assert link(row, deposit.metadata["correlation_id"]) == f"{EVENTS}?correlation={deposit.metadata['correlation_id']}"
    assert re.findall(r'<th scope="col" class="column-(\w+)"><div class="text"><span>([^<]+)</span>', page) == [
        ("position", "Position"),
        ("recorded", "Recorded at"),
        ("stream", "Stream"),
        ("owner", "Owner"),
        ("version", "Version"),
        ("type", "Type"),
        ("amount", "Amount"),
        ("counterparty", "Other account"),
        ("actor", "Actor"),
        ("correlation", "Correlation id"),
    ]


def test_the_list_is_newest_first(auditor):
    ada = open_account(balance=100)
    execute(Withdraw(account_id=ada, amount=40, currency="EUR"), actor="teller")

    shown = listed(auditor, stream=ada)

    assert [e.version for e in shown] == [3, 2, 1]


def test_search_finds_exact_stream_event_correlation_command_and_actor(auditor):
    actor = f"clerk-{uuid4().hex[:8]}"
    ada, bob = open_account(balance=10_000, actor=actor), open_account()
    sent, received = _transfer(ada, bob, 2_500)
    correlation = uuid4()
    execute(Deposit(account_id=bob, amount=5, currency="EUR"), actor="teller", correlation_id=correlation)
    late = Event.objects.get(stream_id=bob, version=3)

    def found(term: str) -> set[int]:
        return {e.pk for e in listed(auditor, q=term)}

    assert found(str(ada)) == set(Event.objects.filter(stream_id=ada).values_list("pk", flat=True))
    assert found(str(received.event_id).upper()) == {received.pk}
    assert found(str(correlation)) == {late.pk}
    assert found(sent.metadata["command_id"]) == {sent.pk, received.pk}
    assert found(actor) == {e.pk for e in Event.objects.filter(stream_id=ada, version__lte=2)}
    assert found(actor[:-1]) == set()  # exact, not "contains"


def test_a_malformed_link_finds_nothing_rather_than_failing(auditor):
    open_account()

    for params in ({"stream": "not-a-uuid"}, {"correlation": "x"}, {"before": "-3"}, {"before": "9" * 30}):
        assert listed(auditor, **params) == [], params


def test_the_stream_view_shows_how_the_balance_came_to_be(auditor):
    ada, bob = open_account(balance=10_000), open_account()
    execute(Withdraw(account_id=ada, amount=2_550, currency="EUR"), actor="teller")
    _transfer(ada, bob, 1_000)
    execute(FreezeAccount(account_id=ada, reason="audit"), actor="supervisor")

    response = auditor.get(stream_url(ada))

    steps = response.context["timeline"].steps
    assert [(s.event.type, s.movement, s.balance, s.state.status.value) for s in steps] == [
        ("AccountOpened", "", "0.00 EUR", "open"),
        ("MoneyDeposited", "+100.00 EUR", "100.00 EUR", "open"),
        ("MoneyWithdrawn", "\u221225.50 EUR", "74.50 EUR", "open"),
        ("TransferSent", "\u221210.00 EUR", "64.50 EUR", "open"),
        ("AccountFrozen", "", "64.50 EUR", "frozen"),
    ]
    page = response.content.decode()
    assert "balance <strong>64.50 EUR</strong>" in page
    table = page[page.index("<tbody>") :]
    assert table.index("100.00 EUR") < table.index("74.50 EUR") < table.index("64.50 EUR")


def test_a_stream_with_no_events_is_not_found(auditor):
    assert auditor.get(stream_url(uuid4())).status_code == 404
