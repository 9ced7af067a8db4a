"""Every page of the event browser on a million events: it renders, and no query behind it scans
the event table (EXPLAIN ANALYZE of each query the page ran)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import psutil
import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.utils.timezone import localdate, localtime

from ledger.admin.browser import EventAdmin
from ledger.models import Event
from tests.admin.helpers import BULK_EVENTS, EVENTS, bulk_id, change_url, link, stream_url

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("million_events")]

ROOT = Path(__file__).resolve().parents[2]
STREAM = bulk_id("stream-42")  # events n = 42, 10_042, ... 990_042 (see conftest._bulk_insert)
COMMAND = bulk_id("command-500042")  # event n = 500_042: version 51 of that stream, AccountFrozen


def _plan(sql: str, params: Any = None) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    return (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _scans_of_the_event_table(sql: str, params: Any = None) -> tuple[list[str], int]:
    """The scans of ledger_event in the query's plan, and how many rows they looked at."""
    scans = [node for node in _nodes(_plan(sql, params)) if node.get("Relation Name") == "ledger_event"]
    looked_at = sum(
        (node["Actual Rows"] + node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0))
        * node["Actual Loops"]
        for node in scans
    )
    return [node["Node Type"] for node in scans], looked_at


@contextmanager
def _statements() -> Iterator[list[tuple[str, Any]]]:
    """Each statement run meanwhile with its parameters, as sent to the cursor. Not the SQL of
    CaptureQueriesContext: the event store's server-binding cursor logs it with $1 placeholders,
    which EXPLAIN cannot run without the values."""
    ran: list[tuple[str, Any]] = []

    def record(execute, sql, params, many, context):
        ran.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        yield ran


def _days(*days_ago: int) -> dict[str, str]:
    """A range of days as the panel's form sends it: the first and last day, counted back from today."""
    first, last = (str(localdate() - timedelta(days=n)) for n in days_ago)
    return {"recorded_from": first, "recorded_to": last}


def _ranges(auditor, frozen: Event) -> list[str]:
    """Ranges of days ending in the past (listed in the order recorded), alone and with an actor or a
    type, and a range's "older" page. A day holds 86,400 of the bulk events (one a second)."""
    frozen_day = (localdate() - localtime(frozen.recorded_at).date()).days
    ranges = [
        _days(5, 5),  # a day in the middle of the table
        _days(9, 3),  # a week, most of the table
        {"recorded_to": str(localdate() - timedelta(days=6))},  # everything up to a day
        {**_days(5, 5), "actor": "teller-3"},  # a fifth of the day's events
        {**_days(9, 3), "actor": "supervisor"},  # one in a thousand, over a week
        {**_days(5, 5), "actor": "nobody"},
        {**_days(5, 5), "type": "MoneyDeposited"},
        {**_days(frozen_day, frozen_day), "type": "AccountFrozen"},  # all freezes fall on one day
        {**_days(5, 5), "stream": str(STREAM)},
        {**_days(5, 5), "q": "teller-3"},
    ]
    pages = [f"{EVENTS}?{urlencode(params)}" for params in ranges]
    older = link(auditor.get(pages[0]).content.decode(), "Older events")
    return [*pages, EVENTS + older, f"{EVENTS}?{urlencode({**_days(5, 5), 'p': 100})}"]


def _pages_to_visit(auditor) -> list[str]:
    frozen = Event.objects.get(metadata__command_id=str(COMMAND))
    listing = auditor.get(EVENTS)
    cl = listing.context["cl"]
    # Every choice every sidebar filter offers (type, stream type, each date range), as linked.
    offered = [EVENTS + choice["query_string"] for spec in cl.filter_specs for choice in spec.choices(cl)]
    return [
        *_ranges(auditor, frozen),
        f"{EVENTS}?actor=teller-3",  # a fifth of all events
        f"{EVENTS}?actor=supervisor",  # one in a thousand
        EVENTS,
        *offered,
        f"{EVENTS}?p=100",  # the deepest page number offered
        EVENTS + link(listing.content.decode(), "Older events"),
        f"{EVENTS}?before=12345",
        f"{EVENTS}?stream={STREAM}",
        f"{EVENTS}?correlation={COMMAND}",
        f"{EVENTS}?command={COMMAND}",
        f"{EVENTS}?caused_by={frozen.event_id}",
        f"{EVENTS}?type=AccountClosed&stream_type=account",  # a type no event has
        # A day with no events, given as the date filter's own links give it: with the time zone.
        f"{EVENTS}?"
        + urlencode(
            {
                "recorded_at__gte": str(
                    localtime().replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=2)
                )
            }
        ),
        f"{EVENTS}?q={STREAM}",
        f"{EVENTS}?q={frozen.event_id}",
        f"{EVENTS}?q={COMMAND}",  # the correlation and the command id of one event
        f"{EVENTS}?q=teller-3",  # a fifth of all events
        f"{EVENTS}?q=supervisor",  # one in a thousand
        f"{EVENTS}?q=nobody",
        change_url(frozen),
        stream_url(STREAM),
    ]


def test_every_page_renders_without_scanning_the_event_table(auditor):
    # A capped count stops after CAP + 1 matches, which takes up to 50,000 rows for an actor behind
    # a fifth of all events. A query that scans the table in search of its matches looks at all.
    budget = BULK_EVENTS // 10
    problems = []
    pages = _pages_to_visit(auditor)
    assert len(pages) > 25

    for page in pages:
        with _statements() as ran:
            response = auditor.get(page)
        if response.status_code != 200:
            problems.append(f"{page}: HTTP {response.status_code}")
        for query, params in ((sql, params) for sql, params in ran if "ledger_event" in sql):
            scans, rows = _scans_of_the_event_table(query, params)
            if "Seq Scan" in scans or rows > budget:
                problems.append(f"{page}: {scans} looked at {rows} rows: {query[:300]}")

    assert problems == []


@pytest.mark.parametrize("term", [STREAM, COMMAND], ids=["stream id", "correlation id"])
def test_a_search_by_stream_or_correlation_id_uses_an_index(term: UUID, rf: RequestFactory):
    browser = EventAdmin(Event, admin.site)
    found, _ = browser.get_search_results(rf.get(EVENTS), Event.objects.all(), str(term))
    page = found.order_by("-position")[:100]  # as the change list asks for it
    sql, params = page.query.sql_with_params()
    with connection.cursor() as cursor:
        sql = cursor.mogrify(sql, params)

    scans, _ = _scans_of_the_event_table(sql)

    assert scans and set(scans) <= {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}, scans
    assert len(page) >= 1


def test_the_list_counts_no_further_than_its_page_numbers_reach(auditor):
    listing = auditor.get(EVENTS)
    older = EVENTS + link(listing.content.decode(), "Older events")

    assert "the newest 10,000 of about 1,000,000 events" in " ".join(listing.content.decode().split())
    assert listing.context["cl"].paginator.num_pages == 100
    assert auditor.get(f"{EVENTS}?p=101").status_code == 302  # past the last page number: ?e=1
    assert older == f"{EVENTS}?before={1_000_000 - 99}"
    next_rows = auditor.get(older).context["cl"].result_list
    assert [e.pk for e in next_rows][:2] == [1_000_000 - 100, 1_000_000 - 101]


def test_the_unfiltered_list_counts_no_events_when_the_estimate_is_far_above_the_cap(auditor):
    with _statements() as ran:
        listing = auditor.get(EVENTS)

    assert listing.context["cl"].paginator.truncated
    assert [sql for sql, _ in ran if "COUNT(" in sql.upper()] == []


def test_the_stream_view_folds_a_hundred_events_spread_over_the_table(auditor):
    timeline = auditor.get(stream_url(STREAM)).context["timeline"]

    assert [s.event.version for s in timeline.steps] == list(range(1, 101))
    assert timeline.balance == "298.00 EUR"  # 49 deposits of 10.00, 48 withdrawals of 4.00
    assert timeline.last.status.value == "open"  # frozen at version 51, unfrozen at 52


def test_a_day_long_ago_lists_its_own_events_newest_first(auditor):
    day = localdate() - timedelta(days=5)

    rows = auditor.get(EVENTS, _days(5, 5)).context["cl"].result_list
    moments = [localtime(event.recorded_at) for event in rows]

    assert len(moments) == 100 and {moment.date() for moment in moments} == {day}
    assert moments == sorted(moments, reverse=True) and moments[0].time() >= time(23, 59, 58)  # one event a second


def test_the_whole_log_exports_as_json_lines_in_flat_memory_and_its_chains_verify_offline(auditor, tmp_path):
    """A million events streamed out of the web process: it holds a batch, never the export. The
    process's resident memory once the first 100,000 events are out stays what it is to the end.
    Then the auditor's script checks every hash of the file, without Tally or the database."""
    process = psutil.Process()
    exported = tmp_path / "events.jsonl"
    response = auditor.get(reverse("admin:ledger_event_export", args=["jsonl"]))
    assert response.status_code == 200 and response.streaming

    lines = size = 0
    first = last = ""
    settled = highest = 0
    with exported.open("wb") as file:
        for chunk in response.streaming_content:
            file.write(chunk)
            text = chunk.decode()
            lines += text.count("\n")
            size += len(chunk)
            first, last = first or text[: text.index("\n")], text
            if lines >= BULK_EVENTS // 10:
                rss = process.memory_info().rss
                settled, highest = settled or rss, max(highest, rss)

    assert lines == BULK_EVENTS
    assert json.loads(first)["position"] == 1 and json.loads(last.splitlines()[-1])["position"] == BULK_EVENTS
    grew = (highest - settled) / 2**20
    # Holding the export would grow by the 800+ MiB streamed after the settling point; what the
    # allocator does with a batch's buffers moves it by a few MiB either way (4 to 19 MiB measured).
    assert size > 400 * 2**20 and grew < 48, f"{size / 2**20:.0f} MiB exported; memory grew {grew:.0f} MiB meanwhile"
    checked = subprocess.run(
        [sys.executable, "-I", ROOT / "scripts" / "verify_export.py", exported], capture_output=True, text=True
    )
    assert checked.returncode == 0 and checked.stdout.startswith("1,000,000 events checked"), checked.stdout
