"""A full blue/green rebuild of every projection over 100,000 events while gunicorn serves account
pages and the accounts list and tellers deposit: every page answers 200 with the balance the events
say, the deposits made during the rebuild are in the new tables, and each deposit's page showed it
(read-your-writes): at once, or, where the machine was slower than the page's wait, after saying
"processing" and refreshing by itself, as it does for any lagging read side.

Runs on a private Postgres (see tests/faults/conftest.py), so that its events stay out of the
shared test database."""

from __future__ import annotations

import random
import re
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import cast
from uuid import UUID, uuid4

import pytest

from scripts.processes import ROOT, CeleryProcess, HttpSession, RedisProcess, WebServer, wait_until
from tests.faults.private_postgres import manage_py_shell
from tests.faults.test_worker_killed_mid_rebuild import BULK_SQL

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

EVENTS, STREAMS = 100_000, 1_000
PER_STREAM = EVENTS // STREAMS  # an opening, then deposits of 10.00 and withdrawals of 4.00 in turn
BULK_BALANCE = (PER_STREAM // 2) * 1000 - ((PER_STREAM - 1) // 2) * 400
DEPOSIT = 125  # 1.25 EUR, each deposit during the rebuild
# A deposit's page waits 1.5 s for the read side (projections/queries.py). On a loaded machine (a CI
# host's disk flushing the rebuild's writes) a page now and then outwaits it; the live read side
# stopping for the rebuild would show as most pages saying "processing" and staying so.
AT_ONCE_SHARE = 0.9
REFRESH_SECONDS = 15

SETUP = """
import json
from django.contrib.auth.models import Group, User
from tests.write.helpers import open_account
user = User.objects.create_user("rebuildtester", password={password!r})
user.groups.add(Group.objects.get(name="teller"))
print(json.dumps([str(open_account(owner=f"Depositor {{i}}")) for i in range(3)]))
"""
BALANCE = re.compile(r'data-testid="balance">([^<]*)<')


def shown_balance(body: str) -> int:
    """The balance on an account page, in minor units ("1,234.50 EUR" -> 123450)."""
    found = BALANCE.search(body)
    assert found, body[:500]
    text = found.group(1).replace(",", "").replace("−", "-").split()[0]
    return round(float(text) * 100)


@dataclass
class Seen:
    pages: list[tuple[str, int, int | None]] = field(default_factory=list)  # (path, status, balance shown)
    # (account, post, page, processing at first, shown by the page's own refresh)
    deposits: list[tuple[str, int, int, bool, bool]] = field(default_factory=list)


def bulk_ids(db_conn) -> list[str]:
    """The accounts the bulk history opened (not the depositors': their balances move)."""
    return [
        str(a)
        for (a,) in db_conn.execute("SELECT account_id FROM projections_accountsummary WHERE owner LIKE 'Bulk %'")
    ]


def read_pages(port: int, password: str, accounts: list[str], stop: threading.Event, seen: Seen, seed: int) -> None:
    rng = random.Random(seed)
    session = HttpSession(port, keep_alive=True)
    session.log_in("rebuildtester", password)
    while not stop.is_set():
        if rng.random() < 0.25:
            answer = session.get(f"/accounts/?q=Bulk+{rng.randrange(STREAMS)}")
            seen.pages.append(("list", answer.status, None))
            continue
        account = rng.choice(accounts)
        answer = session.get(f"/accounts/{account}/")
        seen.pages.append((account, answer.status, shown_balance(answer.body) if answer.status == 200 else None))


def deposit(port: int, password: str, accounts: list[str], stop: threading.Event, seen: Seen) -> None:
    session = HttpSession(port, keep_alive=True)
    session.log_in("rebuildtester", password)
    while not stop.is_set():
        account = random.choice(accounts)
        data = {"command_id": str(uuid4()), "amount": f"{DEPOSIT / 100:.2f}", "memo": "during the rebuild"}
        posted = session.post(f"/accounts/{account}/tasks/deposit/", data)
        location = posted.headers.get("Location", "/")
        page = session.get(location) if posted.status == 303 else posted
        processing = "Processing." in page.body
        seen.deposits.append(
            (account, posted.status, page.status, processing, not processing or refreshed(session, location))
        )
        time.sleep(0.2)


def refreshed(session: HttpSession, location: str) -> bool:
    """Whether a page that said "processing" shows the deposit by its own refresh (`poll=1`, which
    looks once and does not wait) within REFRESH_SECONDS."""
    deadline = time.monotonic() + REFRESH_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.5)
        page = session.get(f"{location}&poll=1")
        if page.status == 200 and "Processing." not in page.body:
            return True
    return False


def test_a_rebuild_under_http_load_serves_only_complete_pages_and_keeps_read_your_writes(
    private_postgres, tmp_path, figures
):
    pg = private_postgres
    db = pg.create_database("rebuild_load", from_template=pg.template)
    with pg.connect(db) as conn:
        conn.execute(BULK_SQL, {"events": EVENTS, "streams": STREAMS})
    redis = RedisProcess().start()
    env = pg.env(db, redis.url)
    caught_up = subprocess.run(
        [sys.executable, "manage.py", "run_projections", "--once"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert caught_up.returncode == 0, caught_up.stderr
    password = secrets.token_urlsafe(16)
    depositors = cast(list[str], manage_py_shell(env, SETUP.format(password=password)))
    worker = CeleryProcess("worker", env=env, log=tmp_path / "worker.log").start()
    web = WebServer(env={**env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}, log=tmp_path / "web.log").start()
    seen, stop = Seen(), threading.Event()
    with pg.connect(db) as conn:
        bulk = bulk_ids(conn)
    threads = [
        *(threading.Thread(target=read_pages, args=(web.port, password, bulk, stop, seen, i)) for i in range(2)),
        threading.Thread(target=deposit, args=(web.port, password, depositors, stop, seen)),
    ]
    try:
        for thread in threads:
            thread.start()
        wait_until(lambda: len(seen.pages) >= 20 and seen.deposits, timeout=60, message="the load to get going")
        started = time.monotonic()
        try:
            rebuild = subprocess.run(
                [sys.executable, "manage.py", "rebuild_projections", "--no-input"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired as slow:
            pytest.fail(f"the rebuild did not end: {str(slow.stdout)[-2000:]} {str(slow.stderr)[-3000:]}")
        took = time.monotonic() - started
        pages_during = len(seen.pages)
        time.sleep(1)  # a moment of load on the new tables
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        web.stop()
        worker.stop()
        redis.stop()

    assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
    assert "swapped them in" in rebuild.stdout
    statuses = {status for _, status, _ in seen.pages}
    assert statuses == {200}, statuses
    wrong = [(a, b) for a, _, b in seen.pages if a != "list" and b != BULK_BALANCE]
    assert not wrong, wrong[:5]
    assert all(post == 303 and page == 200 for _, post, page, _, _ in seen.deposits)
    assert all(shown for *_, shown in seen.deposits), "a deposit's page never showed it"
    at_once = sum(not processing for *_, processing, _ in seen.deposits)
    assert at_once >= AT_ONCE_SHARE * len(seen.deposits), f"{at_once} of {len(seen.deposits)} pages showed it at once"
    with pg.connect(db) as conn:
        balances = dict(
            conn.execute(
                "SELECT account_id::text, balance FROM projections_accountsummary WHERE account_id = ANY(%s)",
                [[UUID(a) for a in depositors]],
            ).fetchall()
        )
        recorded = conn.execute(
            "SELECT count(*) FROM ledger_event WHERE type = 'MoneyDeposited' AND stream_id = ANY(%s)",
            [[UUID(a) for a in depositors]],
        ).fetchone()[0]
    assert recorded == len(seen.deposits)  # every deposit sent during the load, once
    assert sum(balances.values()) == DEPOSIT * recorded  # and every one is in the rebuilt tables
    verify = subprocess.run(
        [sys.executable, "manage.py", "verify_projections"], cwd=ROOT, env=env, capture_output=True, timeout=180
    )
    assert verify.returncode == 0, verify.stdout
    figures["rebuild_under_load"] = {
        "events": EVENTS,
        "rebuild_seconds": round(took, 1),
        "pages_served_during_rebuild": pages_during,
        "deposits_during_rebuild": len(seen.deposits),
        "deposit_pages_shown_at_once": at_once,
        "statuses": sorted(statuses),
    }
