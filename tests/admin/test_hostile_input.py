"""The event browser answers every filter and search value a client can send with its own page:
text Postgres cannot hold (a NUL byte) matches nothing, a type that is not in the registry matches
nothing, and a page number past the last page is the last page. Never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.admin.filters import search_events
from ledger.models import Event
from tests.admin.helpers import EVENTS, stream_url
from tests.write.helpers import open_account

pytestmark = pytest.mark.django_db

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
with_nul = st.tuples(st.text(max_size=8), st.text(max_size=8)).map(lambda parts: "\x00".join(parts))
FILTERS = ["type", "stream_type", "stream", "correlation", "command", "caused_by", "before"]


@pytest.fixture
def account(db):
    return open_account(balance=100)


@SETTINGS
@given(text=with_nul, name=st.sampled_from(FILTERS))
def test_a_nul_in_any_filter_matches_nothing(auditor, account, text, name):
    response = auditor.get(EVENTS, {name: text})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []


@SETTINGS
@given(text=with_nul)
def test_a_nul_in_the_search_gets_the_admins_own_message(auditor, account, text):
    response = auditor.get(EVENTS, {"q": text, "stream": str(account)})

    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()


@pytest.mark.parametrize(
    ("name", "value"),
    [("type", "NoSuchEvent"), ("type", "moneydeposited"), ("stream_type", "customer"), ("q", "nobody-at-all")],
)
def test_a_type_or_actor_that_is_not_recorded_matches_nothing(auditor, account, name, value):
    assert list(auditor.get(EVENTS, {name: value}).context["cl"].result_list) == []


def test_a_known_type_and_an_actor_still_match(auditor, account):
    deposits = auditor.get(EVENTS, {"type": "MoneyDeposited", "stream": str(account)}).context["cl"].result_list
    by_teller = auditor.get(EVENTS, {"q": "teller", "stream": str(account)}).context["cl"].result_list

    assert [e.type for e in deposits] == ["MoneyDeposited"]
    assert [e.type for e in by_teller] == ["MoneyDeposited", "AccountOpened"]


@pytest.mark.parametrize("text", ["\x00", "teller\x00", "\ud800", "a\udfffb"])
def test_search_matches_nothing_for_text_postgres_cannot_hold(account, text):
    assert list(search_events(Event.objects.all(), text)) == []


@pytest.mark.parametrize("page", ["9" * 30, str(2**63), "9" * 5_000, "-1", "²", "１"])
def test_a_stream_page_number_of_any_size_shows_a_page_of_the_stream(auditor, account, page):
    response = auditor.get(stream_url(account), {"page": page})

    assert response.status_code == 200
    assert response.context["timeline"].page == 1


@pytest.mark.parametrize(
    "moment",
    [
        "0001-01-01T00:00:00+23:59",
        "0001-01-01 00:00:00+00:01",
        "9999-12-31T23:59:59-01:00",
        "2026-02-30",
        "2026-03-01T25:00",
        "2026-03-01T10:00+99:00",
    ],
)
@pytest.mark.parametrize("bound", ["recorded_at__gte", "recorded_at__lt"])
def test_a_moment_without_a_utc_time_sends_the_auditor_back_to_the_whole_list(auditor, account, bound, moment):
    response = auditor.get(EVENTS, {bound: moment})

    assert response.status_code == 302 and response["Location"] == f"{EVENTS}?e=1"  # the admin's answer
    assert auditor.get(response["Location"]).status_code == 200


@pytest.mark.parametrize(
    ("since", "until", "found"),
    [
        ("2000-01-01 00:00:00+23:59", "2999-01-01 00:00:00-23:59", True),  # Postgres takes offsets below 16 hours
        ("2000-01-01 00:00:00+16:00", "2000-01-02 00:00:00-16:00", False),
        ("2999-01-01", "", False),
        ("0001-01-02 00:00:00+23:59", "", True),  # near the first moment Python knows, with a UTC time
    ],
)
def test_a_moment_with_any_offset_python_reads_filters_by_that_moment(auditor, account, since, until, found):
    params = {"stream": str(account), "recorded_at__gte": since, **({"recorded_at__lt": until} if until else {})}

    response = auditor.get(EVENTS, params)

    assert response.status_code == 200
    assert bool(list(response.context["cl"].result_list)) is found


def test_a_list_that_still_cannot_be_shown_says_so_without_blaming_the_database(auditor, account):
    body = auditor.get(EVENTS, {"recorded_at__gte": "2026-02-30", "e": "1"}).content.decode()

    assert "The filters in this page's address cannot be applied" in body
    assert "database installation" not in body
