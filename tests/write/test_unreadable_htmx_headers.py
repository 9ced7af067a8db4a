"""HTMX request headers are client input: one that cannot be read counts as absent, so no header makes
a task answer 5xx, and a recorded command is always answered with its redirect."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import User
from django.test import Client, RequestFactory
from django_htmx.middleware import HtmxDetails
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from config.middleware import ReadableHtmxDetails
from ledger.execute import load_account
from ledger.htmx import HtmxHttpRequest
from ledger.roles import Role
from ledger.views import account_task
from tests.screens.helpers import make_user
from tests.write.helpers import event_count, open_account

HEADERS = [
    "HX-Current-URL",
    "HX-Current-URL-URI-AutoEncoded",
    "HX-Target",
    "HX-Trigger",
    "HX-Trigger-Name",
    "HX-Boosted",
    "HX-Prompt",
    "HX-History-Restore-Request",
    "HX-Request-Type",
    "HX-Source",
    "Triggering-Event",
]
# "{account}" becomes the account's own page, so the in-place (panel) answer is reached too.
AWKWARD = [
    "true",
    "http://[",
    "http://[::1",
    "https://[v1.x]/",
    "http://\uff03/",
    "http://a\u2100b/",
    "http://testserver/accounts/{account}/",
    "http://testserver/accounts/{account}/\x00",
    "/accounts/{account}/",
    "http://testserver:99999999/accounts/{account}/",
    "%",
    "%ZZ",
    "%00",
    "%C3%28",
    "http%3A%2F%2F%5B",
    "\x00",
    "\r\n",
    "\x7f\x85",
    "é",
    "日本",
    "[" * 5000,
    '{"a": ' * 3000,
    "",
]
values = st.one_of(st.sampled_from(AWKWARD), st.text(), st.text(st.characters(max_codepoint=0xFF)))
urls = st.one_of(
    values, st.builds(str.__add__, st.sampled_from(["http://", "https://[", "http://testserver/", "//"]), st.text())
)
headers = st.fixed_dictionaries(
    {"HX-Request": st.one_of(st.just("true"), values), "HX-Current-URL": urls},
    optional=dict.fromkeys(HEADERS[1:], values),
)
# Found by hand before this test existed; kept so that every run tries them.
KNOWN = [
    {"HX-Request": "true", "HX-Current-URL": "http://["},
    {"HX-Request": "true", "HX-Current-URL": "http://\uff03/"},
    {
        "HX-Request": "true",
        "HX-Current-URL": "http://testserver/accounts/{account}/",
        "HX-Target": "\x00",
        "Triggering-Event": "[" * 5000,
    },
]
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def for_account(sent: dict[str, str], account: UUID) -> dict[str, str]:
    return {name: value.replace("{account}", str(account)) for name, value in sent.items()}


def redirected_to_account(response, account: UUID) -> bool:
    """A 303 for a plain form, or an HTMX redirect / location for an HTMX one; all to the account page."""
    target = {303: "Location"}.get(response.status_code) or next(
        (h for h in ("HX-Redirect", "HX-Location") if response.status_code == 200 and h in response), None
    )
    return target is not None and f"/accounts/{account}/?after=" in response[target]


@pytest.fixture
def supervisor(db) -> Client:
    client = Client(raise_request_exception=False)  # a 500 is an answer to assert on, not an error here
    client.force_login(make_user("supervisor-user", Role.SUPERVISOR))
    return client


@PROPERTY
@given(sent=headers)
@example(sent=KNOWN[0])
@example(sent=KNOWN[1])
@example(sent=KNOWN[2])
def test_a_deposit_with_any_htmx_headers_is_recorded_once_and_answered_with_its_redirect(supervisor, sent):
    account = open_account()
    command_id = str(uuid4())

    response = supervisor.post(
        f"/accounts/{account}/tasks/deposit/",
        {"command_id": command_id, "amount": "12.50"},
        headers=for_account(sent, account),
    )

    assert redirected_to_account(response, account), (response.status_code, dict(response.headers))
    assert event_count(command_id=command_id) == 1
    assert load_account(account).balance == 1250


@PROPERTY
@given(sent=headers)
@example(sent=KNOWN[0])
@example(sent=KNOWN[1])
@example(sent=KNOWN[2])
def test_no_task_answers_5xx_whatever_its_htmx_headers(supervisor, sent):
    account, other = open_account(balance=10_000), open_account()
    sent = for_account(sent, account)
    steps = [
        ("deposit", {"amount": "1.00"}),
        ("withdraw", {"amount": "1.00"}),
        ("transfer", {"amount": "1.00", "to_account": str(other)}),
        ("freeze", {}),
        ("unfreeze", {}),
        ("close", {}),
    ]

    answers = [
        supervisor.get("/accounts/open/", headers=sent),
        supervisor.post(
            "/accounts/open/", {"command_id": str(uuid4()), "owner": "Ada", "currency": "EUR"}, headers=sent
        ),
        supervisor.get(f"/accounts/{account}/", headers=sent),
    ]
    for task, data in steps:
        answers.append(supervisor.get(f"/accounts/{account}/tasks/{task}/", headers=sent))
        answers.append(
            supervisor.post(
                f"/accounts/{account}/tasks/{task}/",
                {"command_id": str(uuid4()), "seen_version": load_account(account).version, "reason": "checks", **data},
                headers=sent,
            )
        )

    assert [a.status_code for a in answers if a.status_code >= 500] == []


def view_request(htmx: type[HtmxDetails] | BrokenHtmx, account: UUID, data: dict[str, str]) -> HtmxHttpRequest:
    """A request as the view gets it after the HTMX middleware, which sets .htmx on Django's own."""
    request = cast(HtmxHttpRequest, RequestFactory().post(f"/accounts/{account}/tasks/deposit/", data))
    request.user = User.objects.get(username="supervisor-user")
    # BrokenHtmx stands in for HtmxDetails on purpose: it fails wherever the real one answers.
    request.htmx = htmx(request) if isinstance(htmx, type) else cast(HtmxDetails, htmx)
    return request


def test_the_task_view_itself_reads_an_unparsable_current_url_as_none(supervisor):
    # django_htmx's own details (no sanitising middleware in front): the view must not trip either.
    account = open_account()
    request = view_request(HtmxDetails, account, {"command_id": str(uuid4()), "amount": "1.00"})
    request.META.update(HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://[")

    response = account_task(request, account, "deposit")

    assert response.status_code == 200 and "/?after=" in response["HX-Redirect"]
    assert load_account(account).balance == 100


class BrokenHtmx:
    """HTMX details that fail on every read: whatever goes wrong there, a recorded command is answered."""

    def __bool__(self) -> bool:
        raise RuntimeError("unreadable")

    def __getattr__(self, name: str):
        raise RuntimeError("unreadable")


def test_a_recorded_command_is_answered_with_its_redirect_even_if_choosing_the_answer_fails(supervisor):
    account = open_account()
    command_id = str(uuid4())

    response = account_task(
        view_request(BrokenHtmx(), account, {"command_id": command_id, "amount": "1.00"}), account, "deposit"
    )

    assert response.status_code == 303 and f"/accounts/{account}/?after=" in response["Location"]
    assert event_count(command_id=command_id) == 1


def test_an_unparsable_current_url_still_lets_a_status_task_through(supervisor):
    account = open_account()

    response = supervisor.post(
        f"/accounts/{account}/tasks/freeze/",
        {"command_id": str(uuid4()), "seen_version": 1, "reason": "checks"},
        headers={"HX-Request": "true", "HX-Current-URL": "http://["},
    )

    assert response.status_code == 200 and "HX-Redirect" in response
    assert load_account(account).status.value == "frozen"


ATTRIBUTES = {
    "HX-Current-URL": "current_url",
    "HX-Target": "target",
    "HX-Trigger": "trigger",
    "HX-Trigger-Name": "trigger_name",
    "HX-Prompt": "prompt",
    "HX-Source": "source",
    "HX-Request-Type": "request_type",
}


def details(**headers: str) -> ReadableHtmxDetails:
    return ReadableHtmxDetails(RequestFactory().get("/", headers={"HX-Request": "true", **headers}))


@given(
    header=st.sampled_from(sorted(ATTRIBUTES)),
    before=st.text(),
    control=st.characters(codec="utf-8", categories=["Cc"]),
    after=st.text(),
    encoded=st.booleans(),
)
def test_an_hx_header_holding_a_control_character_reads_as_absent(header, before, control, after, encoded):
    value = before + control + after
    sent = {header: quote(value) if encoded else value}
    if encoded:
        sent[f"{header}-URI-AutoEncoded"] = "true"

    assert getattr(details(**sent), ATTRIBUTES[header]) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://[",
        "http://[::1",
        "http://[zz]/",
        "http://a]b/",
        "http://\uff03/",
        "http://testserver:99999999/",
        "http://testserver/accounts/é/",
    ],
)
def test_a_current_url_that_does_not_parse_reads_as_absent(url):
    assert details(**{"HX-Current-URL": url}).current_url is None


def test_readable_headers_read_as_sent():
    htmx = details(
        **{
            "HX-Current-URL": "http://testserver/accounts/6f1c/?page=2",
            "HX-Target": "statement",
            "HX-Prompt": "caf%C3%A9 %E6%97%A5%E6%9C%AC",
            "HX-Prompt-URI-AutoEncoded": "true",
            "Triggering-Event": '{"type": "click"}',
        }
    )

    assert bool(htmx) and htmx.current_url == "http://testserver/accounts/6f1c/?page=2"
    assert (htmx.target, htmx.prompt, htmx.triggering_event) == ("statement", "café 日本", {"type": "click"})


@pytest.mark.parametrize("event", ["[" * 100_000, "{", "not json"])
def test_a_triggering_event_that_does_not_parse_reads_as_absent(event):
    assert details(**{"Triggering-Event": event}).triggering_event is None


def test_a_request_header_with_a_control_character_is_not_an_htmx_request():
    assert not details(**{"HX-Request": "true\x00"})
