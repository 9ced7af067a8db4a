"""Postgres restarted while a web server takes commands over HTTP: what the people sending them see,
what the ledger recorded, and whether the app comes back by itself.

Runs on a private Postgres (see tests/faults/conftest.py): the machine's own is never stopped. One
outage is staged once for the module; each test reads a different promise from its record."""

from __future__ import annotations

import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from uuid import uuid4

import pytest

from scripts.processes import HttpSession, Response, WebServer, wait_until
from tests.faults.private_postgres import TRACEBACK, manage_py_shell

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:XDG_RUNTIME_DIR is not set")]

SETUP = """
import json
from django.contrib.auth.models import Group, User
from tests.write.helpers import open_account
user = User.objects.create_user("loadtester", password={password!r})
user.groups.add(Group.objects.get(name="supervisor"))
print(json.dumps([str(open_account(balance=1_000_000, owner=f"Load {{i}}")) for i in range(4)]))
"""
FUNDING = 4 * 1_000_000


@dataclass
class Sent:
    kind: str  # deposit | transfer
    path: str
    data: dict[str, str]
    amount: int  # minor units
    started: float
    finished: float = 0.0
    answer: Response | None = None
    error: str = ""

    @property
    def response(self) -> Response:
        """The answer, of a request known to have one (asked of one that failed, an assertion fails)."""
        assert self.answer is not None, f"no answer: {self.error}"
        return self.answer


@dataclass
class Outage:
    sent: list[Sent]
    stopping_at: float  # pg_ctl stop issued (a fast shutdown takes a moment: refusals start here)
    stopped_at: float  # Postgres was down from here (pg_ctl stop returned) ...
    restarting_at: float  # ... until here (pg_ctl start issued)
    back_at: float
    resent: list[tuple[Sent, Response]] = field(default_factory=list)
    health: list[tuple[float, int, str]] = field(default_factory=list)  # (when, /healthz status, body)
    web_pid_before: int = 0
    web_pid_after: int = 0
    web_alive: bool = False
    db: dict = field(default_factory=dict)


def load(port: int, password: str, accounts: list[str], stop: threading.Event, sent: list[Sent], seed: int):
    rng = random.Random(seed)
    session = HttpSession(port)
    session.log_in("loadtester", password)
    while not stop.is_set():
        source = rng.choice(accounts)
        cents = rng.randint(1, 500)
        data = {"command_id": str(uuid4()), "amount": f"{cents / 100:.2f}", "memo": "load"}
        if rng.random() < 0.4:
            kind, data["to_account"] = "transfer", rng.choice([a for a in accounts if a != source])
            data["confirmed"] = "1"  # as the transfer's confirmation step posts it
        else:
            kind = "deposit"
        item = Sent(kind, f"/accounts/{source}/tasks/{kind}/", data, cents, time.monotonic())
        try:
            item.answer = session.post(item.path, data)
        except OSError as exc:
            item.error = repr(exc)
        item.finished = time.monotonic()
        sent.append(item)


def watch_health(port: int, stop: threading.Event, seen: list[tuple[float, int, str]]) -> None:
    session = HttpSession(port, timeout=5)
    while not stop.is_set():
        answer = session.get("/healthz")
        seen.append((time.monotonic(), answer.status, answer.body[:300]))
        time.sleep(0.1)


@pytest.fixture(scope="module")
def outage(private_postgres, tmp_path_factory):
    pg = private_postgres
    db = pg.create_database("web", from_template=pg.template)
    env = pg.env(db)
    password = secrets.token_urlsafe(16)
    accounts = manage_py_shell(env, SETUP.format(password=password))
    web = WebServer(
        env={**env, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}, log=tmp_path_factory.mktemp("web") / "web.log"
    ).start()
    pid_before = web.child.pid
    sent: list[Sent] = []
    stop = threading.Event()
    health: list[tuple[float, int, str]] = []
    threads = [threading.Thread(target=load, args=(web.port, password, accounts, stop, sent, i)) for i in range(4)]
    threads.append(threading.Thread(target=watch_health, args=(web.port, stop, health)))
    try:
        for t in threads:
            t.start()
        wait_until(
            lambda: sum(s.answer is not None and s.answer.status == 303 for s in sent) >= 40,
            timeout=30,
            message="the load to get going",
        )
        stopping_at = time.monotonic()
        pg.stop()
        stopped_at = time.monotonic()
        time.sleep(2.5)
        restarting_at = time.monotonic()
        pg.start()
        back_at = time.monotonic()
        wait_until(
            lambda: sum(s.started > back_at and s.answer is not None and s.answer.status == 303 for s in sent) >= 40,
            timeout=30,
            message="commands to succeed again",
        )
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    result = Outage(
        list(sent), stopping_at, stopped_at, restarting_at, back_at, web_pid_before=pid_before, health=health
    )
    # Every command that was not acknowledged is sent again, with the same command id.
    session = HttpSession(web.port)
    session.log_in("loadtester", password)
    for item in result.sent:
        if item.answer is None or item.answer.status != 303:
            result.resent.append((item, session.post(item.path, item.data)))
    result.web_alive, result.web_pid_after = web.child.poll() is None, web.child.pid
    web.stop()
    with pg.connect(db) as conn:
        result.db = {
            "commands": {str(c) for (c,) in conn.execute("SELECT command_id FROM ledger_command")},
            "events_by_command": dict(
                conn.execute(
                    "SELECT metadata->>'command_id', array_agg(type ORDER BY position) FROM ledger_event GROUP BY 1"
                ).fetchall()
            ),
            "unpaired_transfers": conn.execute("""
                SELECT coalesce(s.data->>'transfer_id', r.data->>'transfer_id')
                  FROM (SELECT * FROM ledger_event WHERE type = 'TransferSent') s
                  FULL JOIN (SELECT * FROM ledger_event WHERE type = 'TransferReceived') r
                    ON s.data->>'transfer_id' = r.data->>'transfer_id' AND s.tx_id = r.tx_id
                 WHERE s.position IS NULL OR r.position IS NULL""").fetchall(),
            "money_in": conn.execute("""
                SELECT coalesce(sum(CASE type WHEN 'MoneyDeposited' THEN (data->>'amount')::bigint
                                              ELSE -(data->>'amount')::bigint END), 0)
                  FROM ledger_event WHERE type IN ('MoneyDeposited', 'MoneyWithdrawn')""").fetchone()[0],
            "balances": conn.execute("""
                SELECT coalesce(sum(CASE WHEN type IN ('MoneyDeposited', 'TransferReceived')
                                         THEN (data->>'amount')::bigint ELSE -(data->>'amount')::bigint END), 0)
                  FROM ledger_event WHERE data ? 'amount'""").fetchone()[0],
        }
    return result


def during(outage: Outage) -> list[Sent]:
    """Requests sent after Postgres had stopped and answered before it was started again."""
    return [s for s in outage.sent if s.started > outage.stopped_at and s.finished < outage.restarting_at]


def test_requests_during_a_postgres_restart_get_a_503_try_again_page_not_an_error(outage, figures):
    in_outage = during(outage)
    figures["postgres_restart"] = {
        "requests": len(outage.sent),
        "during_outage": len(in_outage),
        "answers": {
            str(k): sum(1 for s in outage.sent if (s.answer.status if s.answer else s.error) == k)
            for k in {s.answer.status if s.answer else s.error for s in outage.sent}
        },
        "outage_seconds": round(outage.restarting_at - outage.stopped_at, 1),
        "faults_injected": 1,
    }

    assert len(in_outage) >= 4, "the load should have kept sending while Postgres was down"
    assert not [s.error for s in outage.sent if s.error], "the web server itself must keep answering"
    assert all(s.response.status == 503 for s in in_outage), sorted({s.response.status for s in in_outage})
    for s in outage.sent:
        assert s.response.status in (303, 503), (s.response.status, s.response.body[:300])
        assert not TRACEBACK.search(s.response.body)
        if s.response.status == 503:
            assert "try again" in s.response.body and s.response.headers.get("Retry-After")


def test_no_command_is_half_applied_across_a_postgres_restart(outage):
    assert outage.db["unpaired_transfers"] == []
    shapes = {tuple(types) for types in outage.db["events_by_command"].values()}
    assert shapes <= {("AccountOpened",), ("MoneyDeposited",), ("TransferSent", "TransferReceived")}, shapes
    acknowledged = {s.data["command_id"] for s in outage.sent if s.answer is not None and s.answer.status == 303}
    assert acknowledged <= outage.db["commands"], "a command answered as done must be recorded"


def test_the_app_recovers_from_a_postgres_restart_without_being_restarted(outage):
    assert outage.web_alive and outage.web_pid_after == outage.web_pid_before
    after = [s for s in outage.sent if s.started > outage.back_at]
    assert sum(s.answer is not None and s.answer.status == 303 for s in after) >= 40
    assert [r.status for _, r in outage.resent] == [303] * len(outage.resent)


def test_the_health_check_reports_the_outage_and_the_recovery(outage):
    before = [status for at, status, _ in outage.health if at < outage.stopping_at]
    down = [status for at, status, _ in outage.health if outage.stopped_at + 0.2 < at < outage.restarting_at]
    after = [(status, body) for at, status, body in outage.health if at > outage.back_at]
    assert before and set(before) == {200}
    assert down and set(down) == {503}
    statuses = [status for status, _ in after]
    assert statuses and statuses[-1] == 200
    relapses = [(i, body) for i, (status, body) in enumerate(after) if status != 200 and i > statuses.index(200)]
    assert relapses == [], f"{statuses}: {relapses[:3]}"


def test_commands_refused_during_the_outage_are_applied_exactly_once_when_sent_again(outage, figures):
    load_commands = {s.data["command_id"] for s in outage.sent}
    assert outage.resent, "some commands should have been refused while Postgres was down"
    assert load_commands <= outage.db["commands"]
    assert all(outage.db["events_by_command"][c] for c in load_commands)
    deposited = sum(s.amount for s in outage.sent if s.kind == "deposit")
    assert outage.db["money_in"] == FUNDING + deposited  # every deposit counted once, none lost
    assert outage.db["balances"] == FUNDING + deposited  # transfers moved money, never made or lost it
    figures.setdefault("postgres_restart", {})["resent_after_recovery"] = len(outage.resent)
