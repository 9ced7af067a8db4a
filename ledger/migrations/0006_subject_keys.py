"""Crypto-shredding: customers' names sealed in the log with a key of their own (ledger/store/personal.py).

ledger_subject_key holds one AES-256 key per subject (an account's customer). It is the one table of
the store that is not append-only: forgetting a customer deletes their key.

A database that existed before sealing holds names in clear in its AccountOpened events and its
snapshots. This migration seals those names in place, each under a new key of its account, and
re-computes the hash chains of the streams it changed (migration 0005's formula), with the
append-only trigger lifted for that one UPDATE inside the migration's transaction. It is the one
time history is rewritten, and only to take personal data out of it; the amounts, types, versions
and times of every event stay as they were, and `verify_chain` passes afterwards. Snapshots are a
cache: those of schema 1 held the name in clear and are deleted (the next command takes new ones).

The command records of those openings held a plain sha256 over the command, name included, which
anyone who tries names could match once the customer is forgotten: each becomes the fingerprint
execute() now makes (the name through an HMAC under the new key) when the old one is recognised, and
one that matches nothing when it is not (a resubmitted form of that opening is then refused as
"submitted with different details" instead of answered).
"""

import hashlib
import json
from dataclasses import fields
from uuid import UUID

from django.db import migrations

CREATE = """
CREATE TABLE ledger_subject_key (
    subject_id  uuid        PRIMARY KEY,
    key         bytea       NOT NULL CHECK (length(key) = 32),
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""

RECHAIN = """
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
WITH RECURSIVE chain (stream_id, version, hash) AS (
    SELECT e.stream_id, e.version,
           ledger_event_hash(NULL, e.event_id, e.stream_type, e.stream_id, e.version, e.type, e.schema_version,
                             e.recorded_at, e.data, e.metadata)
      FROM ledger_event e WHERE e.version = 1 AND e.stream_id = ANY(%(streams)s)
    UNION ALL
    SELECT e.stream_id, e.version,
           ledger_event_hash(c.hash, e.event_id, e.stream_type, e.stream_id, e.version, e.type, e.schema_version,
                             e.recorded_at, e.data, e.metadata)
      FROM chain c JOIN ledger_event e ON e.stream_id = c.stream_id AND e.version = c.version + 1
)
UPDATE ledger_event e SET hash = chain.hash FROM chain
 WHERE e.stream_id = chain.stream_id AND e.version = chain.version;
RESET enable_hashjoin;
RESET enable_mergejoin;
"""


def _plain_fingerprint(command) -> str:
    """execute.fingerprint as it was before names were sealed."""
    payload = {f.name: str(getattr(command, f.name)) for f in fields(command) if f.name != "command_id"}
    return hashlib.sha256(json.dumps([type(command).__name__, payload], sort_keys=True).encode()).hexdigest()


def _refingerprint(cursor, opened: list[tuple], keys: dict) -> None:
    from ledger.domain.commands import OpenAccount
    from ledger.execute import fingerprint

    recorded = {}
    for _, stream_id, owner, currency, limit, command_id in opened:
        if command_id:
            command = OpenAccount(
                account_id=stream_id, command_id=UUID(command_id), owner=owner, currency=currency, overdraft_limit=limit
            )
            recorded[command.command_id] = command
    cursor.execute(
        "SELECT command_id, fingerprint FROM ledger_command WHERE command_id = ANY(%s) AND type = 'OpenAccount'",
        [list(recorded)],
    )
    renewed = [
        (
            command_id,
            fingerprint(recorded[command_id], keys[recorded[command_id].account_id])
            if old == _plain_fingerprint(recorded[command_id])
            else "sealed: no longer comparable",
        )
        for command_id, old in cursor.fetchall()
    ]
    if renewed:
        cursor.execute("ALTER TABLE ledger_command DISABLE TRIGGER ledger_command_append_only")
        cursor.execute(
            "UPDATE ledger_command c SET fingerprint = r.fingerprint"
            "  FROM unnest(%s::uuid[], %s::text[]) AS r(command_id, fingerprint) WHERE c.command_id = r.command_id",
            [[c for c, _ in renewed], [f for _, f in renewed]],
        )
        cursor.execute("ALTER TABLE ledger_command ENABLE TRIGGER ledger_command_append_only")


def seal_clear_names(apps, schema_editor):
    from ledger.store import personal  # the code that reads them back, so that both agree

    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT position, stream_id, data ->> 'owner', data ->> 'currency', (data ->> 'overdraft_limit')::bigint,"
            "       metadata ->> 'command_id'"
            "  FROM ledger_event WHERE type = 'AccountOpened' AND jsonb_typeof(data -> 'owner') = 'string'"
        )
        clear = cursor.fetchall()
        if clear:
            keys = {row[1]: personal.new_key() for row in clear}
            sealed = [(row[0], personal.seal(row[1], "owner", row[2], keys[row[1]])) for row in clear]
            cursor.execute(
                "INSERT INTO ledger_subject_key (subject_id, key) SELECT * FROM unnest(%s::uuid[], %s::bytea[])",
                [list(keys), list(keys.values())],
            )
            cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_append_only")
            cursor.execute(
                "UPDATE ledger_event e SET data = jsonb_set(e.data, '{owner}', s.owner)"
                "  FROM unnest(%s::bigint[], %s::jsonb[]) AS s(position, owner) WHERE e.position = s.position",
                [[p for p, _ in sealed], [json.dumps(s) for _, s in sealed]],
            )
            cursor.execute(RECHAIN, {"streams": list(keys)})
            cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_append_only")
            _refingerprint(cursor, clear, keys)
        cursor.execute("DELETE FROM ledger_snapshot WHERE schema < 2")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0005_event_hash_chain")]
    operations = [
        migrations.RunSQL(CREATE, "DROP TABLE ledger_subject_key"),
        # Not reversible: the names were taken out of the log on purpose.
        migrations.RunPython(seal_clear_names, migrations.RunPython.noop),
    ]
