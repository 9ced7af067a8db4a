"""A stopped projection as each role sees it: every role learns that it stopped, at which event,
since when, and what went wrong in one line; only operators (superusers) see the traceback, whose
file paths, code and data are for them. The header badge and the dashboard say no more than that."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from ledger.roles import Role
from projections.models import ProjectionStatus

pytestmark = pytest.mark.django_db  # rolled back: the stopped projection is this test's only

MESSAGE = "ValueError: invalid literal for int() with base 10: 'twelve'"
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/tally-secret-path/projections/projectors/'
    'statement.py", line 42, in apply\n    amount = int(row["amount"])\n' + MESSAGE
)
SCREENS = ["/projections/", "/projections/lag/", "/"]


@pytest.fixture
def stopped():
    since = timezone.now() - timedelta(minutes=7)
    ProjectionStatus.objects.update_or_create(
        name="statement",
        defaults={"last_error": f"{MESSAGE}\n\n{TRACEBACK}", "last_error_position": 4242, "last_error_at": since},
    )
    return since


def text_of(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


@pytest.fixture
def superuser() -> Client:
    client = Client()
    client.force_login(User.objects.create_user("operator-root", is_superuser=True))
    return client


@pytest.mark.parametrize("role", [Role.TELLER, Role.SUPERVISOR, Role.AUDITOR, None], ids=lambda r: r or "no-role")
def test_every_role_sees_that_a_projection_stopped_and_since_when_but_no_traceback(client_for, stopped, role):
    client = client_for(role)

    status = client.get("/projections/").content.decode()

    assert "stopped at event #4242" in text_of(status)
    link = '<a href="/admin/ledger/event/4242/change/">event #4242</a>'
    assert (link in status) is (role is Role.AUDITOR)  # the event, for those who may open the event browser
    assert "since" in status and "7\xa0minutes ago" in status
    assert "invalid literal for int() with base 10: &#x27;twelve&#x27;" in status  # the one line
    for screen in SCREENS:
        body = client.get(screen).content.decode()
        assert "Traceback" not in body and "tally-secret-path" not in body and "row[" not in body, screen
    htmx = client.get("/projections/", headers={"HX-Request": "true"}).content.decode()
    assert "stopped at event #4242" in text_of(htmx) and "Traceback" not in htmx


def test_an_operator_sees_the_traceback(superuser, stopped):
    status = superuser.get("/projections/").content.decode()
    htmx = superuser.get("/projections/", headers={"HX-Request": "true"}).content.decode()

    assert "Traceback (most recent call last)" in status and "tally-secret-path" in status
    assert "tally-secret-path" in htmx


def test_a_running_projection_shows_no_error(client_for):
    ProjectionStatus.objects.update_or_create(
        name="statement", defaults={"last_error": "", "last_error_position": None, "last_error_at": None}
    )

    status = client_for(Role.AUDITOR).get("/projections/").content.decode()

    assert "Stopped" not in status


def test_the_admin_page_of_a_stopped_projection_shows_the_traceback_to_operators_only(client_for, stopped, superuser):
    url = "/admin/projections/projectionstatus/statement/change/"

    audited = client_for(Role.AUDITOR).get(url)
    operated = superuser.get(url)

    assert audited.status_code == operated.status_code == 200
    assert "tally-secret-path" not in audited.content.decode()
    assert "invalid literal for int()" in audited.content.decode()
    assert "tally-secret-path" in operated.content.decode()
