"""Counting lost races: the write side logs "lost a race ... deciding again" once per conflict it
retries, so its log lines are the count (used by the races fixture and the stress processes)."""

from __future__ import annotations

import logging
from collections import Counter

WRITE_LOG = "ledger.execute"


class RaceCounter(logging.Handler):
    """Counts the lost-race log lines, per thread."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lost: Counter[str | None] = Counter()  # by thread name

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a race" in record.getMessage():
            self.lost[record.threadName] += 1

    @property
    def total(self) -> int:
        return sum(self.lost.values())
