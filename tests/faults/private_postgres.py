"""The fault tests' private Postgres (scripts/postgres_cluster.py), with databases copied from a migrated
template, and `manage.py shell` run against one of them."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from scripts import postgres_cluster
from scripts.processes import ROOT
from tests.processes import DEAD_REDIS, child_env


class PrivatePostgres(postgres_cluster.PrivatePostgres):
    template: str  # a migrated database to copy: the private_postgres fixture makes it once a session

    def migrated_template(self, name: str = "tally_template") -> str:
        """A database with every migration applied, to copy with create_database(from_template=...)."""
        self.create_database(name)
        done = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=ROOT,
            env=self.env(name),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return name

    def env(self, dbname: str, redis_url: str = DEAD_REDIS, **extra: str) -> dict[str, str]:
        return {**child_env(redis_url), "DATABASE_URL": self.url(dbname), **extra}


def manage_py_shell(env: dict[str, str], code: str, timeout: float = 60) -> object:
    """Run `code` in `manage.py shell` with `env`; it prints one JSON document, returned parsed."""
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Exception Value|OperationalError at /")
