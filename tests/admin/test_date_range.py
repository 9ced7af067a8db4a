"""The event browser's actor filter and its range of days, picked in the filter panel: the days of the
configured zone with both ends included, newest first in the order recorded, the "older" cursor in that
order, the other filters kept by each form, and any value a client sends answered without a 500 and
without recording anything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import escape
from uuid import uuid4

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.models import Event
from tests.admin.helpers import EVENTS, link, listed
from tests.write.helpers import event_count, open_account

pytestmark = pytest.mark.django_db


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def clerk() -> str:
    """An actor of this test's own, so that the list shows this test's events alone."""
    return f"clerk-{uuid4().hex[:8]}"


def deposits(clerk: str, *moments: str) -> list[Event]:
    """One deposit by `clerk` recorded at each moment (UTC), in the order given (as imported history)."""
    account = open_account(actor="teller")
    for moment in moments:
        execute(Deposit(account_id=account, amount=100, currency="EUR"), actor=clerk, recorded_at=at(moment))
    return list(Event.objects.filter(stream_id=account, type="MoneyDeposited").order_by("position"))


def test_a_range_of_days_lists_the_events_recorded_on_those_days_both_included(auditor, clerk):
    before, first, last, after = deposits(
        clerk, "2026-03-01T23:59:59", "2026-03-02T00:00:00", "2026-03-03T23:59:59.999999", "2026-03-04T00:00:00"
    )

    shown = listed(auditor, actor=clerk, recorded_from="2026-03-02", recorded_to="2026-03-03")

    assert [e.pk for e in shown] == [last.pk, first.pk]
    assert [e.pk for e in listed(auditor, actor=clerk, recorded_from="2026-03-03")] == [after.pk, last.pk]
    assert [e.pk for e in listed(auditor, actor=clerk, recorded_to="2026-03-01")] == [before.pk]


def test_the_days_are_those_of_the_configured_zone(auditor, clerk, settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # TALLY_TIME_ZONE; 2 March begins at 15:00 UTC on 1 March
    late_evening, next_morning = deposits(clerk, "2026-03-01T14:59:59", "2026-03-01T15:00:00")

    shown = listed(auditor, actor=clerk, recorded_from="2026-03-02", recorded_to="2026-03-02")

    assert [e.pk for e in shown] == [next_morning.pk]
    assert late_evening.pk not in [e.pk for e in listed(auditor, actor=clerk, recorded_from="2026-03-02")]


def test_a_range_that_ends_on_a_day_lists_newest_recorded_first_and_pages_on_in_that_order(auditor, clerk):
    # Imported history: positions do not follow the moments recorded.
    third, first, fourth, second = deposits(
        clerk, "2026-03-03T10:00", "2026-03-01T10:00", "2026-03-04T10:00", "2026-03-02T10:00"
    )
    in_range = {"actor": clerk, "recorded_from": "2026-03-01", "recorded_to": "2026-03-31"}

    by_time = listed(auditor, **in_range)
    older = listed(auditor, **in_range, before=str(third.pk))

    assert [e.pk for e in by_time] == [fourth.pk, third.pk, second.pk, first.pk]
    assert [e.pk for e in older] == [second.pk, first.pk]
    # Open towards today, the list keeps the log's order (the position), as without a range.
    assert [e.pk for e in listed(auditor, actor=clerk, recorded_from="2026-03-01")] == [
        second.pk,
        fourth.pk,
        first.pk,
        third.pk,
    ]


def test_an_older_cursor_no_list_made_finds_nothing_in_the_order_recorded(auditor, clerk):
    deposits(clerk, "2026-03-01T10:00")

    assert listed(auditor, actor=clerk, recorded_to="2026-03-31", before=str(2**62)) == []


def test_the_actor_filter_is_exact_and_an_actors_name_in_the_list_sets_it(auditor, clerk):
    (deposit,) = deposits(clerk, "2026-03-01T10:00")
    open_account(actor=f"{clerk}-2")

    page = auditor.get(EVENTS, {"stream": str(deposit.stream_id)}).content.decode()

    assert [e.pk for e in listed(auditor, link(page, clerk))] == [deposit.pk]
    assert listed(auditor, actor=clerk[:-1]) == []


def test_each_form_in_the_panel_keeps_the_other_filters_but_not_the_older_cursor(auditor, clerk):
    (deposit,) = deposits(clerk, "2026-03-01T10:00")

    page = auditor.get(
        EVENTS, {"type": "MoneyDeposited", "q": clerk, "actor": clerk, "before": "999999999"}
    ).content.decode()
    date_form = page[page.index('id="recorded-range"') : page.index("</form>", page.index('id="recorded-range"'))]
    actor_form = page[page.index('id="actor-filter"') : page.index("</form>", page.index('id="actor-filter"'))]

    assert '<input type="hidden" name="type" value="MoneyDeposited">' in date_form
    assert f'<input type="hidden" name="q" value="{clerk}">' in date_form
    assert f'<input type="hidden" name="actor" value="{clerk}">' in date_form
    assert 'name="before"' not in date_form and 'name="before"' not in actor_form
    assert f'name="actor" value="{clerk}"' in actor_form and 'name="type" value="MoneyDeposited"' in actor_form
    assert [e.pk for e in listed(auditor, type="MoneyDeposited", actor=clerk, recorded_from="2026-03-01")] == [
        deposit.pk
    ]


def test_the_quick_links_choose_days_up_to_today_and_show_in_the_form(auditor, clerk):
    page = auditor.get(EVENTS, {"actor": clerk}).content.decode()
    past_week = link(page, "Past 7 days")
    week_ago = (timezone.localdate() - timedelta(days=6)).isoformat()

    chosen = auditor.get(EVENTS + past_week)

    assert past_week == f"?actor={clerk}&recorded_from={week_ago}"
    body = chosen.content.decode()
    assert f'<li class="selected"><a href="{escape(past_week)}">Past 7 days</a></li>' in body
    assert f'name="recorded_from" value="{week_ago}"' in body and 'name="recorded_to" value=""' in body
    assert chosen.context["cl"].queryset.query.order_by == ("-position",)  # open towards today: the log's order


def test_a_range_that_ends_before_it_starts_matches_nothing_and_says_why(auditor, clerk):
    deposits(clerk, "2026-03-02T10:00")

    response = auditor.get(EVENTS, {"actor": clerk, "recorded_from": "2026-03-03", "recorded_to": "2026-03-01"})

    assert list(response.context["cl"].result_list) == []
    assert "“To” is before “From”" in response.content.decode()


@pytest.mark.parametrize(
    ("since", "until"),
    [("0001-01-01", "9999-12-31"), ("", "9999-12-31"), ("0001-01-01", "")],
)
def test_the_first_and_last_days_python_counts_leave_the_range_open(auditor, clerk, settings, since, until):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: the first day's midnight is before year 1 in UTC
    (deposit,) = deposits(clerk, "2026-03-01T10:00")

    assert [e.pk for e in listed(auditor, actor=clerk, recorded_from=since, recorded_to=until)] == [deposit.pk]


@pytest.mark.parametrize("day", ["2026-02-30", "2026-3-1", "01/03/2026", "２０２６-03-01", "2026-03-01T10:00", "x"])
@pytest.mark.parametrize("name", ["recorded_from", "recorded_to"])
def test_a_day_that_is_not_one_gets_the_admins_cannot_be_shown_page(auditor, name, day):
    response = auditor.get(EVENTS, {name: day})

    assert response.status_code == 302 and response["Location"] == f"{EVENTS}?e=1"


def test_exact_moments_in_the_address_still_filter_and_show_in_the_panel_only_then(auditor, clerk):
    early, late = deposits(clerk, "2026-03-01T10:00", "2026-03-01T12:00")

    plain = auditor.get(EVENTS, {"actor": clerk}).content.decode()
    moments = auditor.get(EVENTS, {"actor": clerk, "recorded_at__gte": "2026-03-01 11:00:00+00:00"})

    assert "By recorded at" not in plain and "By date recorded" in plain
    assert "By recorded at" in moments.content.decode()
    assert [e.pk for e in moments.context["cl"].result_list] == [late.pk] and early.pk != late.pk


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
DAYS = st.dates().map(str) | st.builds(
    "{}-{:02}-{:02}".format, st.integers(0, 99999), st.integers(0, 99), st.integers(0, 99)
)
ANY = st.text(max_size=30) | DAYS | st.integers().map(str) | st.sampled_from(["", "\x00", "\ud800", " ", "&", "%"])


@SETTINGS
@given(
    params=st.dictionaries(
        st.sampled_from(["recorded_from", "recorded_to", "actor", "before", "recorded_at__gte", "p", "q"]),
        ANY,
        min_size=1,
    )
)
def test_any_value_of_the_new_filters_gets_a_page_and_records_nothing(auditor, params):
    before = event_count()

    response = auditor.get(EVENTS, {k: v.encode("utf-8", "surrogatepass") for k, v in params.items()})

    assert response.status_code in (200, 302), (params, response.status_code)
    if response.status_code == 302:
        assert response["Location"].endswith("?e=1")
    assert event_count() == before
