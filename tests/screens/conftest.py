"""Users for each role and a logged-in client per role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from ledger.roles import Role


def make_user(username: str, role: Role | None) -> User:
    user, _ = User.objects.get_or_create(username=username)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


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
