"""Helpers for screen tests: users with a role, and where each task's form is."""

from __future__ import annotations

from django.contrib.auth.models import Group, User

from ledger.roles import Role


def make_user(username: str, role: Role | None) -> User:
    user, _ = User.objects.get_or_create(username=username)
    if role is not None:
        user.groups.add(Group.objects.get(name=role.value))
    return user


def url_of(task: str, account_id) -> str:
    return "/accounts/open/" if task == "open" else f"/accounts/{account_id}/tasks/{task}/"
