"""Fixtures for the write side's concurrency tests: a counter of lost races."""

from __future__ import annotations

import logging
from collections import Counter

import pytest


class RaceCounter(logging.Handler):
    """Counts the write side's "lost a race ... deciding again" log lines, i.e. retried conflicts."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lost = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if "lost a race" in record.getMessage():
            self.lost[record.threadName] += 1

    @property
    def total(self) -> int:
        return sum(self.lost.values())


@pytest.fixture
def races():
    counter = RaceCounter()
    logger = logging.getLogger("ledger.execute")
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(previous)
