"""Fixtures for the write side's concurrency tests: a counter of lost races."""

from __future__ import annotations

import logging

import pytest

from tests.write.races import WRITE_LOG, RaceCounter


@pytest.fixture
def races():
    counter = RaceCounter()
    logger = logging.getLogger(WRITE_LOG)
    previous = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(counter)
    yield counter
    logger.removeHandler(counter)
    logger.setLevel(previous)
