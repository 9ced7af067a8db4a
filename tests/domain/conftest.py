import pytest

from tests.domain.scenario import Scenario


@pytest.fixture
def ledger() -> Scenario:
    return Scenario()
