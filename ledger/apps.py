"""The ledger's app configs: the write side itself, and django.contrib.admin installed with the
event browser as its default site. (App configs load before models may be imported, so the admin
package, which imports models, is named here only by its dotted path.)"""

from importlib import import_module

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps  # as a module: its AdminConfig is no candidate here
from django.db import connections
from django.db.models.signals import post_migrate

from ledger.store.upcasting import current_view_sql


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger (write side)"

    def ready(self) -> None:
        post_migrate.connect(_make_current_view, sender=self)


def _make_current_view(using: str, **_: object) -> None:
    """After every migrate: the view of events in their current shape follows the upcasters the
    code has now (a migration would freeze the ones of the day it was written)."""
    with connections[using].cursor() as cursor:
        cursor.execute(current_view_sql())


class TallyAdminConfig(admin_apps.AdminConfig):
    default = False  # named by its path in INSTALLED_APPS; "ledger" means LedgerConfig
    default_site = "ledger.admin.site.EventBrowserSite"

    def ready(self) -> None:
        super().ready()  # makes the site and autodiscovers every app's admin module
        import_module("ledger.admin.browser")  # the event browser's ModelAdmin (see ledger/admin/__init__.py)
