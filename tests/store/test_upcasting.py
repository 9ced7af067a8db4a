"""Upcasting, both halves: the Python upcasters (what the write side, history and verify read
through) and the SQL view the projectors read through lift every old payload to the same shape."""

from __future__ import annotations

import json
from uuid import uuid4

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.store.upcasting import CURRENT_VIEW, UPCASTERS, current_view_sql, upcast

pytestmark = pytest.mark.django_db  # rolled back: the old-shape rows never stay

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
PAYLOADS = st.dictionaries(st.text(min_size=1, max_size=12), JSON_VALUES, max_size=6).filter(
    lambda d: "\\u0000" not in json.dumps(d)
)  # jsonb holds no NUL


def through_the_view(type_: str, schema_version: int, data: dict) -> tuple[int, dict]:
    with transaction.atomic(), connection.cursor() as cursor:  # a savepoint per example
        cursor.execute(
            """INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, schema_version,
                                                    data, metadata)
                          VALUES (%s, %s, 'account', 1, %s, %s, %s, '{}') RETURNING position""",
            [uuid4(), uuid4(), type_, schema_version, json.dumps(data)],
        )
        position = cursor.fetchone()[0]
        cursor.execute(f"SELECT schema_version, data FROM {CURRENT_VIEW} WHERE position = %s", [position])
        version, text = cursor.fetchone()
    return version, json.loads(text)


@pytest.mark.parametrize("upcaster", UPCASTERS, ids=lambda u: f"{u.event_type} v{u.from_version}")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=PAYLOADS)
def test_the_projectors_view_upcasts_every_old_payload_as_python_does(upcaster, data):
    expected = upcast(upcaster.event_type, upcaster.from_version, data)

    assert through_the_view(upcaster.event_type, upcaster.from_version, data) == expected, (
        f"The SQL half of the upcaster {upcaster.event_type} v{upcaster.from_version} in "
        "ledger/store/upcasting.py does not do what its Python half does"
    )


def test_a_current_payload_passes_the_view_unchanged():
    data = {"account_id": str(uuid4()), "amount": 5, "currency": "EUR", "memo": "as stored"}

    assert through_the_view("MoneyDeposited", 1, data) == (1, data)


def test_the_database_has_the_view_the_code_makes_now():
    # migrate re-makes the view (ledger.apps); a database migrated before an upcaster was added is
    # caught here, and by the projectors reading it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_viewdef(%s::regclass)", [CURRENT_VIEW])
        stored = cursor.fetchone()[0]
        cursor.execute("CREATE TEMPORARY VIEW upcast_now AS " + current_view_sql().split(" AS\n", 1)[1])
        cursor.execute("SELECT pg_get_viewdef('upcast_now'::regclass)")
        fresh = cursor.fetchone()[0]
    assert stored == fresh
