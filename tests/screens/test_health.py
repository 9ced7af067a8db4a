"""/healthz answers anonymous callers with "ok" or "unavailable" and nothing else: why the database
did not answer (its host, port, user names) goes to the log, where operators look, not to whoever
asks. Each failure is real: the check runs in a process pointed at a database that is not there."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.test import Client

from scripts.processes import ROOT, free_port

CHECK = """
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
response = Client().get("/healthz")
print(response.status_code, response.content.decode())
"""


def _health_check_against(database_url: str) -> tuple[int, dict, str]:
    """(status, body, log) of /healthz in a production-configured process on `database_url`."""
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "health-test-key-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "REDIS_URL": "redis://127.0.0.1:1/0",
    }
    done = subprocess.run([sys.executable, "-c", CHECK], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    status, body = done.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(status), json.loads(body), done.stderr


@pytest.mark.parametrize("where", ["closed port", "unknown user"])
def test_an_unreachable_database_is_unavailable_and_nothing_more(where):
    port = free_port() if where == "closed port" else 5432  # nothing listens on a port just freed
    url = f"postgres://secret_operator_7f3a:not-a-secret@127.0.0.1:{port}/secret_ledger_db"

    status, body, log = _health_check_against(url)

    assert status == 503
    assert body == {"status": "unavailable"}
    reason = str(port) if where == "closed port" else "secret_operator_7f3a"
    assert reason in log  # the details are in the log


@pytest.mark.django_db
def test_a_database_that_answers_is_ok():
    response = Client().get("/healthz")

    assert response.status_code == 200 and response.json() == {"status": "ok"}
