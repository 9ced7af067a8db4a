"""The event browser's stream-type filter on the stream types other than accounts (approval
requests, standing orders: few events among millions). An account filter matches nearly every row
and the newest-first walk down the primary key answers it at once; a rare type's filter would scan
the whole table to fill one page. The index is partial, so an account's append (most appends)
never touches it; the planner proves `stream_type = 'approval'` implies the index's predicate.
Built CONCURRENTLY, as 0003's are (appends go on meanwhile)."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("ledger", "0003_event_browser_indexes")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_event_rare_stream_type_position "
            "ON ledger_event (stream_type, position) WHERE stream_type <> 'account'",
            "DROP INDEX CONCURRENTLY IF EXISTS ledger_event_rare_stream_type_position",
        )
    ]
