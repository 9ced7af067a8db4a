"""Django's read-only view of the event table, for the admin event browser. Writes go through
ledger.store only; the table itself refuses UPDATE, DELETE and TRUNCATE."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    position = models.BigIntegerField(primary_key=True)
    event_id = models.UUIDField()
    stream_id = models.UUIDField()
    stream_type = models.TextField()
    version = models.IntegerField()
    type = models.TextField()
    schema_version = models.SmallIntegerField()
    data = models.JSONField()
    metadata = models.JSONField()
    recorded_at = models.DateTimeField()
    # sha256 of the previous event's hash and this event's canonical text, set by the database as it
    # appends the event (ledger/migrations/0005_event_hash_chain.py); checked by verify_chain
    hash = models.BinaryField()

    class Meta:
        managed = False
        db_table = "ledger_event"
        ordering = ["-position"]

    def __str__(self) -> str:
        return f"#{self.position} {self.type} ({self.stream_type} {self.stream_id} v{self.version})"
