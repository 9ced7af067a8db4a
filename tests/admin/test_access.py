"""Who may open the event browser: auditors and superusers; a teller or supervisor gets a 403,
and a signed-out visitor is sent to log in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, Permission, User
from django.db import connection
from django.shortcuts import resolve_url
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger.models import Event
from ledger.roles import Role
from tests.admin.helpers import EVENTS, change_url, stream_url
from tests.write.helpers import open_account

ADMIN = reverse("admin:index")
LOGIN = reverse("admin:login")


@pytest.fixture
def pages(db) -> list[str]:
    account = open_account()
    exports = [reverse("admin:ledger_event_export", args=[kind]) + f"?stream={account}" for kind in ("csv", "jsonl")]
    return [ADMIN, EVENTS, change_url(Event.objects.get(stream_id=account)), stream_url(account), *exports]


@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR])
def test_tellers_and_supervisors_are_refused_every_page_of_the_browser(as_role, role, pages):
    client = as_role(role)

    for page in pages:
        assert client.get(page).status_code == 403, page


@pytest.mark.parametrize("superuser", [False, True], ids=["auditor", "superuser"])
def test_auditors_and_superusers_see_every_page_of_the_browser(as_role, superuser, pages):
    client = as_role(Role.AUDITOR) if not superuser else as_role(superuser=True)

    for page in pages:
        assert client.get(page).status_code == 200, page
    assert EVENTS in client.get(ADMIN).content.decode()  # the index lists the event browser


def test_an_auditor_holds_no_staff_flag_and_no_model_permission(user):
    person = user(Role.AUDITOR)

    assert not person.is_staff and not person.has_perm("ledger.view_event")


def test_model_permissions_held_directly_and_through_a_group_are_read_in_one_query(user):
    person = user(Role.AUDITOR)
    person.user_permissions.add(Permission.objects.get(codename="view_event"))
    Group.objects.get(name=Role.AUDITOR.value).permissions.add(Permission.objects.get(codename="view_user"))
    person = User.objects.get(pk=person.pk)  # no permissions cached on it yet

    with CaptureQueriesContext(connection) as ran:
        held = person.get_all_permissions()
        assert person.has_perm("ledger.view_event") and person.has_module_perms("auth")
    assert held == {"ledger.view_event", "auth.view_user"} and len(ran) == 1


def test_a_signed_out_visitor_is_sent_to_log_in(client: Client, pages):
    # The admin's own pages send to the admin's log-in form; LoginRequiredMiddleware sends the
    # model pages to the app's (settings.LOGIN_URL). Either brings the visitor back afterwards.
    log_in_pages = {LOGIN, resolve_url(settings.LOGIN_URL)}
    for page in pages:
        response = client.get(page)
        location = urlsplit(response["Location"])
        assert response.status_code == 302 and location.path in log_in_pages, page
        assert parse_qs(location.query)["next"] == [page]


def test_an_auditor_signs_in_on_the_admin_log_in_page_and_a_teller_cannot(client: Client, user):
    user(Role.AUDITOR, name="ann")
    user(Role.TELLER, name="tom")

    refused = client.post(LOGIN, {"username": "tom", "password": "tally", "next": EVENTS})
    assert refused.status_code == 200 and "auditor account" in refused.content.decode()
    signed_in = client.post(LOGIN, {"username": "ann", "password": "tally", "next": EVENTS})
    assert signed_in.status_code == 302 and signed_in["Location"] == EVENTS
    assert client.get(EVENTS).status_code == 200
