"""Roles and what each may do. A role is a Django group; the server checks it on every task.

teller:     open, deposit, withdraw, transfer, set up and cancel standing orders
supervisor: everything a teller does, plus freeze, unfreeze, close, and reverse a movement, and
            approve or reject large movements (never their own: ledger/domain/approval.py)
auditor:    reads everything, including the admin event browser, and changes nothing
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser, AnonymousUser

# Tally's users are Django's (with groups); a request's user may also be nobody.
AnyUser = AbstractUser | AnonymousUser


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
    REVERSE = "reverse"  # one statement line at a time (ledger/reversal_views.py), not an account task
    APPROVE = "approve"  # approve or reject a request in the approvals inbox (ledger/approval_views.py)
    STANDING_ORDER = "standing_order"  # set up or cancel one (ledger/standing_order_views.py)
    FORGET = "forget"  # destroy a closed account's customer's key, past the retention period (ledger/forgetting.py)


_TELLER_TASKS = frozenset({Task.OPEN, Task.DEPOSIT, Task.WITHDRAW, Task.TRANSFER, Task.STANDING_ORDER})
TASKS_BY_ROLE: dict[Role, frozenset[Task]] = {
    Role.TELLER: _TELLER_TASKS,
    Role.SUPERVISOR: _TELLER_TASKS | {Task.FREEZE, Task.UNFREEZE, Task.CLOSE, Task.REVERSE, Task.APPROVE, Task.FORGET},
    Role.AUDITOR: frozenset(),
}


def roles_of(user: AnyUser) -> set[Role]:
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_tally_roles", None)
    if cached is None:
        cached = remember_roles(user, user.groups.values_list("name", flat=True))
    return cached


def remember_roles(user: AnyUser, group_names: Iterable[str]) -> set[Role]:
    """Keep the user's roles on the user object: at most one query per request, not one per check
    (none when the request's user was loaded with its group names, see config.auth)."""
    names = set(group_names)
    roles = {role for role in Role if role.value in names}
    user._tally_roles = roles  # type: ignore[union-attr]  # a per-request note on the user object, not a field
    return roles


def may_perform(user: AnyUser, task: Task) -> bool:
    return any(task in TASKS_BY_ROLE[role] for role in roles_of(user))


def may_see_approvals(user: AnyUser) -> bool:
    """The approvals inbox: those who decide (supervisors) and those who watch (auditors)."""
    return may_perform(user, Task.APPROVE) or (user.is_authenticated and Role.AUDITOR in roles_of(user))


def may_audit(user: AnyUser) -> bool:
    """The event browser: auditors and superusers."""
    return bool(user.is_authenticated and (user.is_superuser or Role.AUDITOR in roles_of(user)))
