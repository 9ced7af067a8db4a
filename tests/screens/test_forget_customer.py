"""Forgetting a customer (crypto-shredding): the name is sealed in the log from the start, the
"Forget customer" task is a supervisor's, on a closed account past the retention period, with a
reason; afterwards no table of the database holds the name in clear, every screen and export says
"(erased)", and balances, verify_projections, verify_chain and a rebuild are as before."""

from __future__ import annotations

import html
from uuid import UUID, uuid4

import pytest
from django.core.management import call_command
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.account import ERASED_NAME
from ledger.domain.commands import CloseAccount, Deposit, OpenAccount, Transfer, Withdraw
from ledger.execute import execute
from ledger.roles import Role
from ledger.store.sql import fetch
from projections import runner
from projections.models import AccountSummary
from tests.projections.helpers import differences
from tests.write.helpers import event_count, open_account

pytestmark = pytest.mark.usefixtures("committed")

SNAPSHOT_AFTER = 101  # deposits: enough for the account to have a snapshot (ledger/execute.py, SNAPSHOT_EVERY)


def tables_holding(text: str) -> set[str]:
    """Every table of every schema (the log, the keys, snapshots, command records, the live, shadow and
    previous read models, sessions) with a row whose text contains `text`, in any case."""
    tables = fetch(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
        " AND n.nspname NOT LIKE 'pg_toast%%' AND n.nspname NOT LIKE 'pg_temp%%'"
    )
    return {
        f"{schema}.{table}"
        for schema, table in tables
        if fetch(f'SELECT EXISTS (SELECT FROM "{schema}"."{table}" t WHERE t::text ILIKE %s)', [f"%{text}%"])[0][0]
    }


@pytest.fixture
def closed(committed):
    """A customer with a unique name, a history long enough for a snapshot, a transfer to another
    account (whose statement names them), and a closed account."""
    name = f"Zelda Forgetme{uuid4().hex[:10]}"
    account = uuid4()
    execute(OpenAccount(account_id=account, owner=name, currency="EUR"), actor="teller")
    for _ in range(SNAPSHOT_AFTER):
        execute(Deposit(account_id=account, amount=100, currency="EUR"), actor="teller")
    other = open_account(owner="Otto Counterparty")
    execute(Transfer(account_id=account, to_account_id=other, amount=2_500, currency="EUR"), actor="teller")
    execute(Withdraw(account_id=account, amount=SNAPSHOT_AFTER * 100 - 2_500, currency="EUR"), actor="teller")
    execute(CloseAccount(account_id=account, reason="moved abroad"), actor="supervisor")
    runner.catch_up()
    return type("Closed", (), {"name": name, "token": name.split()[-1], "account": account, "other": other})()


def text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return html.unescape(body.decode())


def forget(client, account: UUID, reason: str = "Customer's erasure request, ref. 2026-118", command_id=None):
    version = AccountSummary.objects.get(account_id=account).version
    return client.post(
        f"/accounts/{account}/tasks/forget/",
        {"command_id": str(command_id or uuid4()), "reason": reason, "seen_version": str(version)},
    )


def test_the_name_is_never_in_the_log_in_clear_only_in_the_read_model(closed):
    assert fetch("SELECT count(*) FROM ledger_snapshot WHERE stream_id = %s", [closed.account])[0][0] == 1
    assert tables_holding(closed.token) == {"public.projections_accountsummary"}
    assert AccountSummary.objects.get(account_id=closed.account).owner == closed.name


def test_only_a_supervisor_may_forget(closed, client_for, settings):
    settings.TALLY_RETENTION_DAYS = 0
    before = event_count()
    for role in (Role.TELLER, Role.AUDITOR, None):
        assert forget(client_for(role), closed.account).status_code == 403
    assert event_count() == before
    assert AccountSummary.objects.get(account_id=closed.account).owner == closed.name


def test_forgetting_is_refused_within_the_retention_period_on_an_open_account_and_without_a_good_reason(
    closed, client_for, settings
):
    supervisor = client_for(Role.SUPERVISOR)
    before = event_count()
    refused = forget(supervisor, closed.account)
    assert refused.status_code == 422
    assert "must be kept until" in text(refused)
    page = text(supervisor.get(f"/accounts/{closed.account}/"))  # not offered until then, and says when
    assert "Forget customer" not in page and "Its customer can be forgotten from" in page

    settings.TALLY_RETENTION_DAYS = 0
    still_open = forget(supervisor, closed.other)
    assert still_open.status_code == 422
    assert "only the customer of a closed account can be forgotten" in text(still_open)
    assert b"Forget customer" not in supervisor.get(f"/accounts/{closed.other}/").content
    no_reason = forget(supervisor, closed.account, reason="  ")
    assert "Say why the customer is forgotten" in text(no_reason)
    named = forget(supervisor, closed.account, reason=f"{closed.name.upper()} asked us")
    assert "Leave the customer's name out of the reason" in text(named)
    assert event_count() == before


def test_after_forgetting_no_table_holds_the_name_and_every_screen_says_erased(closed, client_for, settings):
    settings.TALLY_RETENTION_DAYS = 0
    supervisor = client_for(Role.SUPERVISOR)
    balance_of_other = AccountSummary.objects.get(account_id=closed.other).balance
    # A rebuild first: the tables it replaces are kept for a rollback, with the name in them.
    call_command("rebuild_projections", "account_summary", "--no-input", "--pace", "1")
    assert "tally_previous.projections_accountsummary" in tables_holding(closed.token)
    assert b"Forget customer" in supervisor.get(f"/accounts/{closed.account}/").content
    command_id = uuid4()

    done = forget(supervisor, closed.account, command_id=command_id)
    assert done.status_code == 303
    again = forget(supervisor, closed.account, command_id=command_id)  # the same form sent twice
    assert again.status_code == 303
    assert event_count(command_id=str(command_id)) == 1
    runner.catch_up()

    assert tables_holding(closed.token) == set()
    summary = AccountSummary.objects.get(account_id=closed.account)
    assert (summary.owner, summary.balance, summary.status) == (ERASED_NAME, 0, "closed")
    assert AccountSummary.objects.get(account_id=closed.other).balance == balance_of_other

    page = text(supervisor.get(f"/accounts/{closed.account}/"))
    assert ERASED_NAME in page and closed.token not in page
    assert b"Forget customer" not in supervisor.get(f"/accounts/{closed.account}/").content
    assert "customer forgotten" in page  # the status history: when, by whom, why
    assert "Customer forgotten" in text(supervisor.get(f"/receipts/{command_id}/"))
    counterparty_page = text(supervisor.get(f"/accounts/{closed.other}/"))
    assert ERASED_NAME in counterparty_page and closed.token not in counterparty_page  # the movement stays
    for screen in (f"/receipts/{command_id}/", f"/accounts/{closed.account}/as-of/"):
        shown = supervisor.get(screen)
        assert shown.status_code == 200 and ERASED_NAME in text(shown) and closed.token not in text(shown), screen
    assert str(closed.account) not in text(supervisor.get("/accounts/", {"q": closed.token}))
    statement = text(supervisor.get(f"/accounts/{closed.account}/statement.csv"))
    assert ERASED_NAME in statement and closed.token not in statement
    browser = text(client_for(Role.AUDITOR).get(f"/admin/ledger/event/?q={closed.account}"))
    assert ERASED_NAME in browser and closed.token not in browser
    export = client_for(Role.AUDITOR).get(reverse("admin:ledger_event_export", args=["jsonl"]), {"q": closed.account})
    assert closed.token not in text(export)
    refused = forget(supervisor, closed.account)  # a second time, by another form
    assert "already been forgotten" in text(refused)

    assert differences() == {name: [] for name in differences()}
    call_command("verify_chain", "--stream", str(closed.account), "--no-progress")
    call_command("rebuild_projections", "account_summary", "--no-input", "--pace", "1")
    assert AccountSummary.objects.get(account_id=closed.account).owner == ERASED_NAME
    assert tables_holding(closed.token) == set()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    reason=st.text(max_size=300),
    seen_version=st.one_of(st.text(max_size=12), st.integers().map(str)),
    command_id=st.one_of(st.text(max_size=40), st.uuids().map(str)),
)
def test_any_forget_form_gets_an_answer_below_500_and_only_a_valid_one_records(
    committed, client_for, settings, reason, seen_version, command_id
):
    settings.TALLY_RETENTION_DAYS = 0
    account = open_account(owner="Hypo Thesis")
    execute(CloseAccount(account_id=account, reason="done"), actor="supervisor")
    before = event_count()
    answer = client_for(Role.SUPERVISOR).post(
        f"/accounts/{account}/tasks/forget/",
        {"command_id": command_id, "reason": reason, "seen_version": seen_version},
    )
    assert answer.status_code in {303, 422}
    assert event_count() == before + (answer.status_code == 303)
