"""The nudge: after a command commits, ask a Celery worker to catch the projections up.

Publishing happens on a background thread, so a slow or dead broker never delays or fails a
request; the beat sweep catches up whatever a lost nudge would have. Nudges coalesce twice: a
burst of commits in one process wakes the publisher once, and at most once per COALESCE_SECONDS
(a process committing a thousand commands a second asks Redis 50 times, not a thousand; each
publish cost the committing thread ~0.2 ms of CPU and GIL); and a Redis flag (SET NX, cleared by
the task when it starts) keeps at most one catch-up queued across all processes, so a storm of
commands costs one catch-up, not one per command.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from celery import current_app
from django.conf import settings

log = logging.getLogger(__name__)

QUEUED_FLAG = "tally:catch-up-queued"
FLAG_TTL_SECONDS = 30  # a queued task that never ran (worker gone) stops blocking nudges after this
BROKER_DOWN_PAUSE = 1.0
# Delays only a commit that follows the previous publish within this time, by at most this time:
# commit -> visible stays well inside its 50 ms goal.
COALESCE_SECONDS = 0.02


class Nudger:
    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self._redis: redis.Redis | None = None

    def __call__(self, _result: object = None) -> None:
        self._wanted.set()
        if self._thread is None or not self._thread.is_alive():
            with self._guard:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="tally-nudger", daemon=True)
                    self._thread.start()

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._wanted.clear()
            try:
                self.publish()
            except Exception as exc:  # noqa: BLE001 - the broker is a hint; Postgres holds the truth
                log.warning("could not nudge the projection workers (%s); the sweep will catch up", exc)
                time.sleep(BROKER_DOWN_PAUSE)
            else:
                time.sleep(COALESCE_SECONDS)  # commits meanwhile set _wanted: one publish covers them

    def client(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
        return self._redis

    def publish(self) -> None:
        if self.client().set(QUEUED_FLAG, "1", nx=True, ex=FLAG_TTL_SECONDS):
            # The project's Celery app (config.celery sets itself current as Django starts): the
            # read side names no module of the project shell above it.
            current_app.send_task("projections.catch_up", kwargs={"nudged": True}, retry=False)


nudge = Nudger()
