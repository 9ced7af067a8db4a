"""Reading "all events in order" from a checkpoint never skips an event, even one that a slower
concurrent transaction commits after a later position is already visible."""

from __future__ import annotations

import threading
import time
from uuid import uuid4

from django.db import connection, connections

from ledger import store
from tests.store.helpers import new_event, own_connection


def test_read_all_returns_committed_events_in_commit_order_after_a_checkpoint(committed):
    stream = uuid4()
    first = store.append([new_event(stream, 1)])
    second = store.append([new_event(stream, 2), new_event(stream, 3)])

    after_first = store.read_all(first, limit=10_000)

    mine = [e for e in after_first if e.stream_id == stream]
    assert [e.version for e in mine] == [2, 3]
    assert (mine[-1].tx_id, mine[-1].position) == (second.tx_id, second.position)
    assert all(store.Checkpoint(e.tx_id, e.position) > first for e in after_first)


def test_an_event_committed_late_with_a_lower_position_is_not_skipped(committed):
    slow_stream, fast_stream = uuid4(), uuid4()
    start = store.read_all(store.Checkpoint(), limit=1_000_000)
    checkpoint = store.Checkpoint(start[-1].tx_id, start[-1].position) if start else store.Checkpoint()

    with own_connection() as slow:  # takes a position first, commits last
        slow.execute(
            "INSERT INTO ledger_event (event_id, stream_id, stream_type, version, type, data, metadata)"
            " VALUES (%s, %s, 'account', 1, 'NoteTaken', '{}', '{}')",
            [uuid4(), slow_stream],
        )
        store.append([new_event(fast_stream, 1)])

        seen = store.read_all(checkpoint)
        assert [e.stream_id for e in seen if e.stream_id in (slow_stream, fast_stream)] == []
        slow.commit()

    seen = store.read_all(checkpoint)
    ordered = [e.stream_id for e in seen if e.stream_id in (slow_stream, fast_stream)]
    assert ordered == [slow_stream, fast_stream]


def test_a_reader_following_concurrent_writers_sees_every_event_exactly_once(committed):
    writers, appends_each = 6, 150
    streams = [uuid4() for _ in range(writers)]
    start = store.read_all(store.Checkpoint(), limit=1_000_000)
    checkpoint = store.Checkpoint(start[-1].tx_id, start[-1].position) if start else store.Checkpoint()
    done = threading.Event()
    errors: list[BaseException] = []

    def write(stream):
        try:
            for version in range(1, appends_each + 1):
                store.append([new_event(stream, version)])
                if version % 7 == 0:
                    time.sleep(0.001)  # vary the interleaving
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(s,)) for s in streams]
    for thread in threads:
        thread.start()

    seen: list[store.RecordedEvent] = []

    def watch() -> None:
        for thread in threads:
            thread.join()
        done.set()

    watcher = threading.Thread(target=watch)
    watcher.start()
    while True:
        finished = done.is_set()
        batch = store.read_all(checkpoint, limit=37)
        seen.extend(batch)
        if batch:
            checkpoint = store.Checkpoint(batch[-1].tx_id, batch[-1].position)
        elif finished:
            break
    watcher.join()

    assert errors == []
    mine = [e for e in seen if e.stream_id in streams]
    positions = [e.position for e in seen]
    assert len(positions) == len(set(positions)), "an event was read twice"
    assert len(mine) == writers * appends_each, "an event was skipped"
    for stream in streams:
        assert [e.version for e in mine if e.stream_id == stream] == list(range(1, appends_each + 1))
    order = [(e.tx_id, e.position) for e in seen]
    assert order == sorted(order)


def test_a_long_transaction_in_another_database_does_not_hold_the_log_back(committed):
    stream = uuid4()
    with own_connection(dbname="postgres") as elsewhere:
        elsewhere.execute("SELECT pg_current_xact_id()")  # holds a transaction id, like a long batch job
        before = store.Checkpoint()
        store.append([new_event(stream, 1)])

        seen = store.read_all(before, limit=1_000_000)

        assert stream in {e.stream_id for e in seen}
        elsewhere.rollback()


def test_read_all_orders_by_transaction_id_as_a_number_not_as_text(db):
    """'99999' < '100000' as numbers but not as text: the log must be read in numeric order."""
    from ledger.store.read import _READ_ALL

    # A bare "tx_id" in ORDER BY would name the selected tx_id::text column and sort it as text.
    assert "ORDER BY ledger_event.tx_id, ledger_event.position" in _READ_ALL
    with connection.cursor() as cursor:
        cursor.execute("SELECT '99999'::xid8 < '100000'::xid8")
        assert cursor.fetchone()[0] is True


def test_a_long_transaction_of_a_session_that_appends_no_events_does_not_hold_the_log_back(committed):
    stream = uuid4()
    start = store.read_all(store.Checkpoint(), limit=1_000_000)
    checkpoint = store.Checkpoint(start[-1].tx_id, start[-1].position) if start else store.Checkpoint()

    for name, held_back in ((store.EVENTLESS_SESSION, False), ("an ordinary session", True)):
        with own_connection() as other:  # a transaction with an id of its own, left open
            other.execute("SELECT set_config('application_name', %s, false)", [name])
            other.execute("CREATE TEMPORARY TABLE scratch (n int)")
            other.execute("INSERT INTO scratch VALUES (1)")
            appended = store.append([new_event(stream, 1 if not held_back else 2)])

            seen = [e for e in store.read_all(checkpoint, limit=1_000_000) if e.stream_id == stream]

            assert (seen[-1].position == appended.position) is not held_back, name
            other.rollback()
