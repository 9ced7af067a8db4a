"""The Celery app (`celery -A config worker|beat`), configured from Django settings."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tally")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect(weak=False)
def _connections_as_for_a_request(**_: object) -> None:
    """Before a task, what Django does before a request: close a connection past CONN_MAX_AGE or
    broken by an error, and health-check the kept one at its first use."""
    from django.db import close_old_connections

    close_old_connections()


@task_postrun.connect(weak=False)
def _connections_kept_only_after_success(state: str | None = None, **_: object) -> None:
    """After a task, the same; and a task that failed or was interrupted may have left its session
    changed (an advisory lock, a search path), so its connections are closed, as Celery's fix-up
    closes every one without CELERY_DB_REUSE_MAX."""
    from django.db import close_old_connections, connections

    if state == "SUCCESS":
        close_old_connections()
    else:
        connections.close_all()
