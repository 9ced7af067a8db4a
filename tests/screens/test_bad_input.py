"""Bad input in every form gets a clear 4xx message next to the field and appends nothing."""

from __future__ import annotations

from uuid import uuid4

import pytest
from django.test import Client

from ledger.domain.commands import CloseAccount, FreezeAccount
from ledger.execute import execute, load_account
from ledger.roles import Role
from tests.write.helpers import event_count, open_account

AMOUNTS = [
    ("", "Enter an amount"),
    ("0", "greater than zero"),
    ("0.00", "greater than zero"),
    ("-5", "greater than zero"),
    ("12.345", "at most 2 decimal places"),
    ("1" + "0" * 30, "larger than"),
    ("NaN", "plain number"),
    ("Infinity", "plain number"),
    ("-Infinity", "greater than zero"),
    ("1e3", "plain number"),
    ("١٢٣", "plain number"),
    ("１２", "plain number"),
    ("12,5", "plain number"),
    ("ten", "plain number"),
    ("9" * 100, "plain number"),
    ("<b>5</b>", "plain number"),
    (" ", "Enter an amount"),
]


def post(client, url, **data):
    return client.post(url, {"command_id": str(uuid4()), **data})


@pytest.mark.parametrize("task", ["deposit", "withdraw", "transfer"])
@pytest.mark.parametrize(("amount", "message"), AMOUNTS)
def test_a_bad_amount_is_refused_next_to_the_field(supervisor, task, amount, message):
    account, other = open_account(balance=10_000), open_account()
    before = event_count()

    response = post(supervisor, f"/accounts/{account}/tasks/{task}/", amount=amount, to_account=str(other))

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body and 'id="err_amount"' in body
    assert event_count() == before


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"owner": "", "currency": "EUR"}, "owner", "Enter the account owner"),
        ({"owner": "x" * 121, "currency": "EUR"}, "owner", "120 characters or fewer"),
        ({"owner": "Ada", "currency": "XXX"}, "currency", "Choose one of the listed currencies"),
        ({"owner": "Ada", "currency": ""}, "currency", "Choose a currency"),
        ({"owner": "Ada", "currency": "EUR", "overdraft_limit": "-1"}, "overdraft_limit", "greater than zero"),
        ({"owner": "Ada", "currency": "EUR", "overdraft_limit": "1e9"}, "overdraft_limit", "plain number"),
        (
            {"owner": "Ada", "currency": "EUR", "overdraft_limit": "9" * 40},
            "overdraft_limit",
            "overdraft limit may be at most",
        ),
        ({"owner": "Ada", "currency": "JPY", "overdraft_limit": "10.5"}, "overdraft_limit", "no decimal places"),
    ],
)
def test_bad_details_for_a_new_account_are_refused(supervisor, data, field, message):
    before = event_count()

    response = post(supervisor, "/accounts/open/", **data)

    assert response.status_code == 422
    assert message in response.content.decode()
    assert event_count() == before


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Enter the account number"),
        ("not-a-number", "Enter a full account number"),
        (str(uuid4()), "There is no such account"),
        ("same", "cannot pay itself"),
        ("yen", "holds EUR"),
        ("closed", "is closed"),
    ],
)
def test_a_transfer_to_a_wrong_account_is_refused(supervisor, target, message):
    account = open_account(balance=10_000)
    targets = {"same": account, "yen": open_account(currency="JPY"), "closed": open_account()}
    if target == "closed":
        execute(CloseAccount(account_id=targets["closed"], reason="moved away"), actor="supervisor")
    before = event_count()

    response = post(
        supervisor, f"/accounts/{account}/tasks/transfer/", amount="1.00", to_account=str(targets.get(target, target))
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert message in body and 'id="err_to_account"' in body
    assert event_count() == before


def test_text_is_limited_and_shown_escaped(supervisor):
    account = open_account(balance=10_000)
    before = event_count()

    too_long = post(supervisor, f"/accounts/{account}/tasks/deposit/", amount="1", memo="m" * 201)
    assert too_long.status_code == 422 and "200 characters or fewer" in too_long.content.decode()
    assert event_count() == before

    script = '<script>alert("x")</script>'
    accepted = post(supervisor, f"/accounts/{account}/tasks/deposit/", amount="1", memo=script)
    assert accepted.status_code == 303
    assert event_count() == before + 1
    history = supervisor.get(f"/accounts/{account}/as-of/").content.decode()
    assert script not in history and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in history


def test_unknown_account_and_unknown_task_are_404(supervisor):
    account = open_account()

    assert supervisor.get(f"/accounts/{uuid4()}/tasks/deposit/").status_code == 404
    assert post(supervisor, f"/accounts/{uuid4()}/tasks/deposit/", amount="1").status_code == 404
    assert supervisor.get(f"/accounts/{account}/tasks/explode/").status_code == 404
    assert supervisor.get("/accounts/not-a-uuid/tasks/deposit/").status_code == 404


def test_missing_and_duplicated_fields_are_refused(supervisor):
    account = open_account(balance=10_000)
    before = event_count()

    missing_id = supervisor.post(f"/accounts/{account}/tasks/deposit/", {"amount": "1"})
    doubled = supervisor.post(
        f"/accounts/{account}/tasks/deposit/", {"command_id": str(uuid4()), "amount": ["1", "1000"]}
    )

    assert missing_id.status_code == 422 and "reload the page" in missing_id.content.decode()
    assert doubled.status_code == 422 and "sent twice" in doubled.content.decode()
    assert event_count() == before


def test_a_task_submitted_from_a_stale_page_is_refused(supervisor):
    account = open_account()
    seen = load_account(account).version
    execute(FreezeAccount(account_id=account, reason="check"), actor="another-supervisor")
    before = event_count()

    response = post(supervisor, f"/accounts/{account}/tasks/close/", seen_version=str(seen))

    assert response.status_code == 422
    assert "has changed since this page was shown" in response.content.decode()
    assert event_count() == before


def test_a_reused_form_with_other_details_is_refused(supervisor):
    account = open_account(balance=10_000)
    command_id = str(uuid4())
    supervisor.post(f"/accounts/{account}/tasks/deposit/", {"command_id": command_id, "amount": "1"})
    before = event_count()

    response = supervisor.post(f"/accounts/{account}/tasks/deposit/", {"command_id": command_id, "amount": "2"})

    assert response.status_code == 422 and "already submitted with different details" in response.content.decode()
    assert event_count() == before


def test_a_resubmitted_form_is_applied_once(supervisor):
    account = open_account(balance=10_000)
    data = {"command_id": str(uuid4()), "amount": "7.00"}

    first = supervisor.post(f"/accounts/{account}/tasks/deposit/", data)
    second = supervisor.post(f"/accounts/{account}/tasks/deposit/", data)

    assert first.status_code == second.status_code == 303 and first["Location"] == second["Location"]
    assert load_account(account).balance == 10_700


def test_csrf_is_enforced_for_plain_and_htmx_posts(db, client_for):
    from django.contrib.auth.models import User

    account = open_account(balance=100)
    client_for(Role.TELLER)
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="teller-user"))
    url = f"/accounts/{account}/tasks/deposit/"
    before = event_count()

    plain = client.post(url, {"command_id": str(uuid4()), "amount": "1"})
    htmx = client.post(url, {"command_id": str(uuid4()), "amount": "1"}, headers={"HX-Request": "true"})
    assert plain.status_code == htmx.status_code == 403
    assert "form has expired" in plain.content.decode()
    assert event_count() == before

    client.get(url)  # sets the CSRF cookie, as showing the form does
    token = client.cookies["csrftoken"].value
    accepted = client.post(
        url, {"command_id": str(uuid4()), "amount": "1"}, headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert accepted.status_code == 200 and "HX-Redirect" in accepted.headers
    assert event_count() == before + 1
