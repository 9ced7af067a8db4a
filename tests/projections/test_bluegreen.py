"""Blue/green rebuilds against the real Postgres: the live tables serve until verified new ones take
their place in one transaction; a tampered shadow never does; rollback returns to the replaced
tables; a changed projector version is rebuilt by the workers' sweep."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection
from django.test import Client

from ledger.domain.commands import Deposit
from ledger.execute import execute
from ledger.roles import Role
from ledger.store import Checkpoint
from ledger.store.sql import execute as sql
from ledger.store.sql import fetch
from projections import bluegreen, queries, runner
from projections.models import AccountSummary, ProjectionStatus
from projections.projectors import PROJECTORS, get_projectors
from projections.schemas import PREVIOUS, SHADOW
from scripts.processes import wait_until
from tests.projections.helpers import differences, some_activity
from tests.screens.helpers import make_user
from tests.store.helpers import own_connection


def table_oid(name: str, schema: str = "public") -> int | None:
    return fetch("SELECT to_regclass(%s)::oid", [f"{schema}.{PROJECTORS[name].tables[0]}"])[0][0]


def contents(name: str) -> dict:
    return PROJECTORS[name].table_rows()


def checkpoint(name: str) -> Checkpoint:
    status = ProjectionStatus.objects.get(name=name)
    return Checkpoint(status.tx_id, status.position)


@pytest.fixture
def live(committed):
    """Some activity, caught up: what the live tables hold before a rebuild."""
    ada, bob = some_activity()
    runner.catch_up()
    return ada, bob


def test_a_rebuild_swaps_in_new_tables_equal_to_the_live_ones_and_keeps_the_old(live):
    before = {p.name: (table_oid(p.name), contents(p.name)) for p in get_projectors()}

    outcome = bluegreen.rebuild(["statement", "account_summary"])

    assert sorted(outcome.swapped) == ["account_summary", "statement"] and not outcome.differences
    for name in ("statement", "account_summary"):
        oid, rows = before[name]
        assert table_oid(name) != oid  # new tables serve
        assert table_oid(name, PREVIOUS) == oid  # the replaced ones are kept for a rollback
        assert contents(name) == rows
    assert table_oid("daily_activity") == before["daily_activity"][0]  # not named, not rebuilt
    assert not bluegreen.progress()  # nothing left half done
    assert all(not d for d in differences().values())


class Interrupted(Exception):
    pass


def test_screens_read_the_complete_live_tables_while_the_shadow_is_half_built(live):
    ada, _ = live
    client = Client()
    client.force_login(make_user("bluegreen-teller", Role.TELLER))
    page_before = client.get(f"/accounts/{ada}/").content.decode()
    live_oid = table_oid("account_summary")

    def interrupt(name: str, count: int) -> None:  # after the first batch, as a killed process would stop
        raise Interrupted

    with pytest.raises(Interrupted):
        bluegreen.rebuild(["account_summary"], batch_size=2, progress=interrupt)
    shadow = {p.name: p for p in bluegreen.progress()}["account_summary"]
    assert shadow.target is not None
    assert shadow.phase == bluegreen.Phase.BUILDING and 0 < shadow.position < shadow.target  # half built
    assert not shadow.running  # nobody holds its lock: the next rebuild (or the sweep) resumes it

    page = client.get(f"/accounts/{ada}/")
    listed = client.get("/accounts/", {"q": "Ada"})

    assert page.status_code == listed.status_code == 200
    assert "65.00" in page.content.decode() and page.content.decode().count("65.00") == page_before.count("65.00")
    assert table_oid("account_summary") == live_oid and AccountSummary.objects.get(account_id=ada).balance == 6_500
    outcome = bluegreen.rebuild(["account_summary"])
    assert outcome.resumed == ["account_summary"] and outcome.swapped == ["account_summary"]
    assert all(not d for d in differences().values())


def test_a_slice_asked_for_by_a_stale_mark_does_nothing_so_one_chain_of_slices_goes_on(live):
    ProjectionStatus.objects.filter(name="statement").update(version=0)  # due: built by an older projector
    due = bluegreen.due()
    assert due == {"statement": None}
    original = table_oid("statement")

    first = bluegreen.rebuild(["statement"], batch_size=2, max_seconds=0, expect=due)  # one slice of the chain
    assert first.unfinished and first.marks["statement"] is not None
    duplicate = bluegreen.rebuild(["statement"], expect=due)  # the sweep's copy, queued before that slice ran
    assert not duplicate.swapped and not duplicate.applied and not duplicate.unfinished
    done = bluegreen.rebuild(["statement"], expect=first.marks)  # the chain goes on from where its slice left
    assert done.swapped == ["statement"] and table_oid("statement", PREVIOUS) == original

    swapped = table_oid("statement")
    late = bluegreen.rebuild(["statement"], expect=due)  # a copy that runs after the swap: not due any more
    again = bluegreen.rebuild(["statement"], expect=first.marks)
    assert not late.swapped and not again.swapped and table_oid("statement") == swapped
    assert not bluegreen.due() and all(not d for d in differences().values())


def test_a_tampered_shadow_is_not_swapped_in_and_the_operator_is_told_what_differs(live):
    ada, _ = live
    live_oid = table_oid("account_summary")

    def tamper(name: str, phase: bluegreen.Phase) -> None:
        if phase is bluegreen.Phase.VERIFYING:
            sql(f"UPDATE {SHADOW}.projections_accountsummary SET balance = balance + 1 WHERE account_id = %s", [ada])

    outcome = bluegreen.rebuild(["account_summary"], on_phase=tamper)

    assert not outcome.swapped and table_oid("account_summary") == live_oid
    verdict = outcome.differences["account_summary"]
    assert [d.key for d in verdict.differences] == [ada]
    shadow = {p.name: p for p in bluegreen.progress()}["account_summary"]
    assert shadow.phase == bluegreen.Phase.FAILED and str(ada) in shadow.note and "differs" in shadow.note
    assert AccountSummary.objects.get(account_id=ada).balance == 6_500

    again = bluegreen.rebuild(["account_summary"])  # a failed shadow is started over, not resumed

    assert again.swapped == ["account_summary"] and not again.resumed
    assert AccountSummary.objects.get(account_id=ada).balance == 6_500


def test_commands_during_a_rebuild_are_in_the_new_tables_and_the_checkpoint_never_goes_back(live):
    ada, _ = live
    during: list = []

    def deposit(name: str, phase: bluegreen.Phase) -> None:
        if phase is bluegreen.Phase.VERIFYING and name == "account_summary":
            result = execute(Deposit(account_id=ada, amount=100, currency="EUR"), actor="teller")
            runner.catch_up()  # the live runner goes on beside the rebuild
            during.append((result, checkpoint("account_summary")))

    bluegreen.rebuild(["account_summary", "statement"], on_phase=deposit)

    ((result, live_checkpoint_then),) = during
    assert AccountSummary.objects.get(account_id=ada).balance == 6_600
    assert checkpoint("account_summary") >= live_checkpoint_then >= result.checkpoint  # read-your-writes held
    assert queries.projections_reached(result.checkpoint, ("account_summary", "statement"))
    assert all(not d for d in differences().values())


def test_a_swap_kept_waiting_by_a_screens_read_lets_the_live_read_side_go_on_between_its_attempts(live):
    """A screen's read that keeps a live table past the swap's lock timeout makes the swap try again.
    Between attempts the live runner is free, so a deposit recorded meanwhile reaches the live tables
    while the read still holds them (held across all the attempts, a deposit's page waited for the
    whole swap: 15 s under load); once the read ends the swap goes through with the deposit in it."""
    ada, _ = live
    reader = own_connection()
    holding = threading.Event()
    applied: list[tuple[int, bool]] = []  # (events the other worker applied, the read still holding then)

    def swap_waits_for_the_read() -> bool:
        return fetch(
            "SELECT EXISTS (SELECT FROM pg_locks WHERE NOT granted"
            " AND relation = 'public.projections_accountsummary'::regclass)"
        )[0][0]

    def teller_and_other_worker() -> None:  # a deposit while the swap waits, and a worker to apply it
        try:
            wait_until(swap_waits_for_the_read, timeout=10, message="the swap to wait for the read", interval=0.01)
            execute(Deposit(account_id=ada, amount=100, currency="EUR"), actor="teller")
            report = runner.catch_up(["account_summary"], wait_seconds=10)
            applied.append((report.applied, holding.is_set()))
        finally:
            connection.close()

    def let_go() -> None:
        time.sleep(4)  # several of the swap's half-second attempts
        holding.clear()
        reader.commit()

    def at(name: str, phase: bluegreen.Phase) -> None:
        if phase is bluegreen.Phase.SWAPPING:
            reader.execute("SELECT count(*) FROM projections_accountsummary")  # its transaction stays open
            holding.set()
            for work in (teller_and_other_worker, let_go):
                threading.Thread(target=work, daemon=True).start()

    try:
        bluegreen.rebuild(["account_summary"], on_phase=at)
        wait_until(lambda: applied, timeout=15, message="the other worker's catch-up")
    finally:
        reader.close()
    assert applied == [(1, True)]  # the deposit, applied while the screen's read still held the table
    assert AccountSummary.objects.get(account_id=ada).balance == 6_600  # and in the swapped-in tables
    assert all(not d for d in differences().values())


def test_rollback_returns_to_the_replaced_tables_caught_up_and_a_second_rollback_returns_again(live):
    ada, _ = live
    original = table_oid("statement")
    bluegreen.rebuild(["statement"])
    rebuilt = table_oid("statement")
    execute(Deposit(account_id=ada, amount=100, currency="EUR"), actor="teller")  # after the swap
    runner.catch_up()
    rows = contents("statement")

    bluegreen.rollback(["statement"])

    assert table_oid("statement") == original and table_oid("statement", PREVIOUS) == rebuilt
    assert contents("statement") == rows  # caught up with the deposit made after the swap
    bluegreen.rollback(["statement"])
    assert table_oid("statement") == rebuilt
    assert all(not d for d in differences().values())


def test_rollback_is_refused_when_nothing_was_kept_or_a_migration_changed_the_table(live):
    sql(f"DROP TABLE IF EXISTS {PREVIOUS}.projections_dailyactivity")
    if fetch(f"SELECT to_regclass('{PREVIOUS}.projections_projectionstatus')")[0][0]:
        sql(f"DELETE FROM {PREVIOUS}.projections_projectionstatus WHERE name = 'daily_activity'")
    with pytest.raises(bluegreen.RollbackRefused, match="no earlier tables"):
        bluegreen.rollback(["daily_activity"])

    bluegreen.rebuild(["daily_activity"])
    sql(f"ALTER TABLE {PREVIOUS}.projections_dailyactivity ADD COLUMN extra integer")
    try:
        with pytest.raises(bluegreen.RollbackRefused, match="other columns"):
            bluegreen.rollback(["daily_activity"])
    finally:
        sql(f"ALTER TABLE {PREVIOUS}.projections_dailyactivity DROP COLUMN extra")


def test_a_second_rebuild_of_the_same_projection_at_once_is_refused(live):
    with own_connection(autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [runner.lock_key("rebuild:statement")])
        with pytest.raises(bluegreen.RebuildBusy, match="statement"):
            bluegreen.rebuild(["statement", "account_summary"])
        other.execute("SELECT pg_advisory_unlock_all()")
    assert not fetch("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")


def test_a_prepared_statement_of_another_session_reads_the_swapped_in_table(live):
    ada, _ = live
    with own_connection(autocommit=True) as screen:
        query = "SELECT balance FROM projections_accountsummary WHERE account_id = %s"
        for _ in range(3):  # prepared from here on, as the screens' hot statements are
            assert screen.execute(query, [ada], prepare=True).fetchone() == (6_500,)
        bluegreen.rebuild(["account_summary"])
        sql("UPDATE tally_previous.projections_accountsummary SET balance = -1 WHERE account_id = %s", [ada])
        execute(Deposit(account_id=ada, amount=100, currency="EUR"), actor="teller")
        runner.catch_up()

        assert screen.execute(query, [ada], prepare=True).fetchone() == (6_600,)


def test_a_rebuild_before_any_runner_filled_the_live_tables_swaps_in_and_keeps_nothing_to_return_to(live):
    """A new installation rebuilt before its workers ran: empty live tables with no status row.
    (Before the module's Celery worker starts: it would fill them meanwhile.)"""
    sql(f"TRUNCATE {PROJECTORS['event_types'].tables[0]}")
    ProjectionStatus.objects.filter(name="event_types").delete()

    outcome = bluegreen.rebuild(["event_types"])

    assert outcome.swapped == ["event_types"] and not outcome.differences
    assert ProjectionStatus.objects.filter(name="event_types").exists() and not differences()["event_types"]
    kept = fetch(f"SELECT name FROM {PREVIOUS}.projections_projectionstatus WHERE name = 'event_types'")
    assert not kept and not bluegreen.previous_available("event_types")  # no live generation to keep
    with pytest.raises(bluegreen.RollbackRefused):
        bluegreen.rollback(["event_types"])


def test_an_outdated_projector_version_is_rebuilt_blue_green_by_the_workers(live, celery_stack):
    ProjectionStatus.objects.filter(name="daily_activity").update(version=0)  # built by an older projector
    before = table_oid("daily_activity")
    assert bluegreen.outdated() == ["daily_activity"]

    wait_until(lambda: table_oid("daily_activity") != before, timeout=60, message="the sweep to rebuild it")

    assert ProjectionStatus.objects.get(name="daily_activity").version == PROJECTORS["daily_activity"].version
    assert table_oid("daily_activity", PREVIOUS) == before
    assert not bluegreen.outdated()
    assert all(not d for d in differences().values())


def test_the_outdated_option_rebuilds_only_what_a_new_version_changed(live):
    from django.core.management import call_command

    ProjectionStatus.objects.filter(name="statement").update(version=0)
    oids = {p.name: table_oid(p.name) for p in get_projectors()}

    call_command("rebuild_projections", "--outdated", "--no-input")

    assert table_oid("statement") != oids["statement"]
    assert all(table_oid(n) == oid for n, oid in oids.items() if n != "statement")
    with connection.cursor() as cursor:
        cursor.execute("SELECT version FROM projections_projectionstatus WHERE name = 'statement'")
        assert cursor.fetchone()[0] == PROJECTORS["statement"].version
