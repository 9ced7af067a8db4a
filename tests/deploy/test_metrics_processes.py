"""As the Procfile runs Tally, with prometheus-client's multiprocess mode: gunicorn with two sync
workers and a Celery worker, all counting into one PROMETHEUS_MULTIPROC_DIR. Whichever worker answers
a scrape, /metrics shows the commands of both web workers added up and the commit-to-visible times
the Celery worker observed; a worker killed and replaced takes none of its counts with it. With
TALLY_LOG_FORMAT=json, every line the web server logs is a JSON object, and every line the Celery
worker logs once logging has started (its start-up banner is printed before)."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psutil
import pytest
from django.contrib.auth.models import Group, User

from ledger.roles import Role
from projections import queries
from scripts.processes import CeleryProcess, HttpSession, RedisProcess, WebServer, wait_until
from tests.deploy.scrape import TOKEN, Scrape
from tests.processes import child_env
from tests.write.helpers import open_account

ROUNDS = 8  # of two deposits sent at once, one per web worker if both are free


class Stack:
    def __init__(self, web: WebServer, worker: CeleryProcess, folder: Path, password: str) -> None:
        self.web, self.worker, self.folder, self.password = web, worker, folder, password

    def scrape(self) -> Scrape:
        answer = HttpSession(self.web.port).request("GET", "/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert answer.status == 200, answer.body[:300]
        return Scrape.parse(answer.body)

    def web_workers(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.web.child.pid).children()}

    def counting_pids(self) -> set[int]:
        return {int(match[1]) for f in self.folder.glob("*.db") if (match := re.search(r"_(\d+)\.db$", f.name))}


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("metrics")
    logs = tmp_path_factory.mktemp("logs")
    password = secrets.token_urlsafe(12)
    with django_db_blocker.unblock():
        user, _ = User.objects.get_or_create(username="metrics-teller")
        user.set_password(password)
        user.save()
        user.groups.add(Group.objects.get(name=Role.TELLER.value))
        with RedisProcess().start() as redis:
            env = {
                **child_env(redis.url),
                "PROMETHEUS_MULTIPROC_DIR": str(folder),
                "TALLY_METRICS_TOKEN": TOKEN,
                "TALLY_LOG_FORMAT": "json",
                "WEB_CONCURRENCY": "2",
            }
            with (
                CeleryProcess("worker", env=env, log=logs / "worker.log").start() as worker,
                WebServer("gunicorn", env=env, log=logs / "web.log").start() as web,
            ):
                yield Stack(web, worker, folder, password)


def recorded(figures: Scrape, name: str) -> float:
    """Deposits that recorded events: at the first try, or decided again after losing a race (the
    two workers' state caches each hold the account as they last wrote it)."""
    return sum(figures.count(name, command="Deposit", outcome=o) for o in ("accepted", "conflict_retried"))


def deposit_from_two_clients_at_once(stack: Stack, account: str) -> list[int]:
    statuses: list[int] = []
    together = threading.Barrier(2, timeout=30)

    def client() -> None:
        session = HttpSession(stack.web.port)
        session.log_in("metrics-teller", stack.password)
        for _ in range(ROUNDS):
            together.wait()
            data = {"command_id": str(uuid4()), "amount": "1.00", "memo": "metrics"}
            statuses.append(session.post(f"/accounts/{account}/tasks/deposit/", data).status)

    threads = [threading.Thread(target=client) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return statuses


def test_every_process_counts_into_one_figure_whichever_worker_answers(committed, stack):
    account = open_account()

    statuses = deposit_from_two_clients_at_once(stack, str(account))
    wait_until(
        lambda: (summary := queries.account_summary_get(account_id=account)) and summary.balance == 2 * ROUNDS * 100,
        timeout=20,
        message="the Celery worker to apply the deposits",
    )
    scrapes = [stack.scrape() for _ in range(6)]

    assert statuses == [303] * 2 * ROUNDS
    workers = stack.web_workers()
    assert len(workers & stack.counting_pids()) == 2, "both web workers executed commands"
    for figures in scrapes:
        assert recorded(figures, "tally_commands_total") == 2 * ROUNDS
        assert recorded(figures, "tally_command_duration_seconds_count") == 2 * ROUNDS
        # Observed by the Celery worker's runner, reported by whichever web worker answers.
        assert figures.count("tally_commit_to_visible_seconds_count", projection="statement") >= 1
        assert figures.value("tally_projection_lag_events", projection="statement") == 0

    killed = next(iter(workers))
    os.kill(killed, signal.SIGKILL)
    wait_until(
        lambda: len(stack.web_workers()) == 2 and killed not in stack.web_workers(),
        timeout=30,
        message="gunicorn to replace the killed worker",
    )
    after = [stack.scrape() for _ in range(4)]
    assert all(recorded(figures, "tally_commands_total") == 2 * ROUNDS for figures in after)


def test_every_line_the_web_server_and_the_worker_log_is_json(committed, stack):
    HttpSession(stack.web.port).get("/metrics")  # a refusal: a warning from Django in the web log

    web_lines = (stack.web.log).read_text().splitlines()
    worker_lines = stack.worker.log.read_text().splitlines()
    logged = worker_lines[next(i for i, line in enumerate(worker_lines) if line.startswith("{")) :]

    web = [json.loads(line) for line in web_lines if line]
    worker = [json.loads(line) for line in logged if line]
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in web)
    assert any(line["logger"] == "celery.apps.worker" and "ready" in line["message"] for line in worker)
