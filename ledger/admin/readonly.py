"""What every ModelAdmin of Tally's shares: nobody adds, changes or deletes anything, superusers
included, whoever may open the event browser (auditors, superusers) may look, and no page offers an
admin change history that would always be empty."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import Http404, HttpRequest, HttpResponse


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Auditors hold no Django model permissions: looking is the site's rule (EventBrowserSite).
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        # The admin's history lists changes made through the admin, and nothing here is ever changed
        # that way; the object tools show no "History" link (templates/admin/change_form_object_tools.html).
        raise Http404("Nothing here is changed through the admin, so there is no change history to show.")
