"""Screens on a real streaming replica (a standby of the fault tests' private Postgres, made with
pg_basebackup): pages are read from it, the person who just acted sees their command even while its
replay is paused, a replica that falls behind or stops is left out without a single failed page,
and every screen answers on it (a standby refuses writes: a screen that wrote would fail here)."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from uuid import uuid4

import pytest

from scripts.postgres_cluster import Standby
from scripts.processes import CeleryProcess, HttpSession, RedisProcess, WebServer, wait_until
from tests.faults.private_postgres import manage_py_shell
from tests.faults.test_rebuild_under_load import shown_balance

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

STATS_SECONDS = 25  # an idle backend's statistics reach pg_stat_* within 10 s (PGSTAT_IDLE_INTERVAL)
MAX_LAG = 10  # seconds: TALLY_REPLICA_MAX_LAG for the web server, so that a paused replica is left out soon
DEPOSIT = 250  # 2.50 EUR

SETUP = """
import json
from django.contrib.auth.models import Group, User
from tests.write.helpers import open_account
teller = User.objects.create_user("replicateller", password={password!r})
teller.groups.add(Group.objects.get(name="teller"))
auditor = User.objects.create_user("replicauditor", password={password!r})
auditor.groups.add(Group.objects.get(name="auditor"))
User.objects.create_superuser("replicaoperator", password={password!r})
print(json.dumps([str(open_account(balance=100_000, owner=f"Replica Reader {{i}}")) for i in range(2)]))
"""


@dataclass
class Cluster:
    web: WebServer
    standby: Standby
    database: str
    password: str
    accounts: list[str]
    log: Path

    def session(self, user: str) -> HttpSession:
        session = HttpSession(self.web.port, keep_alive=True)
        session.log_in(user, self.password)
        return session

    def replica_state(self) -> str:
        """The read-side page's row for the replica, as an operator sees it, tags stripped."""
        page = self.session("replicaoperator").get("/projections/")
        assert page.status == 200
        row = re.search(r"<td><strong>replica1</strong></td>(.*?)</tr>", page.body, re.S)
        assert row, page.body[:2000]
        return " ".join(re.sub(r"<[^>]+>", " ", row.group(1)).split())

    def serving_and_current(self) -> bool:
        state = self.replica_state()
        return "serving screens" in state and "up to date" in state

    def standby_reads(self) -> int:
        """Scans of the read models the standby made: waits for a rise allow STATS_SECONDS."""
        return self.standby.read_model_scans(self.database)


@pytest.fixture(scope="module")
def cluster(private_postgres, tmp_path_factory) -> Iterator[Cluster]:
    pg = private_postgres
    database = pg.create_database("replica_screens", from_template=pg.template)
    standby = Standby(pg).start()
    logs = tmp_path_factory.mktemp("replicas")
    redis = RedisProcess().start()
    env = pg.env(database, redis.url, DATABASE_REPLICA_URLS=standby.url(database), TALLY_REPLICA_MAX_LAG=f"{MAX_LAG}s")
    password = secrets.token_urlsafe(16)
    worker = web = None
    try:
        accounts = cast(list[str], manage_py_shell(env, SETUP.format(password=password)))
        worker = CeleryProcess("worker", env=env, log=logs / "worker.log").start()
        web = WebServer(env={**env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}, log=logs / "web.log").start()
        cluster = Cluster(web, standby, database, password, accounts, logs / "web.log")
        wait_until(cluster.serving_and_current, timeout=30, message="the replica to catch up")
        yield cluster
    finally:
        for process in (web, worker, redis):
            if process is not None:
                process.stop()
        standby.close()


def balance(session: HttpSession, account: str) -> int:
    page = session.get(f"/accounts/{account}/")
    assert page.status == 200, page.body[:500]
    return shown_balance(page.body)


def test_screens_read_the_replica_and_a_deposit_is_seen_at_once_while_its_replay_is_paused(cluster):
    teller = cluster.session("replicateller")
    account = cluster.accounts[0]
    before = balance(teller, account)
    reads = cluster.standby_reads()
    balance(teller, account)
    wait_until(lambda: cluster.standby_reads() > reads, timeout=STATS_SECONDS, message="the standby to serve the page")

    cluster.standby.pause_replay(True)
    try:
        data = {"command_id": str(uuid4()), "amount": f"{DEPOSIT / 100:.2f}", "memo": "replay paused"}
        posted = teller.post(f"/accounts/{account}/tasks/deposit/", data)
        assert posted.status == 303, posted.body[:500]
        page = teller.get(posted.headers["Location"])
        assert page.status == 200 and "Processing." not in page.body
        assert shown_balance(page.body) == before + DEPOSIT  # the replica lacks it: read from the primary
        assert balance(teller, account) == before  # a page with no command to show: the paused replica's

        state = cluster.replica_state()
        assert "serving screens" in state and re.search(r"\d+\.\d s", state), state  # how far behind it is
        wait_until(
            lambda: "left out" in cluster.replica_state(), timeout=MAX_LAG + 10, message="the lagging replica left out"
        )
        assert "behind the primary" in cluster.replica_state()
        wait_until(lambda: balance(teller, account) == before + DEPOSIT, timeout=5, message="the primary to serve")
    finally:
        cluster.standby.pause_replay(False)
    wait_until(cluster.serving_and_current, timeout=20, message="the replica back in rotation")
    reads = cluster.standby_reads()
    assert balance(teller, account) == before + DEPOSIT
    wait_until(lambda: cluster.standby_reads() > reads, timeout=STATS_SECONDS, message="the standby to serve again")
    assert "replica replica1 out of rotation" in cluster.log.read_text()


def test_a_replica_stopped_under_load_costs_no_page(cluster):
    statuses: list[int] = []
    stop = threading.Event()

    def read(user: str, paths: list[str]) -> None:
        session = cluster.session(user)
        while not stop.is_set():
            for path in paths:
                statuses.append(session.get(path).status)

    accounts = [f"/accounts/{a}/" for a in cluster.accounts]
    readers = [
        threading.Thread(target=read, args=("replicateller", [*accounts, "/accounts/?q=Replica", "/"])),
        threading.Thread(target=read, args=("replicauditor", ["/admin/ledger/event/", *accounts])),
    ]
    reads = cluster.standby_reads()
    for reader in readers:
        reader.start()
    try:
        wait_until(lambda: len(statuses) >= 20, timeout=30, message="the readers to get going")
        wait_until(
            lambda: cluster.standby_reads() > reads, timeout=STATS_SECONDS, message="the standby to serve the load"
        )
        cluster.standby.stop()
        stopped_at = len(statuses)
        wait_until(lambda: "does not answer" in cluster.replica_state(), timeout=10, message="the replica left out")
        wait_until(lambda: len(statuses) >= stopped_at + 20, timeout=30, message="pages while it is down")
        cluster.standby.start()
        wait_until(cluster.serving_and_current, timeout=30, message="the replica back in rotation")
        back_at = len(statuses)
        wait_until(lambda: len(statuses) >= back_at + 20, timeout=30, message="pages after it is back")
    finally:
        stop.set()
        for reader in readers:
            reader.join(30)
    assert set(statuses) == {200}, sorted(set(statuses))


def test_every_screen_answers_from_the_replica(cluster):
    """A hot standby refuses every write: a screen that wrote while it served a page would fail here."""
    teller, auditor = cluster.session("replicateller"), cluster.session("replicauditor")
    account = cluster.accounts[1]
    posted = teller.post(
        f"/accounts/{account}/tasks/deposit/", {"command_id": (command := str(uuid4())), "amount": "1.00", "memo": "x"}
    )
    assert posted.status == 303
    wait_until(cluster.serving_and_current, timeout=20, message="the replica to have the deposit")
    today = time.strftime("%Y-%m-%d")
    pages = {
        teller: [
            "/",
            "/accounts/",
            "/accounts/?q=Replica+Reader",
            f"/accounts/{account}/",
            f"/accounts/{account}/as-of/?at={today}T23:59",
            f"/accounts/{account}/statement.csv",
            f"/accounts/{account}/statement.pdf",
            f"/accounts/{account}/standing-orders/",
            f"/accounts/{account}/transfer-targets/",
            f"/receipts/{command}/",
            f"/accounts/{account}/tasks/deposit/",
            f"/accounts/{account}/tasks/withdraw/",
        ],
        auditor: [
            "/approvals/",
            "/admin/ledger/event/",
            "/admin/ledger/event/?q=Replica",
            "/admin/ledger/event/1/change/",
            f"/admin/ledger/event/?stream_id={account}",
        ],
    }
    reads = cluster.standby_reads()
    for session, paths in pages.items():
        for path in paths:
            answer = session.get(path)
            assert answer.status == 200, (path, answer.status, answer.body[:300])
    assert "serving screens" in cluster.replica_state()  # it served them, and was never left out
    wait_until(
        lambda: cluster.standby_reads() > reads, timeout=STATS_SECONDS, message="the standby to have served them"
    )
