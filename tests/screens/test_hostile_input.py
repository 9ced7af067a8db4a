"""Input a client can send that Postgres cannot hold or Python cannot read as asked gets the page's
own answer, never a 500: text with a NUL byte (or, from code, a lone surrogate) in a search or a
filter matches nothing; a page number past what the database counts is the last page; an
impossible moment or a version that is not plain digits gets the as-of page's message; a session
cookie that is not of the shape Django makes is no session."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from projections import queries, runner
from tests.write.helpers import open_account

pytestmark = pytest.mark.usefixtures("committed")  # the runner reads only committed events

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text with a NUL somewhere in it: Postgres text cannot contain one, and psycopg refuses to send it.
with_nul = st.tuples(st.text(max_size=8), st.text(max_size=8)).map(lambda parts: "\x00".join(parts))
# A lone surrogate cannot be encoded as UTF-8. A URL cannot carry one (Django decodes the query
# string with replacement characters), but the query functions are also called from code.
with_surrogate = st.tuples(
    st.text(max_size=8), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), st.text(max_size=8)
).map("".join)
unstorable = st.one_of(with_nul, with_surrogate)


# Other tests share the database (seed_demo's owners among them): a name of this module's own.
BYRON = f"Ada Byron {uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ada(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        account = open_account(owner="Ada Lovelace", balance=10_000)
        open_account(owner=BYRON)  # a transfer target for Ada's account
        runner.catch_up()
    return account


@pytest.fixture
def teller(client_for):
    return client_for(Role.TELLER)


# --- 3. text Postgres cannot hold -------------------------------------------------------------


@SETTINGS
@given(text=with_nul, field=st.sampled_from(["q", "status", "currency"]))
def test_a_nul_in_the_accounts_search_or_filters_matches_nothing(teller, ada, text, field):
    response = teller.get("/accounts/", {field: text})

    assert response.status_code == 200
    assert list(response.context["page"]) == []


@SETTINGS
@given(text=with_nul)
def test_a_nul_in_the_transfer_target_lookup_offers_nothing(teller, ada, text):
    response = teller.get(f"/accounts/{ada}/transfer-targets/", {"q": text})

    assert response.status_code == 200
    assert response.context["options"] == []


@SETTINGS
@given(text=unstorable)
def test_the_query_functions_match_nothing_for_text_postgres_cannot_hold(ada, text):
    assert list(queries.accounts_search(q=text)) == []
    assert list(queries.accounts_search(status=text)) == []
    assert list(queries.accounts_search(currency=text)) == []
    assert queries.account_options(currency="EUR", exclude=None, q=text) == []


def test_text_postgres_can_hold_still_finds_what_it_names(ada):
    assert ada in {a.account_id for a in queries.accounts_search(q="Ada Lovelace", status="open", currency="EUR")}
    assert [a.owner for a in queries.account_options(currency="EUR", exclude=ada, q=BYRON[:-3])] == [BYRON]


# --- 4. page numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("page", ["9" * 18, str(2**63), str(2**64 + 1), "9" * 4_000, "9" * 5_000, "-" + "9" * 30])
def test_a_statement_page_number_past_what_the_database_counts_is_the_last_or_first_page(teller, ada, page):
    response = teller.get(f"/accounts/{ada}/", {"page": page})

    assert response.status_code == 200
    assert response.context["statement"].number == 1  # the account has one page of lines
    assert queries.statement_page(account_id=ada, page=page).number == 1


def test_a_statement_page_past_the_end_of_a_long_statement_is_its_last_page():
    account = open_account(balance=100)
    for _ in range(queries.PAGE_SIZE):
        execute(Deposit(account_id=account, amount=1, currency="EUR"), actor="teller")
    runner.catch_up()

    assert queries.statement_page(account_id=account, page=str(2**70)).number == 2


# --- 5. the as-of view -------------------------------------------------------------------------

MOMENT_MESSAGE = "Enter the moment as a date and time"
IMPOSSIBLE_MOMENTS = [
    "2026-02-30T10:00",
    "2026-02-30 10:00:00+01:00",
    "2026-03-01T25:00",
    "2026-03-01T10:61",
    "2026-03-01T10:00+99:00",
    "2026-03-01T10:00-24:00",
    "2026-13-01T10:00",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "0001-01-01T00:00:00+23:59",
    "9999-12-31T23:59:59-23:59",
]


@pytest.mark.parametrize("at", IMPOSSIBLE_MOMENTS)
def test_an_impossible_or_unrepresentable_moment_gets_the_as_of_pages_message(teller, ada, at):
    response = teller.get(f"/accounts/{ada}/as-of/", {"at": at})

    assert response.status_code == 200
    assert response.context["error"] and response.context["at"] is None
    assert response.context["state"] is not None  # the account as it is now, under the message


@pytest.mark.parametrize("version", ["²", "¹²", "١٢", "１２", "٣", "൧", "9" * 5_000, "-1", "+1", " 1", "1.0", "1e3"])
def test_a_version_that_is_not_plain_digits_gets_the_as_of_pages_message(teller, ada, version):
    response = teller.get(f"/accounts/{ada}/as-of/", {"version": version})

    assert response.status_code == 200
    assert response.context["version"] is None
    assert "Choose one of the account's events" in response.context["error"]


def test_a_possible_moment_and_a_real_version_still_show_the_history_then(teller, ada):
    now = datetime.now().astimezone()
    before = (now - timedelta(days=3650)).isoformat(timespec="seconds")
    after = (now + timedelta(hours=1)).isoformat(timespec="seconds")

    assert teller.get(f"/accounts/{ada}/as-of/", {"at": before}).context["state"] is None
    later = teller.get(f"/accounts/{ada}/as-of/", {"at": after})
    assert later.context["error"] == "" and later.context["state"].balance >= 10_000
    first = teller.get(f"/accounts/{ada}/as-of/", {"version": "1"})
    assert first.context["error"] == "" and first.context["state"].balance == 0


@SETTINGS
@given(at=st.text(max_size=40), version=st.text(max_size=12))
def test_any_moment_or_version_text_gets_a_page_not_a_500(teller, ada, at, version):
    response = teller.get(f"/accounts/{ada}/as-of/", {"at": at, "version": version})

    assert response.status_code == 200


# --- 6. session cookies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "\x00" * 32,
        "a" * 31 + "\x00",
        "abc\x00def" * 4,
        "A" * 32,
        "a" * 31,
        "a" * 33,
        "é" * 32,
        "a" * 31 + "\n",
        "x" * 100_000,
    ],
)
def test_a_session_cookie_not_of_the_shape_django_makes_is_no_session(key):
    from django.test import Client

    stranger = Client()
    stranger.cookies["sessionid"] = key

    with CaptureQueriesContext(connection) as ran:
        response = stranger.get("/accounts/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert not [q for q in ran.captured_queries if "django_session" in q["sql"]]  # not even looked up


def test_a_session_key_of_the_right_shape_still_signs_its_user_in(teller):
    response = teller.get("/accounts/")

    assert response.status_code == 200 and "Log out" in response.content.decode()
