"""Installed in place of django.contrib.admin, so the event browser is the default admin site.
(Kept apart from admin_site.py: app configs load before models and forms may be imported.)"""

from django.contrib.admin.apps import AdminConfig


class TallyAdminConfig(AdminConfig):
    default_site = "ledger.admin_site.EventBrowserSite"
