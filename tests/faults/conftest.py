"""Fixtures for the fault tests: a private Postgres that a test may stop and start."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def private_postgres():
    """A Postgres of our own that fault tests may stop and start, with a migrated template database."""
    from tests.faults.private_postgres import PrivatePostgres

    pg = PrivatePostgres().start()
    pg.template = pg.migrated_template()
    yield pg
    pg.close()
