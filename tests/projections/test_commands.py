"""The operators' commands: run, rebuild (resumable) and verify projections, seed demo data."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from projections import runner
from projections.models import AccountSummary, ProjectionStatus, StatementLine
from projections.projectors import get_projectors
from scripts.processes import ROOT, kill, wait_until
from tests.processes import DEAD_REDIS, child_env
from tests.projections.helpers import differences, some_activity


def table_contents() -> dict:
    return {p.name: p.table_rows() for p in get_projectors()}


def test_run_projections_once_catches_up_and_exits(committed, capsys):
    ada, _ = some_activity()

    call_command("run_projections", "--once")

    assert AccountSummary.objects.get(account_id=ada).balance == 6_500
    assert "applied" in capsys.readouterr().out


def test_a_rebuild_produces_tables_identical_to_the_live_ones(committed):
    some_activity()
    runner.catch_up()
    live = table_contents()

    call_command("rebuild_projections", "--no-input")

    assert table_contents() == live
    assert all(not s.rebuilding for s in ProjectionStatus.objects.all())
    assert all(not diff for diff in differences().values())


def test_a_rebuild_leaves_its_tables_vacuumed_and_analyzed(committed):
    some_activity()
    call_command("rebuild_projections", "--no-input")

    tables = [t for p in get_projectors() for t in p.tables]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, last_vacuum IS NOT NULL AND last_analyze IS NOT NULL"
            " FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY(%s)",
            [tables],
        )
        assert dict(cursor.fetchall()) == dict.fromkeys(tables, True)


def test_verify_finds_a_row_changed_by_hand_and_fails(committed, capsys):
    ada, _ = some_activity()
    runner.catch_up()
    call_command("verify_projections")
    assert "account_summary: OK" in capsys.readouterr().out

    with connection.cursor() as cursor:
        cursor.execute("UPDATE projections_accountsummary SET balance = balance + 1 WHERE account_id = %s", [ada])
    try:
        with pytest.raises(CommandError, match="1 difference between"):
            call_command("verify_projections", "account_summary")
        out = capsys.readouterr().out
        assert "differs" in out and str(ada) in out
    finally:
        call_command("rebuild_projections", "account_summary", "--no-input")
    call_command("verify_projections")


def test_verify_finds_a_missing_statement_line(committed, capsys):
    ada, _ = some_activity()
    runner.catch_up()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM projections_statementline WHERE account_id = %s AND version = 3", [ada])
    try:
        with pytest.raises(CommandError):
            call_command("verify_projections", "statement")
        assert "missing" in capsys.readouterr().out
    finally:
        call_command("rebuild_projections", "statement", "--no-input")


def test_verify_finds_a_row_that_no_event_explains(committed, capsys):
    some_activity()
    runner.catch_up()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO projections_dailyactivity (day, currency, deposits_count, deposits_sum,"
            " withdrawals_count, withdrawals_sum, transfers_count, transfers_sum)"
            " VALUES ('1999-12-31', 'EUR', 1, 100, 0, 0, 0, 0)"
        )
    try:
        with pytest.raises(CommandError, match="1 difference between"):
            call_command("verify_projections", "daily_activity")
        extra = "extra    (datetime.date(1999, 12, 31), 'EUR', 0): table has (1, 100, 0, 0, 0, 0)"  # partition 0
        assert extra in capsys.readouterr().out
    finally:
        call_command("rebuild_projections", "daily_activity", "--no-input")


def shadow_building() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('tally_shadow.projections_projectionstatus') IS NOT NULL")
        if not cursor.fetchone()[0]:
            return False
        cursor.execute(
            "SELECT 1 FROM tally_shadow.projections_projectionstatus WHERE rebuild_phase = 'building' AND position > 0"
        )
        return cursor.fetchone() is not None


@pytest.mark.parametrize(
    ("mode", "under_way", "resumed_says"),
    [
        ([], shadow_building, "Resumed the interrupted rebuild"),
        (
            ["--in-place"],
            lambda: ProjectionStatus.objects.filter(rebuilding=True, position__gt=0).exists(),
            "Resuming the interrupted in-place rebuild",
        ),
    ],
    ids=["blue-green", "in-place"],
)
def test_an_interrupted_rebuild_resumes_where_it_stopped(committed, mode, under_way, resumed_says):
    for _ in range(40):
        some_activity()
    runner.catch_up()
    live = table_contents()
    env = child_env(DEAD_REDIS)  # no broker needed

    rebuild = subprocess.Popen(
        [sys.executable, "manage.py", "rebuild_projections", "--no-input", "--batch-size", "5", *mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    wait_until(under_way, timeout=30, interval=0.01, message="the rebuild to be under way")
    kill(rebuild)
    assert under_way()
    partial = StatementLine.objects.count()
    if not mode:  # blue/green: the live tables were never touched
        assert table_contents() == live

    resumed = subprocess.run(
        [sys.executable, "manage.py", "rebuild_projections", "--no-input", *mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert resumed.returncode == 0, resumed.stderr
    assert resumed_says in resumed.stdout
    if mode:
        assert partial < len(live["statement"])
    assert table_contents() == live


def test_unknown_projection_names_are_refused(committed):
    for command in ("run_projections", "rebuild_projections", "verify_projections"):
        with pytest.raises(CommandError, match="unknown projection nonsense"):
            call_command(command, "nonsense", "--no-input") if command == "rebuild_projections" else call_command(
                command, "nonsense", *(["--once"] if command == "run_projections" else [])
            )


def test_seed_demo_refuses_without_debug(committed, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="only with DJANGO_DEBUG=1"):
        call_command("seed_demo")


def test_seed_demo_creates_users_and_activity_through_commands(committed, settings):
    settings.DEBUG = True
    before = AccountSummary.objects.count()

    call_command("seed_demo", "--accounts", "6", "--events", "60", "--days", "10", "--seed", "3", "--add")

    from django.contrib.auth import authenticate

    assert AccountSummary.objects.count() == before + 6
    for role in ("teller", "supervisor", "auditor"):
        assert authenticate(username=role, password="tally") is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_event WHERE metadata->>'source' = 'seed'")
        assert cursor.fetchone()[0] >= 60
    assert all(not diff for diff in differences().values())
