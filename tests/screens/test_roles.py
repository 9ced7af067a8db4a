"""Every role against every task URL: allowed, refused with 403 (appending nothing), or sent to log in."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client

from ledger.roles import Role
from tests.screens.helpers import url_of
from tests.write.helpers import event_count, open_account

TASKS = ["deposit", "withdraw", "transfer", "freeze", "unfreeze", "close"]
ALLOWED = {
    Role.TELLER: {"open", "deposit", "withdraw", "transfer"},
    Role.SUPERVISOR: {"open", "deposit", "withdraw", "transfer", "freeze", "unfreeze", "close"},
    Role.AUDITOR: set(),
    None: set(),
}


def post_data(task: str, account, other) -> dict:
    from ledger.execute import load_account

    data = {
        "command_id": str(uuid4()),
        "amount": "1.00",
        "memo": "",
        "reason": "test",
        "seen_version": str(load_account(account).version),
        "owner": "New Owner",
        "currency": "EUR",
        "overdraft_limit": "",
    }
    if task == "transfer":
        data["to_account"] = str(other)
        data["confirmed"] = "1"  # as the confirmation step posts it (tests/screens/test_confirmations.py)
    return data


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR, Role.AUDITOR, None], ids=lambda r: r or "no-role")
@pytest.mark.parametrize("task", ["open", *TASKS])
def test_each_role_may_open_and_submit_only_its_own_tasks(client_for, role, task):
    account, other = open_account(balance=0 if task == "close" else 500), open_account()
    if task == "unfreeze":
        from ledger.domain.commands import FreezeAccount
        from ledger.execute import execute

        execute(FreezeAccount(account_id=account, reason="check"), actor="supervisor")
    client = client_for(role)
    before = event_count()

    shown = client.get(url_of(task, account))
    sent = client.post(url_of(task, account), post_data(task, account, other))

    if task in ALLOWED[role]:
        assert shown.status_code == 200
        assert sent.status_code == 303, sent.content.decode()[:500]
        assert event_count() > before
    else:
        assert (shown.status_code, sent.status_code) == (403, 403)
        assert "Not allowed" in sent.content.decode()
        assert event_count() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/accounts/",
        "/projections/",
        "/accounts/open/",
        f"/accounts/{uuid4()}/",
        f"/accounts/{uuid4()}/tasks/deposit/",
        f"/accounts/{uuid4()}/as-of/",
    ],
)
def test_every_screen_sends_an_anonymous_visitor_to_log_in(url):
    response = Client().get(url)

    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_an_anonymous_post_is_refused_and_appends_nothing():
    account = open_account()
    before = event_count()

    response = Client().post(f"/accounts/{account}/tasks/deposit/", {"amount": "5", "command_id": str(uuid4())})

    assert response.status_code == 302 and event_count() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR, Role.AUDITOR])
def test_every_role_can_read_the_screens(client_for, role):
    account = open_account(balance=100)
    client = client_for(role)

    for url in ["/", "/accounts/", "/projections/", f"/accounts/{account}/as-of/"]:
        assert client.get(url).status_code == 200, url


def test_the_account_page_offers_only_the_tasks_the_role_and_state_allow(committed, client_for):
    from django.core.management import call_command

    account = open_account(balance=100)
    call_command("run_projections", "--once")  # the account page reads the read models

    teller_page = client_for(Role.TELLER).get(f"/accounts/{account}/").content.decode()
    supervisor_page = client_for(Role.SUPERVISOR).get(f"/accounts/{account}/").content.decode()
    auditor_page = client_for(Role.AUDITOR).get(f"/accounts/{account}/").content.decode()

    assert 'data-task="deposit"' in teller_page and 'data-task="freeze"' not in teller_page
    assert 'data-task="freeze"' in supervisor_page and 'data-task="unfreeze"' not in supervisor_page
    assert "data-task=" not in auditor_page


@pytest.mark.django_db
def test_a_role_taken_away_counts_from_the_next_request_and_roles_load_with_the_user(client_for):
    from django.contrib.auth.models import Group, User
    from django.test.utils import CaptureQueriesContext

    teller = client_for(Role.TELLER)
    user = User.objects.get(username="teller-user")
    assert teller.get("/accounts/open/").status_code == 200

    user.groups.remove(Group.objects.get(name=Role.TELLER.value))
    with CaptureQueriesContext(connection) as ran:
        refused = teller.get("/accounts/open/")

    assert refused.status_code == 403
    role_reads = [q["sql"] for q in ran.captured_queries if "auth_group" in q["sql"]]
    assert len(role_reads) == 1 and 'FROM "auth_user"' in role_reads[0]  # the roles came with the user
