"""Sessions live in Postgres (Django's database backend, config.sessions): a session that expired,
was logged out or never existed signs nobody in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from ledger.roles import Role

pytestmark = pytest.mark.django_db


def _signed_in(client: Client) -> bool:
    response = client.get("/accounts/")
    return response.status_code == 200 and "Log out" in response.content.decode()


def test_a_signed_in_session_is_read_from_the_database_on_each_request(client_for):
    teller = client_for(Role.TELLER)
    assert _signed_in(teller)
    assert Session.objects.filter(session_key=teller.cookies["sessionid"].value).exists()


def test_an_expired_session_signs_nobody_in(client_for):
    teller = client_for(Role.TELLER)
    Session.objects.filter(session_key=teller.cookies["sessionid"].value).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )

    response = teller.get("/accounts/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_logging_out_ends_the_session_on_the_server_not_only_in_the_browser(client_for):
    teller = client_for(Role.TELLER)
    stolen = teller.cookies["sessionid"].value

    assert teller.post("/logout/").status_code == 302
    replayed = Client()
    replayed.cookies["sessionid"] = stolen

    assert not _signed_in(replayed)
    assert not Session.objects.filter(session_key=stolen).exists()


def test_an_unknown_session_key_signs_nobody_in():
    stranger = Client()
    stranger.cookies["sessionid"] = "x" * 32

    assert not _signed_in(stranger)
