"""Turns Django's default admin site into the auditors' event browser: open to auditors and
superusers (auditors are not staff), a plain 403 for everyone else who is signed in."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse

from ledger.roles import may_audit

V = TypeVar("V", bound=Callable[..., Any])


def may_open_admin(request: HttpRequest) -> bool:
    return request.user.is_active and may_audit(request.user)


class AuditorAuthenticationForm(AdminAuthenticationForm):
    """The admin's log-in form asks for a staff account; the browser wants an auditor instead."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": "Please enter the correct %(username)s and password of an auditor account. "
        "Note that both fields may be case-sensitive.",
    }

    def confirm_login_allowed(self, user: Any) -> None:
        AuthenticationForm.confirm_login_allowed(self, user)  # inactive users; skips the staff check
        if not may_audit(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class EventBrowserSite(AdminSite):
    """The admin site as the auditors' event browser."""

    site_header = site_title = "Tally event browser"
    index_title = "Recorded history (read-only)"
    login_form = AuditorAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_open_admin(request)

    def admin_view(self, view: V, cacheable: bool = False) -> V:
        """Django sends a signed-in user who may not use the admin back to its log-in page, which
        offers to sign in as someone else; a teller who follows a link here gets a clear 403 instead.
        Signed-out visitors still go to the log-in page."""
        guarded = super().admin_view(view, cacheable)

        @wraps(view)
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.user.is_authenticated and not may_open_admin(request):
                raise PermissionDenied
            return guarded(request, *args, **kwargs)

        return cast("V", inner)
