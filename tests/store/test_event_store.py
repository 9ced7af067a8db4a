"""The event store against the real Postgres: append, read, optimistic concurrency, upcasting,
and a table that refuses to change what it recorded."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import DatabaseError, connection, transaction

from ledger import store
from tests.store.helpers import new_event

pytestmark = pytest.mark.django_db


def test_appended_events_are_read_back_in_version_order():
    stream = uuid4()
    last = store.append([new_event(stream, 1), new_event(stream, 2), new_event(stream, 3)])

    events = store.read_stream(stream)

    assert [e.version for e in events] == [1, 2, 3]
    assert [e.data["amount"] for e in events] == [1, 2, 3]
    assert events[-1].position == last.position
    assert events[0].position < events[1].position < events[2].position
    assert {e.tx_id for e in events} == {last.tx_id}
    assert events[0].metadata == {"actor": "test"}


def test_a_stream_is_read_up_to_a_version():
    stream = uuid4()
    store.append([new_event(stream, v) for v in range(1, 6)])

    assert [e.version for e in store.read_stream(stream, to_version=3)] == [1, 2, 3]


def test_a_stream_is_read_as_of_a_moment():
    stream = uuid4()
    store.append([new_event(stream, 1)])
    first_at = store.read_stream(stream)[0].recorded_at

    assert [e.version for e in store.read_stream(stream, as_of=first_at)] == [1]
    assert store.read_stream(stream, as_of=first_at - timedelta(seconds=1)) == []


def test_appending_at_a_version_already_taken_is_a_concurrency_error():
    stream = uuid4()
    store.append([new_event(stream, 1)])

    with pytest.raises(store.ConcurrencyError, match="try again"):
        store.append([new_event(stream, 1)])

    assert len(store.read_stream(stream)) == 1


def test_an_append_over_several_streams_is_all_or_nothing():
    debit, credit = uuid4(), uuid4()
    store.append([new_event(credit, 1)])

    with pytest.raises(store.ConcurrencyError):
        store.append([new_event(debit, 1), new_event(credit, 1)])

    assert store.read_stream(debit) == []
    store.append([new_event(debit, 1), new_event(credit, 2)])
    assert [len(store.read_stream(s)) for s in (debit, credit)] == [1, 2]


def test_a_command_id_is_recorded_once():
    command_id = uuid4()
    store.append([new_event(uuid4(), 1)], command=(command_id, "Deposit", "abc"))

    with pytest.raises(store.DuplicateCommand):
        store.append([new_event(uuid4(), 1)], command=(command_id, "Deposit", "abc"))


def test_an_old_event_shape_is_upcast_on_read_and_never_rewritten():
    stream = uuid4()
    v1 = {"account_id": str(stream), "owner": "Ada", "currency": "EUR"}  # before overdrafts existed
    store.append([new_event(stream, 1, "AccountOpened", v1, schema_version=1)])

    [event] = store.read_stream(stream)

    assert (event.schema_version, event.data["overdraft_limit"]) == (2, 0)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schema_version, data->'overdraft_limit' FROM ledger_event WHERE stream_id = %s", [stream]
        )
        assert cursor.fetchone() == (1, None)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_event SET data = '{}' WHERE stream_id = %s",
        "DELETE FROM ledger_event WHERE stream_id = %s",
        "TRUNCATE ledger_event",
        "UPDATE ledger_command SET fingerprint = 'x'",
        "DELETE FROM ledger_command",
        "TRUNCATE ledger_command CASCADE",
    ],
)
def test_recorded_history_cannot_be_changed_even_by_the_apps_own_database_user(statement):
    stream = uuid4()
    store.append([new_event(stream, 1)], command=(uuid4(), "Deposit", "x"))

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [stream] if "%s" in statement else None)

    assert store.read_stream(stream)[0].data["amount"] == 1
