"""Indexes for the admin event browser (ledger/admin/browser.py), one per question it asks of a large table.

Every index is one more insert per appended event, so each one below names the query that needs it.
Not indexed on purpose:
- stream_type = account (0004 indexes the rarer stream types): a filter on it matches nearly every row and
  the newest-first walk down the primary key answers it at once.
- stream_id / event_id / correlation_id: already indexed by 0001 (UNIQUE (stream_id, version),
  UNIQUE (event_id), the correlation expression index).

Built CONCURRENTLY (so outside a transaction, one statement each): a plain CREATE INDEX would block
every append for as long as the build takes on a table with millions of events. IF NOT EXISTS
lets a migration that stopped half-way be run again; a build that failed leaves an INVALID index
behind (see pg_index.indisvalid), which has to be dropped by hand before running it again.
"""

from django.db import migrations

INDEXES = {
    # Type filter, newest first: walk the index backwards and stop after one page, instead of
    # sorting every event of a common type (or scanning the whole table for a rare one).
    "ledger_event_type_position": "(type, position)",
    # Search by actor: a handful of actors write most events, so the position in the key lets the
    # newest page come straight from the index rather than from a sort of all of an actor's events.
    "ledger_event_actor_position": "((metadata ->> 'actor'), position)",
    # Search by command id, and the "caused by" link from an event to the events of its command.
    "ledger_event_command": "((metadata ->> 'command_id'))",
    # "Events this event caused". Only events caused by something other than their own command
    # (the TransferReceived half of a transfer) can match, so the index is partial: most appends
    # skip it, and the browser's query repeats the predicate so the planner may use it. A partial
    # index brings no statistics of its own: see ledger_event_causation_stats below.
    "ledger_event_caused_by_event": (
        "((metadata ->> 'causation_id')) WHERE (metadata ->> 'causation_id') <> (metadata ->> 'command_id')"
    ),
    # Date filter: lets the planner see the real newest and oldest recorded_at (it reads an index's
    # end points for that) and answers a day or week with no events at once, where the primary
    # key walk would read the whole table to find nothing. recorded_at rises with position, so
    # its inserts land at the index's right edge, the cheapest place for a btree.
    "ledger_event_recorded_at": "(recorded_at)",
}


def _create(name: str, definition: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON ledger_event {definition}",
        f"DROP INDEX CONCURRENTLY IF EXISTS {name}",
    )


# Without statistics on the causation expression the planner guesses that an "events caused by X"
# query matches thousands of rows and walks the primary key newest-first, reading the whole table
# to find none. Statistics cost nothing per append: ANALYZE gathers them.
CAUSATION_STATS = migrations.RunSQL(
    "CREATE STATISTICS IF NOT EXISTS ledger_event_causation_stats ON ((metadata ->> 'causation_id')) FROM ledger_event",
    "DROP STATISTICS IF EXISTS ledger_event_causation_stats",
)


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("ledger", "0002_roles")]
    operations = [*(_create(name, definition) for name, definition in INDEXES.items()), CAUSATION_STATS]
