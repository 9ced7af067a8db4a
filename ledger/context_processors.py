"""Template context: the user's roles and what the navigation may offer them."""

from __future__ import annotations

from django.http import HttpRequest

from ledger.roles import Task, may_audit, may_perform, may_see_approvals, roles_of


def roles(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_roles": sorted(r.value for r in roles_of(user)),
        "may_open": may_perform(user, Task.OPEN),
        "may_audit": may_audit(user),
        "may_see_approvals": may_see_approvals(user),
    }
