"""Partitioned projections (projections/partitions.py) read, of each span of the log, only the events
of their own streams: an index on the stream id's bucket (its last byte, as projectors/base.py
computes it) and then the log's commit order, which a partition's span query walks bucket by bucket.
Built CONCURRENTLY, as 0003's are (appends go on meanwhile)."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction
    dependencies = [("ledger", "0006_subject_keys")]
    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS ledger_event_bucket_tx_position "
            "ON ledger_event ((get_byte(uuid_send(stream_id), 15)), tx_id, position)",
            "DROP INDEX CONCURRENTLY IF EXISTS ledger_event_bucket_tx_position",
        )
    ]
