"""The screens over HTTP, as people use them: gunicorn serving the app as the Procfile runs it (DEBUG
off, static files collected, sync workers), logged-in sessions, on the large log of the rebuild
benchmark (bench_rebuild: its accounts, read models and 1,000,000 events in full mode), with a real
Celery worker and beat keeping the projections up, as in production.

For each screen, in one run and through the same gunicorn:

- capacity: the requests per second it sustains, from a closed loop of twice as many clients as
  gunicorn has workers (so a worker never waits for the client), the warm-up excluded;
- an open-loop load at 50 % and 80 % of that capacity: requests sent on a fixed schedule, each
  timed from when it was due (bench/http_load.py), p50/p95/p99 over all samples of all rounds;
- `/healthz` (one `SELECT 1`) at the same rates, right after the screen's run at each rate: the
  floor the server, the network stack and the client put under every figure.

The screens: the account page over many accounts; the accounts list rotating through its default
page, a later page, a search, a filter and another sort; the dashboard; an account's history as of
a moment (all of it, up to a version, up to a date); the admin event browser's newest-first list
and its searches by stream id, command id and actor; and a deposit round trip: POST the deposit
form, follow the 303 to the account page with `?after=`, which waits until the projections have the
deposit (read-your-writes). A page that gave up waiting ("still processing" banner) is a failure.
The deposit's `/healthz` runs at the same HTTP request rate (two requests per round trip).

bench/http_scale.py measures the accounts list and the dashboard at two numbers of accounts and
the event browser at two log sizes with the same code.
"""

from __future__ import annotations

import json
import os
import random
import runpy
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from uuid import uuid4

from bench import http_load
from bench.common import REBUILD_DB, ROOT, Profile, database_url, redis_url, run_together, say
from scripts.processes import CeleryProcess, HttpSession, WebServer


@dataclass(frozen=True)
class Timing:
    """How long each HTTP measurement runs (the shared Profile names only a request count)."""

    capacity_warmup: float
    capacity_seconds: float
    load_warmup: float
    load_seconds: float
    rounds: int  # each rate's screen-then-/healthz pair, this many times, alternating
    shares: tuple[float, ...]  # the open-loop rates, as shares of each screen's capacity


TIMINGS = {
    # CI's quick run keeps the whole bench short: one round, the goal's rate (50 %) only.
    "quick": Timing(
        capacity_warmup=0.3, capacity_seconds=1.0, load_warmup=0.2, load_seconds=1.0, rounds=1, shares=(0.5,)
    ),
    "full": Timing(
        capacity_warmup=2.0, capacity_seconds=5.0, load_warmup=1.0, load_seconds=4.0, rounds=3, shares=(0.5, 0.8)
    ),
}
GOAL_SHARE = 0.5  # the goals compare each screen with /healthz at half its capacity
HEALTHZ = "/healthz"


def _routes_exist() -> dict[str, bool]:
    """Which screens this tree has (the benchmark measures what exists and says what does not)."""
    code = (
        "import django;django.setup();from django.urls import resolve, Resolver404;import uuid,json\n"
        "def ok(p):\n"
        "  try: resolve(p); return True\n"
        "  except Resolver404: return False\n"
        "a=str(uuid.uuid4())\n"
        "print(json.dumps({'accounts': ok('/accounts/'), 'account': ok(f'/accounts/{a}/'),"
        " 'as_of': ok(f'/accounts/{a}/as-of/'), 'dashboard': ok('/'),"
        " 'deposit': ok(f'/accounts/{a}/tasks/deposit/'), 'admin': ok('/admin/ledger/event/')}))"
    )
    env = {**os.environ, "DATABASE_URL": database_url(REBUILD_DB)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"could not load the URL configuration:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def prepare(job: dict[str, Any], ready: Callable[[], Any]) -> dict[str, Any]:
    """In a process set up on job["db"]: VACUUM ANALYZE, users with their roles, logged-in
    sessions, and the accounts, owners, streams and commands to visit."""
    from bench.common import setup_django

    setup_django(job["db"])
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client

    from projections.models import AccountSummary

    with connection.cursor() as cursor:
        # What autovacuum does on any production server after a load of this size: statistics
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
    rows = list(AccountSummary.objects.filter(currency="EUR", status="open").values_list("account_id", "version"))
    picked = rng.sample(rows, min(len(rows), 500))
    owners = list(AccountSummary.objects.values_list("owner", flat=True)[:50])
    with connection.cursor() as cursor:  # a spread of positions, without ORDER BY random() on 1M rows
        cursor.execute("SELECT max(position), min(recorded_at), max(recorded_at) FROM ledger_event")
        head, first_at, last_at = cursor.fetchone()
        head = head or 0
        picks = sorted({rng.randint(1, head) for _ in range(100)}) if head else []
        cursor.execute(
            "SELECT stream_id::text, metadata->>'command_id' FROM ledger_event WHERE position = ANY(%s)", [picks]
        )
        found = cursor.fetchall()
    ready()
    return {
        "sessions": sessions,
        "accounts": [str(a) for a, _ in picked],
        "versions": [v for _, v in picked],
        "owners": owners,
        "streams": [r[0] for r in found],
        "commands": [r[1] for r in found],
        "events": head,
        "span": [first_at.isoformat(), last_at.isoformat()] if first_at else None,
        "account_count": AccountSummary.objects.count(),
    }


def _client_factory(port: int, session: str) -> Callable[[], HttpSession]:
    """Each client thread: its own connection, the session cookie, and a CSRF cookie its posts
    send back (32 characters: Django accepts it as the CSRF secret)."""
    return lambda: HttpSession(
        port,
        timeout=http_load.REQUEST_TIMEOUT,
        keep_alive=True,
        cookies={"sessionid": session, "csrftoken": secrets.token_hex(16)},
    )


def _get(path_of: Callable[[int], str]) -> http_load.Step:
    return lambda client, i: client.get(path_of(i)).status == 200


def _deposit(accounts: list[str]) -> http_load.Step:
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


@dataclass(frozen=True)
class Screen:
    key: str
    label: str  # as the table names it
    route: str  # which entry of _routes_exist it needs
    role: str
    requests_per_step: int = 1  # a deposit round trip is two HTTP requests


SCREENS = (
    Screen("account_page", "account page", "account", "teller"),
    Screen("accounts_list", "accounts list", "accounts", "teller"),
    Screen("dashboard", "dashboard", "dashboard", "teller"),
    Screen("as_of", "as-of history", "as_of", "auditor"),
    Screen("admin_list", "admin event list", "admin", "auditor"),
    Screen("admin_search", "admin event search", "admin", "auditor"),
    Screen("deposit", "deposit round trip (read-your-writes)", "deposit", "teller", requests_per_step=2),
)
FIGURES = tuple(s.key for s in SCREENS)


def steps(data: dict[str, Any]) -> dict[str, http_load.Step]:
    """What each screen's request is, rotating over the accounts and searches `prepare` found."""
    accounts = data["accounts"]
    owner = data["owners"][0].split()[-1] if data["owners"] else "Hopper"
    lists = [
        "/accounts/",
        "/accounts/?page=3",
        "/accounts/?" + urlencode({"q": owner}),
        "/accounts/?status=open&currency=EUR",
        "/accounts/?sort=owner",
    ]
    terms = data["streams"] + data["commands"] + ["teller", "import"]
    moment = datetime.now(UTC) - timedelta(days=180)
    if data.get("span"):  # the middle of the log's recorded time
        first, last = (datetime.fromisoformat(t) for t in data["span"])
        moment = first + (last - first) / 2

    def as_of(i: int) -> str:
        n = i % len(accounts)
        base = f"/accounts/{accounts[n]}/as-of/"
        kind = i % 3
        if kind == 1:
            return base + "?" + urlencode({"version": max(data["versions"][n] // 2, 1)})
        if kind == 2:
            return base + "?" + urlencode({"at": moment.strftime("%Y-%m-%d %H:%M")})
        return base

    return {
        "account_page": _get(lambda i: f"/accounts/{accounts[i % len(accounts)]}/"),
        "accounts_list": _get(lambda i: lists[i % len(lists)]),
        "dashboard": _get(lambda i: "/"),
        "as_of": _get(as_of),
        "admin_list": _get(lambda i: "/admin/ledger/event/" if i % 2 else "/admin/ledger/event/?p=2"),
        "admin_search": _get(lambda i: "/admin/ledger/event/?" + urlencode({"q": terms[i % len(terms)]})),
        "deposit": _deposit(accounts),
    }


def healthz_step(client: HttpSession, i: int) -> bool:
    return client.get(HEALTHZ).status == 200


class Bench:
    """One gunicorn under measurement: capacity and open-loop runs of any step against it."""

    def __init__(self, server: WebServer, timing: Timing, workers: int) -> None:
        self.server, self.timing, self.workers = server, timing, workers
        self.root = http_load.gunicorn_root(server.child.pid)

    def capacity(self, session: str, step: http_load.Step) -> dict[str, Any]:
        t = self.timing
        return http_load.capacity(
            _client_factory(self.server.port, session),
            step,
            clients=2 * self.workers,
            warmup=t.capacity_warmup,
            seconds=t.capacity_seconds,
            server=self.root,
        )

    def load(self, session: str, step: http_load.Step, rate: float) -> dict[str, Any]:
        t = self.timing
        return http_load.open_loop(
            _client_factory(self.server.port, session),
            step,
            rate=rate,
            seconds=t.load_seconds,
            warmup=t.load_warmup,
            server=self.root,
        )

    def against_healthz(
        self, session: str, step: http_load.Step, rate: float, *, requests_per_step: int = 1
    ) -> dict[str, Any]:
        """The step at `rate`, then /healthz at the same HTTP request rate, `rounds` times in turn
        (so a change in the machine's load hits both alike); each pooled over its rounds."""
        page_rounds, health_rounds = [], []
        for _ in range(self.timing.rounds):
            page_rounds.append(self.load(session, step, rate))
            health_rounds.append(self.load(session, healthz_step, rate * requests_per_step))
        return {"page": http_load.pooled(page_rounds), "healthz": http_load.pooled(health_rounds)}

    def screen(self, session: str, step: http_load.Step, *, requests_per_step: int = 1) -> dict[str, Any]:
        """Capacity, then the loads at each share of it against /healthz at the same rates."""
        found = self.capacity(session, step)
        result: dict[str, Any] = {"capacity": found, "load": {}}
        if not found["per_second"] or found["errors"] > found["requests"] / 2:
            result["load"] = "not measured: the capacity run mostly failed"
            return result
        for share in self.timing.shares:
            rate = share * found["per_second"]
            result["load"][f"{share:.0%}"] = self.against_healthz(
                session, step, rate, requests_per_step=requests_per_step
            )
        return result


def start_web(db: str, log_dir: Path) -> WebServer:
    return WebServer(
        "gunicorn",
        env={**os.environ, "DATABASE_URL": database_url(db), "REDIS_URL": redis_url()},
        log=log_dir / f"gunicorn-{db}.log",
        extra=("--log-level", "warning"),
    ).start()


def _celery(kind: str, db: str, log_dir: Path) -> CeleryProcess:
    """`celery -A config worker|beat` as the Procfile runs them (the worker's two pool processes)."""
    env = {**os.environ, "DATABASE_URL": database_url(db), "REDIS_URL": redis_url()}
    return CeleryProcess(kind, env=env, log=log_dir / f"celery-{kind}.log", concurrency=2)


def gunicorn_settings() -> dict[str, Any]:
    web = runpy.run_path(str(ROOT / "config" / "gunicorn.py"))  # gunicorn as the Procfile runs it
    return {k: web[k] for k in ("workers", "threads", "worker_class")}


def screens(profile: Profile, figures: tuple[str, ...] = FIGURES) -> dict[str, Any]:
    started = time.perf_counter()
    timing = TIMINGS[profile.name]
    routes = _routes_exist()
    gunicorn = gunicorn_settings()
    results: dict[str, Any] = {"gunicorn": gunicorn, "timing": timing.__dict__}
    wanted = [s for s in SCREENS if s.key in figures]
    for s in wanted:
        if not routes[s.route]:
            results[s.key] = "not measured yet: the screen is not in this tree"
    wanted = [s for s in wanted if routes[s.route]]
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": database_url(REBUILD_DB)},
    )
    data = run_together(prepare, [{"db": REBUILD_DB}])[0]
    results["events"] = data["events"]
    results["accounts"] = data["account_count"]
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-"))
    import redis

    redis.Redis.from_url(redis_url()).flushdb()  # no stale nudge or queued task of an earlier run
    with ExitStack() as running:  # each process stopped again, whatever fails after it started
        server = running.enter_context(start_web(REBUILD_DB, log_dir))
        running.enter_context(_celery("worker", REBUILD_DB, log_dir).start())
        running.enter_context(_celery("beat", REBUILD_DB, log_dir).start())
        say(f"  gunicorn on port {server.port} ({gunicorn['workers']} {gunicorn['worker_class']}), logs in {log_dir}")
        bench = Bench(server, timing, gunicorn["workers"])
        step_of = steps(data)
        results["healthz_capacity"] = bench.capacity(data["sessions"]["teller"], healthz_step)
        for s in wanted:
            say(f"  {s.label}")
            results[s.key] = bench.screen(
                data["sessions"][s.role], step_of[s.key], requests_per_step=s.requests_per_step
            )
        page = results.get("account_page")
        if isinstance(page, dict) and page["capacity"]["per_second"]:
            say("  account page during a blue/green rebuild of every projection")
            rate = GOAL_SHARE * page["capacity"]["per_second"]
            results["during_rebuild"] = during_rebuild(bench, data["sessions"]["teller"], step_of["account_page"], rate)
    results["seconds"] = time.perf_counter() - started
    return _drop_samples(results)


def _shadow_phase(db: str) -> str | None:
    """The step a blue/green rebuild of `db` is at, from its status rows (None: none under way)."""
    import psycopg

    with psycopg.connect(database_url(db), autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('tally_shadow.projections_projectionstatus')").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute(
            "SELECT min(rebuild_phase) FROM tally_shadow.projections_projectionstatus WHERE rebuild_phase <> ''"
        ).fetchone()
        return row[0] if row else None


def during_rebuild(bench: Bench, session: str, step: http_load.Step, rate: float) -> dict[str, Any]:
    """The account page at `rate` without a rebuild, then while `rebuild_projections` rebuilds every
    projection blue/green beside the live tables (as many rounds as fit in it), then without again:
    the screens' cost of a rebuild, each side pooled over its rounds."""
    without = [bench.load(session, step, rate)]
    env = {**os.environ, "DATABASE_URL": database_url(REBUILD_DB), "REDIS_URL": redis_url()}
    started = time.perf_counter()
    rebuild = subprocess.Popen(
        [sys.executable, "manage.py", "rebuild_projections", "--no-input"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    during: list[dict[str, Any]] = []
    phases: list[str | None] = []
    try:
        while rebuild.poll() is None and _shadow_phase(REBUILD_DB) is None:
            time.sleep(0.05)
        while rebuild.poll() is None and len(during) < 20:
            phases.append(_shadow_phase(REBUILD_DB))
            during.append(bench.load(session, step, rate))
        rebuild.wait(timeout=3600)
    finally:
        if rebuild.poll() is None:
            rebuild.kill()
    seconds = time.perf_counter() - started
    without.append(bench.load(session, step, rate))
    if rebuild.returncode != 0 or not during:
        raise RuntimeError(f"the rebuild exited with {rebuild.returncode} after {len(during)} rounds under load")
    return {
        "without": http_load.pooled(without),
        "during": http_load.pooled(during),
        "rebuild_seconds": seconds,
        "phases": [p for p in phases if p],
    }


def scale(profile: Profile, screens_results: dict[str, Any] | None) -> dict[str, Any]:
    """bench/http_scale.py's figures, after the screens' (it needs their gunicorn settings and log size)."""
    from bench import http_scale

    if not screens_results or "gunicorn" not in screens_results:
        raise RuntimeError("the scale figures run after the screens' figures, which did not run")
    log_dir = Path(tempfile.mkdtemp(prefix="bench-http-scale-"))
    return _drop_samples(http_scale.measure_scale(profile, TIMINGS[profile.name], screens_results, log_dir))


def _drop_samples(value: Any) -> Any:
    """The raw samples were for pooling rounds; the JSON keeps the summaries."""
    if isinstance(value, dict):
        return {k: _drop_samples(v) for k, v in value.items() if k != "latencies_ms"}
    if isinstance(value, list):
        return [_drop_samples(v) for v in value]
    return value


# --- the family, and its rows of the table ----------------------------------------------------------


def measure(run: Any) -> None:
    if "rebuild" not in run.families:
        say("http: runs on the rebuild's log; run it with the rebuild family")
        return
    run.step("http", None, "HTTP: gunicorn, capacity and open-loop loads against /healthz", screens, run.profile)
    if run.profile.name == "quick":  # CI's whole quick run stays short
        run.results.setdefault("http", {})["scale"] = {"skipped": QUICK_SCALE_NOTE}
        return
    run.step("http", "scale", "HTTP: the same screens at two sizes", scale, run.profile, run.results.get("http"))


QUICK_SCALE_NOTE = (
    "quick mode: not measured (loading a second bank takes longer than CI's budget; "
    "`python -m bench.http --quick` runs it at a hundredth of the sizes)"
)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _cpu_note(cpu: dict[str, float]) -> str:
    return (
        f"client CPU {_pct(cpu.get('client_core'))} of a core, gunicorn {_pct(cpu.get('server_core'))}, "
        f"machine {_pct(cpu.get('machine_busy'))} busy"
    )


def p95_ratio(row: Any, measured: dict[str, Any], against: dict[str, Any], goal: float) -> None:
    """Set `row` to one pooled load's p95 over another's, met when within `goal` and neither failed."""
    from bench.report import at_most, check

    row.tally = measured["latency_ms"]["p95"] / against["latency_ms"]["p95"]
    row.met = bool(check(row.tally, at_most(goal))) and not (measured["errors"] or against["errors"])


def load_note(load: dict[str, Any], capacity: dict[str, Any], share: str) -> str:
    page, health = load["page"], load["healthz"]
    cpu = page["cpu"]
    rounds = page["round_p95_ms"]
    spread = f"; rounds' p95 {min(rounds):.0f}–{max(rounds):.0f} ms" if len(rounds) > 1 else ""
    note = (
        f"at {share} ({page['rate']:.0f}/s of {capacity['per_second']:.0f}/s capacity): p50/p95/p99 "
        f"{page['latency_ms']['p50']:.0f}/{page['latency_ms']['p95']:.0f}/{page['latency_ms']['p99']:.0f} ms, "
        f"/healthz p95 {health['latency_ms']['p95']:.1f} ms{spread}; {_cpu_note(cpu)}, "
        f"send lag p99 {page['send_lag_p99_ms']:.0f} ms"
    )
    if page["errors"]:
        note += f", {page['errors']} FAILED"
    return note


def rows(results: dict[str, Any]) -> list[Any]:
    from bench import http_scale
    from bench.report import NOT_YET, Row, at_most, check, get

    out = []
    health = get(results, "http", "healthz_capacity")
    healthz_row = Row("http_healthz_capacity", "HTTP /healthz capacity, requests/s (no goal)", "/s")
    if isinstance(health, dict):
        healthz_row.tally = health["per_second"]
        healthz_row.note = f"closed loop, {health['clients']} clients; " + _cpu_note(health["cpu"])
    else:
        healthz_row.note = NOT_YET
    for s in SCREENS:
        goal = 6 if s.key == "deposit" else 3
        entry = get(results, "http", s.key)
        row = Row(f"http_{s.key}", f"HTTP {s.label} p95 at 50 % of capacity / /healthz p95", "x", goal=f"<= {goal}x")
        loads = entry.get("load") if isinstance(entry, dict) else None
        if isinstance(loads, dict) and f"{GOAL_SHARE:.0%}" in loads:
            half = loads[f"{GOAL_SHARE:.0%}"]
            row.tally = half["page"]["latency_ms"]["p95"] / half["healthz"]["latency_ms"]["p95"]
            row.met = check(row.tally, at_most(goal))
            notes = [load_note(loads[share], entry["capacity"], share) for share in loads]
            row.note = "; ".join(notes)
            if any(load["page"]["errors"] for load in loads.values()) or entry["capacity"]["errors"]:
                row.met = False
        elif isinstance(entry, dict):
            row.note = str(loads)
        else:
            row.note = entry if isinstance(entry, str) else NOT_YET
        out.append(row)
        cap = Row(f"http_{s.key}_capacity", f"HTTP {s.label} capacity, requests/s (no goal)", "/s")
        if isinstance(entry, dict):
            found = entry["capacity"]
            cap.tally = found["per_second"]
            cap.note = (
                f"closed loop, {found['clients']} clients, {found['seconds']:.0f} s after "
                f"{found['warmup_seconds']:.1f} s warm-up; p50 {found['latency_ms']['p50']:.0f} ms; "
                + _cpu_note(found["cpu"])
                + (" (round trips/s: a POST and a GET each)" if s.requests_per_step == 2 else "")
                + (f", {found['errors']} FAILED" if found["errors"] else "")
            )
        else:
            cap.note = row.note
        out.append(cap)
    out.insert(0, healthz_row)
    return [*out, _during_rebuild_row(get(results, "http", "during_rebuild")), *http_scale.rows(results)]


def _during_rebuild_row(found: Any) -> Any:
    from bench.report import NOT_YET, Row

    row = Row(
        "http_account_page_during_rebuild",
        "HTTP account page p95 during a blue/green rebuild / without, same rate",
        "x",
        goal="<= 2x",
    )
    if not isinstance(found, dict):
        row.note = NOT_YET
        return row
    during, without = found["during"], found["without"]
    p95_ratio(row, during, without, 2)
    row.note = (
        f"at {during['rate']:.0f}/s (half the page's capacity): p95 {during['latency_ms']['p95']:.0f} ms during "
        f"({during['rounds']} rounds while it was {' then '.join(dict.fromkeys(found['phases']))}; the rebuild, "
        f"rebuild_projections at its default pace, took {found['rebuild_seconds']:.0f} s), "
        f"{without['latency_ms']['p95']:.0f} ms without (a round before, one after); rounds' p95 during "
        f"{min(during['round_p95_ms']):.0f}–{max(during['round_p95_ms']):.0f} ms; {_cpu_note(during['cpu'])}"
        + (f", {during['errors']} FAILED" if during["errors"] else "")
    )
    return row


def main(argv: list[str]) -> None:
    """`python -m bench.http [--quick] [--only FIGURE ...] [--no-scale]`: this family alone, on the
    log a run with `--only rebuild http --keep-databases` left behind (loading it again takes minutes)."""
    import argparse

    from bench.common import FULL, QUICK, bench_environment
    from bench.report import text_table

    parser = argparse.ArgumentParser(prog="python -m bench.http", description=main.__doc__)
    parser.add_argument("--quick", action="store_true", help="the quick profile's durations")
    parser.add_argument("--no-scale", action="store_true", help="leave out the scale figures (bench/http_scale.py)")
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
    profile = QUICK if args.quick else FULL
    results = screens(profile, tuple(args.only))
    if not args.no_scale:
        results["scale"] = scale(profile, results)
    print(text_table(rows({"http": results})))
    print(json.dumps(results, indent=1, default=str), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
