"""The nudge: after a command commits, ask a Celery worker to catch the projections up.

Publishing happens on a background thread, so a slow or dead broker never delays or fails a
request; the beat sweep catches up whatever a lost nudge would have. Nudges coalesce twice: a
burst of commits in one process wakes the publisher once, and at most once per COALESCE_SECONDS
(a process committing a thousand commands a second asks Redis 50 times, not a thousand; each
publish cost the committing thread ~0.2 ms of CPU and GIL); and a Redis flag (SET NX, cleared by
the task when it starts) keeps at most one catch-up queued across all processes, so a storm of
commands costs one catch-up, not one per command (one per lane, with partitioned projections).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time

import redis
from celery import current_app
from django.conf import settings

from projections.partitions import configured_lanes

log = logging.getLogger(__name__)

QUEUED_FLAG = "tally:catch-up-queued"
# How long the flag keeps other nudges from queuing another catch-up. A process can die after
# setting it and before its task is published (a management command exiting, a recycled web
# worker): with 30 s, every deposit's page in the next 30 s said "processing" (seen in a test).
# Kept to the beat's sweep interval, such a loss costs no more than a lost nudge does.
FLAG_TTL_SECONDS = 2
# A process on its way out waits this long for its last nudge to be published.
EXIT_WAIT_SECONDS = 2.0
BROKER_DOWN_PAUSE = 1.0
# Delays only a commit that follows the previous publish within this time, by at most this time:
# commit -> visible stays well inside its 50 ms goal.
COALESCE_SECONDS = 0.02


class Nudger:
    def __init__(self) -> None:
        self._wanted = threading.Event()
        self._publishing = threading.Event()
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
                    atexit.register(self.flush)

    def flush(self, timeout: float = EXIT_WAIT_SECONDS) -> None:
        """Wait (briefly) until the nudges asked for are published: a daemon thread dies with its
        process, and a command-line process that committed a command exits right after."""
        deadline = time.monotonic() + timeout
        while (self._wanted.is_set() or self._publishing.is_set()) and time.monotonic() < deadline:
            time.sleep(0.01)

    def _loop(self) -> None:
        while True:
            self._wanted.wait()
            self._publishing.set()
            self._wanted.clear()
            pause = COALESCE_SECONDS  # commits meanwhile set _wanted: one publish covers them
            try:
                self.publish()
            except Exception as exc:  # noqa: BLE001 - the broker is a hint; Postgres holds the truth
                log.warning("could not nudge the projection workers (%s); the sweep will catch up", exc)
                pause = BROKER_DOWN_PAUSE
            finally:
                self._publishing.clear()
            time.sleep(pause)

    def client(self) -> redis.Redis:
        if self._redis is None:
            self._redis = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
        return self._redis

    def publish(self) -> None:
        # One task per lane (the k-th partitions of the split projections: projections/partitions.py),
        # so that as many workers apply them side by side; lane 1 alone when nothing is split.
        # As configured: the publisher asks no database (a lane of a layout being replaced meanwhile
        # is caught up by the sweep, projections/tasks.py).
        for lane in range(1, configured_lanes() + 1):
            if self.client().set(queued_flag(lane), "1", nx=True, ex=FLAG_TTL_SECONDS):
                # The project's Celery app (config.celery sets itself current as Django starts): the
                # read side names no module of the project shell above it.
                current_app.send_task("projections.catch_up", kwargs={"nudged": True, "lane": lane}, retry=False)


def queued_flag(lane: int) -> str:
    return QUEUED_FLAG if lane == 1 else f"{QUEUED_FLAG}:{lane}"


nudge = Nudger()
