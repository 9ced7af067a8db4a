"""What the tests add to scripts/processes.py: child processes pointed at the test database, and this
process's Celery publishing pointed at a Redis of the test's choosing."""

from __future__ import annotations

import os
from urllib.parse import quote

from django.conf import settings
from django.db import connection

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens here: nudges fail quietly, the sweep is not needed


def database_url() -> str:
    """The test database, as a URL for child processes."""
    s = connection.settings_dict
    host = quote(s["HOST"] or "localhost", safe="")
    port = f":{s['PORT']}" if s["PORT"] else ""
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    return f"postgres://{quote(s['USER'])}{password}@{host}{port}/{s['NAME']}"


def child_env(redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "DJANGO_DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }


def point_at_redis(url: str, *, broker: str | None = None) -> None:
    """Make this process's nudges and Celery publishing go to `url` (Celery's to `broker` if given)."""
    from config.celery import app
    from projections.nudge import nudge

    settings.REDIS_URL = url
    app.conf["broker_url"] = broker or url  # what setting the attribute does (the stubs make it read-only)
    # Celery has no public way to drop the connections it pooled for the old URL; this is what its own
    # after-fork clean-up does, so that the next publish pools new ones for `url`.
    pool = app._pool  # type: ignore[attr-defined]  # private, see above
    if pool is not None:
        pool.force_close_all()
    app._pool = None  # type: ignore[attr-defined]  # private, see above
    app.amqp._producer_pool = None  # type: ignore[attr-defined]  # private, see above
    nudge._redis = None
