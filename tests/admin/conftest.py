"""Fixtures for the admin event browser: signed-in clients per role, and a million events.

The million events live in a table of their own (same columns, same indexes, same statistics as
the migrated ledger_event, copied from it) in a schema that only the tests asking for
`million_events` put first on their search path. Committed to the shared ledger_event they would
stay for the rest of the session (the table refuses DELETE and TRUNCATE), and every later test
that reads all events (read_all, projection rebuilds, a background Celery worker) would wade
through them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.utils import timezone

from ledger.roles import Role
from tests.admin.helpers import BULK_EVENTS, BULK_SCHEMA, BULK_STREAMS


@pytest.fixture
def user(db) -> Callable[..., User]:
    def make(*roles: Role, superuser: bool = False, name: str = "") -> User:
        username = name or "-".join(r.value for r in roles) or ("root" if superuser else "nobody")
        person = User.objects.create_user(username=username, password="tally", is_superuser=superuser)
        person.groups.set(Group.objects.filter(name__in=[r.value for r in roles]))
        return person

    return make


@pytest.fixture
def as_role(user) -> Callable[..., Client]:
    """A client signed in as a new user with the given roles."""

    def signed_in(*roles: Role, superuser: bool = False) -> Client:
        client = Client()
        client.force_login(user(*roles, superuser=superuser))
        return client

    return signed_in


@pytest.fixture
def auditor(as_role) -> Client:
    return as_role(Role.AUDITOR)


# A stream is md5('stream-' || s)::uuid, a command (and its correlation) md5('command-' || n)::uuid.
# Version 1 opens the account; versions 51 and 52 freeze and unfreeze it; the rest alternate
# deposits and withdrawals. Actors: "supervisor" for one event in a thousand, else teller-0..4.
# recorded_at: one event a second, the newest at `newest`.
def _event(n: str, newest: datetime) -> str:
    """A subquery of event n's columns (n: a SQL expression)."""
    return f"""(SELECT md5('event-' || {n})::uuid AS event_id, s.id AS stream_id, 'account'::text AS stream_type,
       {n} / {BULK_STREAMS} + 1 AS version, k.type, (CASE k.type WHEN 'AccountOpened' THEN 2 ELSE 1 END)::smallint
       AS schema_version,
       CASE k.type
         WHEN 'AccountOpened' THEN jsonb_build_object('account_id', s.id, 'owner', 'Owner ' || {n},
                                                      'currency', 'EUR', 'overdraft_limit', 0)
         WHEN 'MoneyDeposited' THEN jsonb_build_object('account_id', s.id, 'amount', 1000,
                                                       'currency', 'EUR', 'memo', '')
         WHEN 'MoneyWithdrawn' THEN jsonb_build_object('account_id', s.id, 'amount', 400,
                                                       'currency', 'EUR', 'memo', '')
         ELSE jsonb_build_object('account_id', s.id, 'reason', 'review')
       END AS data,
       jsonb_build_object('actor', CASE WHEN {n} % 1000 = 0 THEN 'supervisor' ELSE 'teller-' || {n} % 5 END,
                          'command_id', c.id, 'command', k.command, 'correlation_id', c.id,
                          'causation_id', c.id, 'source', 'bulk') AS metadata,
       '{newest.isoformat()}'::timestamptz - ({BULK_EVENTS - 1} - {n}) * interval '1 second' AS recorded_at
  FROM LATERAL (SELECT md5('stream-' || {n} % {BULK_STREAMS})::uuid AS id) s,
       LATERAL (SELECT md5('command-' || {n})::uuid AS id) c,
       LATERAL (SELECT CASE {n} / {BULK_STREAMS} + 1 WHEN 1 THEN 'AccountOpened' WHEN 51 THEN 'AccountFrozen'
                            WHEN 52 THEN 'AccountUnfrozen'
                            ELSE CASE {n} / {BULK_STREAMS} % 2 WHEN 1 THEN 'MoneyDeposited'
                                 ELSE 'MoneyWithdrawn' END END AS type) t,
       LATERAL (SELECT t.type, CASE t.type WHEN 'AccountOpened' THEN 'OpenAccount'
                            WHEN 'MoneyDeposited' THEN 'Deposit' WHEN 'MoneyWithdrawn' THEN 'Withdraw'
                            WHEN 'AccountFrozen' THEN 'FreezeAccount' ELSE 'UnfreezeAccount' END)
                    k(type, command))"""


_HASHED = (
    "e.event_id, e.stream_type, e.stream_id, e.version, e.type, e.schema_version, e.recorded_at, e.data, e.metadata"
)


def _bulk_insert(newest: datetime) -> str:
    """The million events with their hash chains, as the append trigger would have chained them
    (ledger/migrations/0005_event_hash_chain.py): a walk up the versions, every stream at each step,
    carrying each stream's last hash, so that an export of them verifies offline."""
    return f"""
WITH RECURSIVE chain (n, hash) AS (
    SELECT g.n, ledger_event_hash(NULL, {_HASHED})
      FROM generate_series(0, {BULK_STREAMS - 1}) g(n), LATERAL {_event("g.n", newest)} e
    UNION ALL
    SELECT ch.n + {BULK_STREAMS}, ledger_event_hash(ch.hash, {_HASHED})
      FROM chain ch, LATERAL {_event(f"(ch.n + {BULK_STREAMS})", newest)} e
     WHERE ch.n + {BULK_STREAMS} < {BULK_EVENTS}
)
INSERT INTO {BULK_SCHEMA}.ledger_event
       (event_id, stream_id, stream_type, version, type, schema_version, data, metadata, recorded_at, hash)
SELECT e.event_id, e.stream_id, e.stream_type, e.version, e.type, e.schema_version, e.data, e.metadata, e.recorded_at,
       ch.hash
  FROM chain ch, LATERAL {_event("ch.n", newest)} e
 ORDER BY ch.n
"""


def _copy_of_ledger_event(newest: datetime) -> list[str]:
    """DDL for an unlogged twin of ledger_event with the indexes and statistics the migrations made
    (created after the rows are in: building an index once beats a million index inserts)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'public.ledger_event'::regclass"
        )
        indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxrelid = 'public.ledger_event'::regclass"
        )
        statistics = [row[0] for row in cursor.fetchall()]
    return [
        f"CREATE UNLOGGED TABLE {BULK_SCHEMA}.ledger_event (LIKE public.ledger_event"
        " INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS)",
        _bulk_insert(newest),
        "SET maintenance_work_mem = '256MB'",
        *(sql.replace(" ON public.ledger_event ", f" ON {BULK_SCHEMA}.ledger_event ") for sql in indexes),
        *(sql.replace("public.", f"{BULK_SCHEMA}.") for sql in statistics),
        "RESET maintenance_work_mem",
        f"VACUUM ANALYZE {BULK_SCHEMA}.ledger_event",  # statistics and a visibility map, as autovacuum would
    ]


@pytest.fixture(scope="package")  # built once; its 800 MB go when the admin tests are done
def million_events_table(django_db_setup, django_db_blocker) -> Iterator[str]:
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {BULK_SCHEMA} CASCADE")
            cursor.execute(f"CREATE SCHEMA {BULK_SCHEMA}")
            for sql in _copy_of_ledger_event(newest=timezone.now()):
                cursor.execute(sql)
        yield BULK_SCHEMA
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA {BULK_SCHEMA} CASCADE")


@pytest.fixture
def million_events(db, million_events_table: str) -> None:
    """For this test only (SET LOCAL ends with the test's transaction), ledger_event means the
    table with a million events."""
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path = {million_events_table}, public")
        cursor.execute("SELECT max(position) FROM ledger_event")
        assert cursor.fetchone()[0] == BULK_EVENTS, "the search path does not reach the million events"
