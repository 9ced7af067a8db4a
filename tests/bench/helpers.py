"""Handlers for bench.routing pools in tests: built once per pool process, as the harness's are."""

from __future__ import annotations

import os
from typing import Any


class Echo:
    """Answers every request with the process that served it and what it was asked."""

    def handle(self, op: str, args: tuple[Any, ...]) -> Any:
        if op == "fail":
            raise ValueError("asked to fail")
        return (os.getpid(), op, args)


class BrokenAtStart:
    """A process whose set-up fails (a handler whose database is not there, say)."""

    def __init__(self) -> None:
        raise RuntimeError("cannot set up")
