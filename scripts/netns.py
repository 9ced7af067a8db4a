"""Hosts of our own on this machine: Linux network namespaces joined by veth pairs, for the tests that
show Tally across several hosts (Celery workers on hosts apart from Postgres and Redis).

One namespace is the database host; each worker host is a namespace with a link of its own to it
(10.X.k.2 on the worker, 10.X.k.1 on the database host); this process reaches the database host over
a link from the machine's own namespace (10.X.0.1 here, 10.X.0.2 there). Workers have no route to
one another, nor to anything else: only these namespaces and their loopbacks are ever addressed.
Everything made is removed by close() (deleting a namespace deletes its ends of the links, and a
veth pair goes with either end). Needs root (CAP_NET_ADMIN) and iproute2's `ip`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from typing import Self


def unavailable() -> str | None:
    """Why hosts cannot be made here, or None."""
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    if os.geteuid() != 0:
        return "making network namespaces needs root"
    probe = f"tally-probe-{secrets.token_hex(3)}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return f"ip netns add failed: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Hosts:
    """A database host and `workers` worker hosts (worker hosts are numbered from 1)."""

    def __init__(self, workers: int) -> None:
        tag = secrets.token_hex(2)
        self.tag = tag
        self.net = 200 + secrets.randbelow(50)  # 10.<net>.0.0/16: a block nothing here uses
        self.database = f"tally-{tag}-db"
        self.workers = [f"tally-{tag}-w{k}" for k in range(1, workers + 1)]
        self.made: list[str] = []

    def create(self) -> Self:
        try:
            for ns in (self.database, *self.workers):
                _ip("netns", "add", ns)
                self.made.append(ns)
                _ip("-n", ns, "link", "set", "lo", "up")
            self._link(None, 0)
            for k, ns in enumerate(self.workers, start=1):
                self._link(ns, k)
        except BaseException:
            self.close()
            raise
        return self

    def _link(self, worker: str | None, k: int) -> None:
        """A veth pair between the database host and a worker host (or this namespace, k = 0)."""
        near, far = f"t{self.tag}d{k}", f"t{self.tag}h{k}"
        _ip("link", "add", near, "type", "veth", "peer", "name", far)
        _ip("link", "set", near, "netns", self.database)
        _ip("-n", self.database, "addr", "add", f"{self.database_address(k)}/24", "dev", near)
        _ip("-n", self.database, "link", "set", near, "up")
        here = ["-n", worker] if worker else []
        if worker:
            _ip("link", "set", far, "netns", worker)
        _ip(*here, "addr", "add", f"10.{self.net}.{k}.{1 if k == 0 else 2}/24", "dev", far)
        _ip(*here, "link", "set", far, "up")

    def database_address(self, k: int) -> str:
        """The database host's address on link k (0: the one this process reaches)."""
        return f"10.{self.net}.{k}.{2 if k == 0 else 1}"

    def worker_address(self, k: int) -> str:
        return f"10.{self.net}.{k}.2"

    @property
    def database_addresses(self) -> list[str]:
        return [self.database_address(k) for k in range(len(self.workers) + 1)]

    @staticmethod
    def run_in(ns: str) -> list[str]:
        """The prefix that runs a command on host `ns`."""
        return ["ip", "netns", "exec", ns]

    def close(self) -> None:
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        self.made.clear()

    def __enter__(self) -> Self:
        return self.create()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
