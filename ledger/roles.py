"""Roles and what each may do. A role is a Django group; the server checks it on every task.

teller:     open, deposit, withdraw, transfer
supervisor: everything a teller does, plus freeze, unfreeze, close
auditor:    reads everything, including the admin event browser, and changes nothing
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


class Role(enum.StrEnum):
    TELLER = "teller"
    SUPERVISOR = "supervisor"
    AUDITOR = "auditor"


class Task(enum.StrEnum):
    OPEN = "open"
    DEPOSIT = "deposit"
    WITHDRAW = "withdraw"
    TRANSFER = "transfer"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    CLOSE = "close"


_TELLER_TASKS = frozenset({Task.OPEN, Task.DEPOSIT, Task.WITHDRAW, Task.TRANSFER})
TASKS_BY_ROLE: dict[Role, frozenset[Task]] = {
    Role.TELLER: _TELLER_TASKS,
    Role.SUPERVISOR: _TELLER_TASKS | {Task.FREEZE, Task.UNFREEZE, Task.CLOSE},
    Role.AUDITOR: frozenset(),
}


def roles_of(user: AbstractBaseUser | AnonymousUser) -> set[Role]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_tally_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))  # type: ignore[union-attr]
    return cached


def remember_roles(user: AbstractBaseUser, group_names: Iterable[str]) -> set[Role]:
    """Keep the user's roles on the user object: at most one query per request, not one per check
    (none when the request's user was loaded with its group names, see config.auth)."""
    names = set(group_names)
    user._tally_roles = {role for role in Role if role.value in names}  # type: ignore[attr-defined]
    return user._tally_roles  # type: ignore[attr-defined]


def may_perform(user: AbstractBaseUser | AnonymousUser, task: Task) -> bool:
    return any(task in TASKS_BY_ROLE[role] for role in roles_of(user))


def may_audit(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The event browser: auditors and superusers."""
    return bool(user.is_authenticated and (user.is_superuser or Role.AUDITOR in roles_of(user)))
