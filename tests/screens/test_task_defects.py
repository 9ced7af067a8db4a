"""Task screens say plainly what cannot be done: a task the account's state does not allow shows the
refusal and no form, and a transfer across currencies names which account holds which currency."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from ledger.domain.account import Status
from ledger.domain.commands import CloseAccount, FreezeAccount
from ledger.execute import execute, load_account
from ledger.tasks import ACCOUNT_TASKS
from tests.write.helpers import event_count, open_account

STATES = [Status.OPEN, Status.FROZEN, Status.CLOSED]
NOT_ALLOWED = [
    (task.value, state) for task, spec in ACCOUNT_TASKS.items() for state in STATES if state not in spec.allowed_in
]
ALLOWED = [(task.value, state) for task, spec in ACCOUNT_TASKS.items() for state in spec.allowed_in]


def test_the_pairs_under_test_are_the_ones_the_issue_names():
    # Written out once, so a change to the task table is a visible change here too.
    assert sorted(NOT_ALLOWED) == sorted(
        [
            ("deposit", Status.CLOSED),
            ("withdraw", Status.FROZEN),
            ("withdraw", Status.CLOSED),
            ("transfer", Status.FROZEN),
            ("transfer", Status.CLOSED),
            ("freeze", Status.FROZEN),
            ("freeze", Status.CLOSED),
            ("unfreeze", Status.OPEN),
            ("unfreeze", Status.CLOSED),
            ("close", Status.CLOSED),
            ("forget", Status.OPEN),  # only a closed account's customer is forgotten (issue 17)
            ("forget", Status.FROZEN),
        ]
    )


def domain_refusal(task: str, state: Status) -> str:
    """What the aggregate says when the task reaches it: the POST is refused by the domain itself."""
    if state is Status.CLOSED:
        return "is closed; no more activity is allowed on it."
    return {
        "forget": "only the customer of a closed account can be forgotten",
        "withdraw": "nothing can leave it",
        "transfer": "nothing can leave it",
        "freeze": "is already frozen",
        "unfreeze": "is not frozen",
    }[task]


def account_in(state: Status) -> UUID:
    account = open_account(balance=0 if state is Status.CLOSED else 10_000)
    if state is Status.FROZEN:
        execute(FreezeAccount(account_id=account, reason="check"), actor="supervisor")
    if state is Status.CLOSED:
        execute(CloseAccount(account_id=account, reason="moved away"), actor="supervisor")
    return account


def task_url(account: UUID, task: str) -> str:
    return f"/accounts/{account}/tasks/{task}/"


def shows_a_form(body: str, url: str) -> bool:
    return (
        f'action="{url}"' in body
        or f'hx-post="{url}"' in body
        or 'type="submit"' in body.split('id="task-form"', 1)[-1]
    )


def valid_data(account: UUID) -> dict[str, str]:
    return {
        "command_id": str(uuid4()),
        "amount": "1.00",
        "to_account": str(open_account()),
        "seen_version": str(load_account(account).version),
        "reason": "checks",
    }


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("task", "state"), NOT_ALLOWED)
def test_a_task_the_state_does_not_allow_shows_the_refusal_and_no_form(supervisor, task, state, htmx):
    account = account_in(state)
    url = task_url(account, task)

    response = supervisor.get(url, headers={"HX-Request": "true"} if htmx else {})

    body = response.content.decode()
    assert response.status_code == 200
    assert f"This task is not possible while the account is {state}." in body
    assert not shows_a_form(body, url)
    assert f'href="/accounts/{account}/"' in body  # a way back to the account


@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
@pytest.mark.parametrize(("task", "state"), NOT_ALLOWED)
def test_a_task_the_state_does_not_allow_is_refused_when_posted_and_records_nothing(supervisor, task, state, htmx):
    account = account_in(state)
    url = task_url(account, task)
    data = valid_data(account)
    before = event_count()

    response = supervisor.post(url, data, headers={"HX-Request": "true"} if htmx else {})

    body = response.content.decode()
    assert response.status_code == 422
    assert event_count() == before
    assert f"This task is not possible while the account is {state}." in body
    assert domain_refusal(task, state) in body
    assert not shows_a_form(body, url)


@pytest.mark.parametrize(("task", "state"), ALLOWED)
def test_a_task_the_state_allows_shows_its_form(supervisor, task, state):
    account = account_in(state)
    url = task_url(account, task)

    body = supervisor.get(url).content.decode()

    assert shows_a_form(body, url) and "not possible while" not in body


@pytest.mark.parametrize(("source", "target"), [("EUR", "USD"), ("USD", "EUR"), ("EUR", "JPY")])
def test_a_transfer_across_currencies_says_which_account_holds_which(supervisor, source, target):
    account, other = open_account(currency=source, balance=10_000), open_account(currency=target)
    before = event_count()

    response = supervisor.post(
        task_url(account, "transfer"), {"command_id": str(uuid4()), "amount": "1", "to_account": str(other)}
    )

    body = response.content.decode()
    assert response.status_code == 422 and event_count() == before
    assert (
        f"This account holds {source} and the account to transfer to holds {target}; money can only be "
        "transferred between accounts in the same currency."
    ) in body
    assert 'id="err_to_account"' in body
