"""The event browser's audit export: whatever list the browser shows (its filters, search and date
range, the same query string) as CSV or as JSON lines, every matching event oldest first.

The response is streamed and read from the database a batch at a time, by position (the primary
key), so the web process holds one batch however many events match: a million events export in
flat memory. Each event goes out exactly as stored (data and metadata as recorded, not upcast), so
an auditor's copy shows what the log holds, with each event's hash and the hash it chains to, for
scripts/verify_export.py to check offline."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

from django.db.models import F, Func, OuterRef, QuerySet, Subquery, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, JSONObject

from ledger.models import Event

BATCH = 5_000
COLUMNS = (
    "position",
    "event_id",
    "recorded_at",
    "stream_type",
    "stream_id",
    "version",
    "type",
    "schema_version",
    "actor",
    "command_id",
    "correlation_id",
    "causation_id",
    "data",
    "metadata",
    "hash",
    "previous_hash",
)
_META = ("actor", "command_id", "correlation_id", "causation_id")


def _text(expression: Any) -> Cast:
    return Cast(expression, TextField())


def _hex(expression: Any) -> Func:
    return Func(expression, Value("hex"), function="encode", output_field=TextField())


# The hash the event's own chains to: the previous version's, so that each event of an export can
# be checked alone (scripts/verify_export.py), even when the export leaves its predecessor out.
_PREVIOUS_HASH = _hex(
    Subquery(Event.objects.filter(stream_id=OuterRef("stream_id"), version=OuterRef("version") - 1).values("hash")[:1])
)


def _meta(key: str) -> Coalesce:
    return Coalesce(KeyTextTransform(key, "metadata"), Value(""), output_field=TextField())


# Postgres writes each cell or line, and Python only joins them: parsing each event's JSON into
# Python objects and writing it out again took five times as long (a million events in 150 s).
_CELLS: dict[str, Any] = {
    **{f"c_{name}": F(name) for name in COLUMNS[:8]},
    **{f"c_{key}": _meta(key) for key in _META},
    "c_data": _text(F("data")),
    "c_metadata": _text(F("metadata")),
    "c_hash": _hex(F("hash")),
    "c_previous_hash": _PREVIOUS_HASH,
}
# recorded_at as Python's isoformat() writes it (and so the CSV): Postgres's own JSON drops the
# fraction's trailing zeros (.7676 for .767600), which made the two formats of one export differ.
_RECORDED_AT = Func(
    F("recorded_at"),
    template="to_char(%(expressions)s AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', %(expressions)s) = "
    '%(expressions)s THEN \'YYYY-MM-DD"T"HH24:MI:SS"+00:00"\' ELSE \'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\' END)',
    output_field=TextField(),
)
_LINE = _text(
    JSONObject(
        **{name: _RECORDED_AT if name == "recorded_at" else F(name) for name in COLUMNS[:8]},
        **{key: _meta(key) for key in _META},
        data=F("data"),
        metadata=F("metadata"),
        hash=_hex(F("hash")),
        previous_hash=_PREVIOUS_HASH,
    )
)


def batches(events: QuerySet[Event], **columns: Any) -> Iterator[list[tuple[Any, ...]]]:
    """`columns` of the events of `events`, oldest first, a batch at a time (keyset paging on the
    position, which comes first in each row)."""
    after = 0
    names = list(columns)
    while True:
        rows = events.filter(position__gt=after).order_by("position").annotate(**columns)
        batch = list(rows.values_list("position", *names)[:BATCH])
        if not batch:
            return
        yield batch
        after = batch[-1][0]


def json_lines(events: QuerySet[Event]) -> Iterator[str]:
    """One JSON object per event and line (its data and metadata as objects); a batch of lines per
    chunk of the response."""
    for batch in batches(events, line=_LINE):
        yield "".join(f"{line}\n" for _, line in batch)


def csv_rows(events: QuerySet[Event]) -> Iterator[str]:
    """A header, then one row per event; data and metadata as JSON text in their cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for batch in batches(events, **_CELLS):
        buffer.seek(0)
        buffer.truncate()
        # recorded_at as ISO 8601, as in the JSON lines; the rest as Postgres wrote it
        writer.writerows((*row[1:3], row[3].isoformat(), *row[4:]) for row in batch)
        yield buffer.getvalue()


FORMATS: dict[str, tuple[Callable[[QuerySet[Event]], Iterator[str]], str]] = {
    "csv": (csv_rows, "text/csv; charset=utf-8"),
    "jsonl": (json_lines, "application/x-ndjson"),
}
