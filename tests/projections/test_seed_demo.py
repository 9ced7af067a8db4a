"""seed_demo: everything recorded in the past and in order, a summary that adds up, no second set of
demo accounts by accident, and a progress bar for the catch-up that follows."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
import threading
from io import StringIO
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from ledger import store
from projections import runner
from tests.projections.helpers import differences
from tests.write.helpers import open_account

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"Seeded (\d+) accounts .* and (\d+) commands? on them: (\d+) executed, (\d+) refused by the "
    r"rules \(as in real life\), (\d+) skipped"
)


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def seeded_after(position: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT stream_id, version, type, recorded_at, metadata ->> 'command_id' FROM ledger_event"
            " WHERE position > %s AND metadata ->> 'source' = 'seed' ORDER BY position",
            [position],
        )
        return cursor.fetchall()


@pytest.fixture
def debug(settings):
    settings.DEBUG = True


def test_every_seeded_event_is_recorded_in_the_past_and_in_order_on_each_account(committed, debug):
    head = store.head_position()

    seed("--add", "--accounts", "4", "--events", "400", "--days", "1", "--seed", "11")
    finished = timezone.now()

    events = seeded_after(head)
    assert "AccountUnfrozen" in {kind for _, _, kind, _, _ in events}  # unfreezes due within the day happen
    assert max(at for *_, at, _ in events) <= finished
    by_stream: dict = {}
    for stream, _, _, at, _ in sorted(events, key=lambda e: (e[0], e[1])):
        by_stream.setdefault(stream, []).append(at)
    assert all(times == sorted(times) for times in by_stream.values())


@hypothesis_settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(accounts=st.integers(2, 6), events=st.integers(0, 90), days=st.integers(1, 4), seed_=st.integers(0, 10**6))
def test_the_summary_adds_up_to_the_events_asked_for_and_to_what_was_recorded(
    committed, debug, accounts, events, days, seed_
):
    head = store.head_position()

    summary = SUMMARY.search(
        seed("--add", "--accounts", str(accounts), "--events", str(events), "--days", str(days), "--seed", str(seed_))
    )

    assert summary, "the summary says what was done"
    said_accounts, said_events, executed, refused, skipped = map(int, summary.groups())
    assert (said_accounts, said_events) == (accounts, events)
    assert executed + refused + skipped == events
    commands = {command_id for *_, command_id in seeded_after(head)}
    assert len(commands) == 2 * accounts + executed  # each opening is an open and a first deposit
    assert max((at for *_, at, _ in seeded_after(head)), default=timezone.now()) <= timezone.now()


def test_seeding_a_ledger_that_holds_events_is_refused_and_records_nothing(committed, debug):
    open_account(balance=100)
    head = store.head_position()

    with pytest.raises(CommandError, match=r"holds events already.*--add.*--if-empty"):
        seed("--accounts", "3", "--events", "10")

    assert store.head_position() == head


def test_if_empty_on_a_ledger_that_holds_events_seeds_nothing_and_leaves_the_demo_users_ready(committed, debug):
    open_account(balance=100)
    head = store.head_position()

    said = seed("--if-empty", "--accounts", "3", "--events", "10")

    assert "nothing seeded" in said and store.head_position() == head
    assert all(authenticate(username=role, password="tally") for role in ("teller", "supervisor", "auditor"))


def database_url() -> str:
    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")
    return f"postgres://{db['USER']}@{host}{':' + str(db['PORT']) if db['PORT'] else ''}/{db['NAME']}"


def test_the_catch_up_after_seeding_shows_a_progress_bar_on_a_terminal(committed):
    runner.catch_up()  # every projector at the same checkpoint: the bar counts the seeded events only
    terminal, child_side = pty.openpty()
    shown: list[bytes] = []

    def read() -> None:
        while True:
            try:
                chunk = os.read(terminal, 4096)
            except OSError:  # the child's side closed
                return
            if not chunk:
                return
            shown.append(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        done = subprocess.run(
            [sys.executable, "manage.py", "seed_demo", "--add", "--accounts", "3", "--events", "30", "--days", "2"],
            cwd=ROOT,
            env={**os.environ, "DJANGO_DEBUG": "1", "DATABASE_URL": database_url()},
            stdout=subprocess.PIPE,
            stderr=child_side,
            timeout=120,
        )
    finally:
        os.close(child_side)
        reader.join(timeout=10)
        os.close(terminal)

    bars = b"".join(shown).decode(errors="replace")
    assert done.returncode == 0, bars
    assert re.search(r"seed: 100%.*33/33", bars), bars  # 3 openings and 30 commands
    assert re.search(r"catch-up: 100%", bars), bars
    assert all(not diff for diff in differences().values())
