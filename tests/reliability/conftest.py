"""Fixtures for the reliability suite: a counter of lost races, and the figures each run records
(written to test-artifacts/reliability-figures.json, quoted in docs/reliability.md)."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest

from tests.processes import ROOT

FIGURES = ROOT / "test-artifacts" / "reliability-figures.json"


@pytest.fixture(scope="session")
def figures():
    """Numbers a test wants to report (commands executed, races lost, faults injected, ...)."""
    recorded: dict[str, dict] = {}
    yield recorded
    if recorded:
        FIGURES.parent.mkdir(exist_ok=True)
        previous = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
        FIGURES.write_text(json.dumps({**previous, **recorded}, indent=2, sort_keys=True, default=str) + "\n")


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


@pytest.fixture(scope="session")
def private_postgres():
    """A Postgres of our own that fault tests may stop and start, with a migrated template database."""
    from tests.reliability.services import PrivatePostgres

    pg = PrivatePostgres().start()
    pg.template = pg.migrated_template()
    yield pg
    pg.close()
