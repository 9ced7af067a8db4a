"""The machine and the Postgres the figures were taken on, recorded next to them: a figure means
little without the cores, the memory, and the durability settings that bound every commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import TYPE_CHECKING, Any

from bench.common import ROOT, TALLY_DB, database_url

if TYPE_CHECKING:
    import psycopg

# The settings that move the figures: durability (what a commit waits for), memory, WAL and I/O.
PG_SETTINGS = (
    "shared_buffers",
    "synchronous_commit",
    "fsync",
    "full_page_writes",
    "wal_level",
    "wal_buffers",
    "commit_delay",
    "max_wal_size",
    "checkpoint_timeout",
    "effective_cache_size",
    "work_mem",
    "max_connections",
    "random_page_cost",
    "jit",
    "huge_pages",
    "data_checksums",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "--short", "HEAD"),
        "branch": run("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(run("status", "--porcelain", "--untracked-files=no")),
    }


def _versions() -> dict[str, str]:
    found = {}
    for name in ("django", "psycopg", "celery", "redis", "gunicorn", "eventsourcing"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def _show(conn: psycopg.Connection, setting: str) -> str:
    row = conn.execute(f"SHOW {setting}").fetchone()
    if row is None:  # SHOW answers one row, or raises for a setting it does not know
        raise RuntimeError(f"SHOW {setting} answered nothing")
    return row[0]


def postgres() -> dict[str, Any]:
    import psycopg

    with psycopg.connect(database_url(TALLY_DB), autocommit=True) as conn:
        version = _show(conn, "server_version")
        settings = {name: _show(conn, name) for name in PG_SETTINGS}
        # The event table's indexes: every one is paid on each append (other migrations add some).
        indexes = [
            r[0]
            for r in conn.execute(
                "SELECT indexname FROM pg_indexes WHERE tablename = 'ledger_event' ORDER BY indexname"
            ).fetchall()
        ]
        host = conn.info.host
    return {"version": version, "host": host, "settings": settings, "ledger_event_indexes": indexes}


def describe() -> dict[str, Any]:
    return {
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "packages": _versions(),
        "git": _git(),
        "postgres": postgres(),
    }
