"""The screens over HTTP, as people use them: gunicorn serving the app (DEBUG off, static files
collected), 10 concurrent clients with logged-in sessions, on the large log of the rebuild
benchmark (bench_rebuild: its accounts, read models and 1,000,000 events in full mode).

- the account page, /accounts/<uuid>/, over many accounts;
- the accounts list, /accounts/, rotating through its default page, a later page, a search, a
  filter and another sort;
- a deposit round trip: POST the deposit form, follow the 303 to the account page with `?after=`,
  which waits until the projections have the deposit (read-your-writes); a real Celery worker
  and beat keep the projections up, as in production. A page that gave up waiting ("still
  processing" banner) is counted as such;
- the admin event browser: the newest-first list, and searches by stream id, command id and actor.

Each figure's clients run for a short warm-up, then `http_requests` requests in all; p95 is over
those. The client threads share the 2 cores with gunicorn and Postgres, as on one small server.
"""

from __future__ import annotations

import os
import random
import runpy
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import uuid4

from bench.common import REBUILD_DB, ROOT, Profile, database_url, latency_summary, redis_url, run_together, say
from scripts.processes import HttpSession, WebServer

CLIENTS = 10
WARMUP_SECONDS = 1.0


def _routes_exist() -> dict[str, bool]:
    """Which screens this tree has (the benchmark measures what exists and says what does not)."""
    code = (
        "import django;django.setup();from django.urls import resolve, Resolver404;import uuid,json\n"
        "def ok(p):\n"
        "  try: resolve(p); return True\n"
        "  except Resolver404: return False\n"
        "a=str(uuid.uuid4())\n"
        "print(json.dumps({'accounts': ok('/accounts/'), 'account': ok(f'/accounts/{a}/'),"
        " 'deposit': ok(f'/accounts/{a}/tasks/deposit/'), 'admin': ok('/admin/ledger/event/')}))"
    )
    env = {**os.environ, "DATABASE_URL": database_url(REBUILD_DB)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"could not load the URL configuration:\n{out.stderr[-2000:]}")
    import json

    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepare(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """In a process set up on bench_rebuild: users with their roles, logged-in sessions, and the
    accounts to visit."""
    from bench.common import setup_django

    setup_django(REBUILD_DB)
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from projections.models import AccountSummary

    with connection.cursor() as cursor:
        # What autovacuum does on any production server after a rebuild of this size: statistics
        # for the planner and the dead rows of the rebuild cleared away. The machine's Postgres may
        # run with autovacuum off (this one's configuration does), and the screens would then be
        # measured on tables the planner knows nothing about (reltuples -1) and on read models
        # holding a dead row version for every event the rebuild applied.
        cursor.execute("VACUUM ANALYZE")
    sessions = {}
    for role in ("teller", "auditor"):
        user, _ = User.objects.get_or_create(username=f"bench-{role}")
        user.groups.add(Group.objects.get(name=role))
        client = Client()
        client.force_login(user)  # a session row in the database, as a log-in leaves it
        sessions[role] = client.cookies["sessionid"].value
    rng = random.Random(5)
    ids = list(AccountSummary.objects.filter(currency="EUR", status="open").values_list("account_id", flat=True))
    accounts = [str(a) for a in rng.sample(ids, min(len(ids), 500))]
    owners = list(AccountSummary.objects.values_list("owner", flat=True)[:50])
    with connection.cursor() as cursor:  # a spread of positions, without ORDER BY random() on 1M rows
        cursor.execute("SELECT max(position) FROM ledger_event")
        head = cursor.fetchone()[0] or 0
        picks = sorted({rng.randint(1, head) for _ in range(100)}) if head else []
        cursor.execute(
            "SELECT stream_id::text, metadata->>'command_id', metadata->>'actor' FROM ledger_event "
            "WHERE position = ANY(%s)",
            [picks],
        )
        rows = cursor.fetchall()
    streams = [r[0] for r in rows]
    commands = [r[1] for r in rows]
    ready()
    return {
        "sessions": sessions,
        "accounts": accounts,
        "owners": owners,
        "streams": streams,
        "commands": commands,
        "events": head,
    }


def _client(port: int, session: str) -> HttpSession:
    """One keep-alive connection with a session cookie, and a CSRF cookie its posts send back."""
    csrf = secrets.token_hex(16)  # 32 characters: Django accepts it as the CSRF secret
    return HttpSession(port, timeout=30, keep_alive=True, cookies={"sessionid": session, "csrftoken": csrf})


def _load(port: int, session: str, requests: int, step: Callable[[HttpSession, int], bool]) -> dict[str, Any]:
    """CLIENTS threads call step(client, i) (True = the request did what it should) for a warm-up,
    then until `requests` timed calls are done in all."""
    lock = threading.Lock()
    counter = {"next": 0}
    latencies: list[float] = []
    failures = [0]

    def client_loop(n: int) -> None:
        client = _client(port, session)
        warm_until = time.perf_counter() + WARMUP_SECONDS
        i = n * 100_000
        while time.perf_counter() < warm_until:
            step(client, i)
            i += 1
        while True:
            with lock:
                if counter["next"] >= requests:
                    return
                counter["next"] += 1
            t0 = time.perf_counter()
            try:
                ok = step(client, i)
            except Exception:  # noqa: BLE001 - a failed request is counted, not fatal
                ok = False
            elapsed = time.perf_counter() - t0
            i += 1
            with lock:
                latencies.append(elapsed)
                if not ok:
                    failures[0] += 1

    threads = [threading.Thread(target=client_loop, args=(n,), daemon=True) for n in range(CLIENTS)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return {
        "requests": len(latencies),
        "clients": CLIENTS,
        "errors": failures[0],
        "per_second": len(latencies) / (time.perf_counter() - started),
        "latency_ms": latency_summary(latencies),
    }


FIGURES = ("account_page", "accounts_list", "deposit", "admin_list", "admin_search")
ROUTE_OF = {
    "account_page": "account",
    "accounts_list": "accounts",
    "deposit": "deposit",
    "admin_list": "admin",
    "admin_search": "admin",
}


def run(profile: Profile, figures: tuple[str, ...] = FIGURES) -> dict[str, Any]:
    routes = _routes_exist()
    missing = "not measured yet: the screen is not in this tree"
    web = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))  # gunicorn as the Procfile runs it
    results: dict[str, Any] = {"gunicorn": {k: web[k] for k in ("workers", "threads", "worker_class")}}
    results.update({f: missing for f in figures if not routes[ROUTE_OF[f]]})
    figures = tuple(f for f in figures if routes[ROUTE_OF[f]])
    if not figures:
        return results
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": database_url(REBUILD_DB)},
    )
    data = run_together(_prepare, [{}])[0]
    results["events"] = data["events"]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    from bench.latency import celery, flush_bench_redis

    flush_bench_redis()
    server = WebServer(
        "gunicorn",
        env={**os.environ, "DATABASE_URL": database_url(REBUILD_DB), "REDIS_URL": redis_url()},
        log=log_dir / "gunicorn.log",
        extra=("--log-level", "warning"),
    ).start()
    worker = celery("worker", REBUILD_DB, log_dir).start()
    beat = celery("beat", REBUILD_DB, log_dir).start()
    say(f"  gunicorn on port {server.port}, logs in {log_dir}")
    n = profile.http_requests
    accounts, teller, auditor = data["accounts"], data["sessions"]["teller"], data["sessions"]["auditor"]

    def get(path_of: Callable[[int], str]) -> Callable[[HttpSession, int], bool]:
        return lambda client, i: client.get(path_of(i)).status == 200

    owner = data["owners"][0].split()[-1] if data["owners"] else "Hopper"
    lists = [
        "/accounts/",
        "/accounts/?page=3",
        "/accounts/?" + urlencode({"q": owner}),
        "/accounts/?status=open&currency=EUR",
        "/accounts/?sort=owner",
    ]
    terms = data["streams"] + data["commands"] + ["teller", "import"]
    loads = {  # figure: (session, requests, step)
        "account_page": (teller, n, get(lambda i: f"/accounts/{accounts[i % len(accounts)]}/")),
        "accounts_list": (teller, n, get(lambda i: lists[i % len(lists)])),
        "deposit": (teller, max(n // 2, 50), _deposit(accounts)),
        "admin_list": (auditor, n, get(lambda i: "/admin/ledger/event/" if i % 2 else "/admin/ledger/event/?p=2")),
        "admin_search": (auditor, n, get(lambda i: "/admin/ledger/event/?" + urlencode({"q": terms[i % len(terms)]}))),
    }
    try:
        for figure in figures:
            session, requests, step = loads[figure]
            results[figure] = _load(server.port, session, requests, step)
            if figure.startswith("admin_"):
                results[figure]["events"] = data["events"]
    finally:
        server.stop()
        beat.stop()
        worker.stop()
    return results


def _deposit(accounts: list[str]) -> Callable[[HttpSession, int], bool]:
    """POST a deposit, then GET the page it redirects to, which waits for the read side."""

    def step(client: HttpSession, i: int) -> bool:
        account = accounts[i % len(accounts)]
        posted = client.post(
            f"/accounts/{account}/tasks/deposit/", {"command_id": str(uuid4()), "amount": "1.00", "memo": "bench"}
        )
        location = posted.headers.get("Location") or posted.headers.get("location")
        if posted.status != 303 or not location:
            return False
        split = urlsplit(location)
        page = client.get(split.path + (f"?{split.query}" if split.query else ""))
        return page.status == 200 and b"banner processing" not in page.content

    return step


def main(argv: list[str]) -> None:
    """`python -m bench.http [--quick] [--only FIGURE ...]`: this family alone, on the log a run with
    `--only rebuild http --keep-databases` left behind (loading it again takes minutes)."""
    import argparse
    import json

    from bench.common import FULL, QUICK, bench_environment

    parser = argparse.ArgumentParser(prog="python -m bench.http", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick profile's request counts")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=FIGURES,
        default=FIGURES,
        metavar="FIGURE",
        help=f"measure only these ({', '.join(FIGURES)})",
    )
    args = parser.parse_args(argv)
    os.environ.update(bench_environment())
    results = run(QUICK if args.quick else FULL, tuple(args.only))
    for figure in args.only:
        entry = results[figure]
        if isinstance(entry, dict):
            latency = entry["latency_ms"]
            print(
                f"{figure:14} p50 {latency['p50']:7.1f} ms  p95 {latency['p95']:7.1f} ms  "
                f"{entry['per_second']:6.1f}/s  errors {entry['errors']}"
            )
        else:
            print(f"{figure:14} {entry}")
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
