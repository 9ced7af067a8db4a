"""Users for each role and a logged-in client per role."""

from __future__ import annotations

import pytest
from django.test import Client

from ledger.roles import Role
from tests.screens.helpers import make_user


@pytest.fixture
def client_for():
    """Needs database access from the test: `db` (rolled back) or `committed`."""

    def login(role: Role | None) -> Client:
        client = Client()
        client.force_login(make_user(f"{role.value if role else 'norole'}-user", role))
        return client

    return login


@pytest.fixture
def supervisor(db, client_for) -> Client:
    return client_for(Role.SUPERVISOR)
