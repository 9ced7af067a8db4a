#!/usr/bin/env python3
"""Check an audit export of Tally's event browser offline: python3 verify_export.py events.jsonl

Needs nothing but Python 3.10+ (no Tally, no database). For each event it recomputes

    hash = sha256(previous_hash || canonical text of the event)

from the event as exported and compares it with the hash the database recorded when the event was
appended (ledger/migrations/0005_event_hash_chain.py says what the canonical text is); where the
export holds consecutive versions of a stream, it also checks that each names the one before as its
previous hash. The first event that does not match is named; the exit status is 1 if any does.

An export taken earlier is itself a record of the chain: keep it, and a later export (or
`manage.py verify_chain`) that disagrees with its hashes shows history changed since.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any

FIELDS = ("event_id", "stream_type", "stream_id", "version", "type", "schema_version", "recorded_at")


def jsonb_text(value: Any) -> str:
    """`value` as Postgres prints a jsonb value: object keys shorter first, then bytewise, each key
    once; ", " between items and ": " after keys; strings with only ", \\ and control characters
    escaped; numbers as written."""
    kind = type(value)
    if kind is str:
        return _string(value)
    if kind is dict:
        given = tuple(value)
        keys = _ORDERED.get(given)
        if keys is None:
            keys = _ORDERED[given] = tuple(sorted(given, key=_key_order))
        parts = []
        for key in keys:
            item = value[key]
            kind = type(item)  # strings and integers, most of an event, without a call each
            text = _string(item) if kind is str else str(item) if kind is int else jsonb_text(item)
            parts.append(_string(key) + ": " + text)
        return "{" + ", ".join(parts) + "}"
    if kind is list:
        return "[" + ", ".join(jsonb_text(v) for v in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if kind is Decimal:
        return format(value, "f")
    return str(value)


_ORDERED: dict[tuple[str, ...], tuple[str, ...]] = {}  # the events share a few shapes: each sorted once


def _key_order(key: str) -> tuple[int, bytes]:
    encoded = key.encode()
    return len(encoded), encoded


# Escapes exactly what Postgres's escape_json does: the quote and the backslash, \b \f \n \r \t by
# name and any other control character as \u00xx in lower case; every other character as it is.
# (json's own string encoder, in C: not the ASCII-only one, which would escape letters too.)
_string = encode_basestring


def expected_hash(event: dict[str, Any]) -> str:
    canonical = jsonb_text([*(event[f] for f in FIELDS), event["data"], event["metadata"]])
    previous = bytes.fromhex(event["previous_hash"] or "")
    return hashlib.sha256(previous + canonical.encode()).hexdigest()


def _recorded_at_utc(text: str) -> str:
    """The export's ISO 8601 moment as the chain writes it: UTC, microseconds, 'Z'."""
    if text.endswith("+00:00") and len(text) in (25, 32):  # as the export writes it (UTC): no parsing
        whole, fraction = text[:19], text[19:-6]
        return f"{whole}.{fraction[1:] if fraction else '000000'}Z"
    moment = datetime.fromisoformat(text).astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _parse(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def events(path: str) -> Iterator[dict[str, Any]]:
    """The export's events (JSON lines, or the CSV export), as the chain hashed them."""
    with open(path, encoding="utf-8", newline="") as file:
        if path.endswith(".csv"):
            for row in csv.DictReader(file):
                yield _normalised({**row, "data": _parse(row["data"]), "metadata": _parse(row["metadata"])})
        else:
            for line in file:
                if line.strip():
                    yield _normalised(_parse(line))


def _normalised(event: dict[str, Any]) -> dict[str, Any]:
    return {
        **event,
        "version": int(event["version"]),
        "schema_version": int(event["schema_version"]),
        "position": int(event["position"]),
        "recorded_at": _recorded_at_utc(str(event["recorded_at"])),
    }


def verify(path: str) -> tuple[int, list[str]]:
    """How many events were checked, and what did not match (empty: the export is intact)."""
    problems: list[str] = []
    last_of_stream: dict[str, tuple[int, str]] = {}  # stream -> (version, hash) of its latest event seen
    checked = 0
    for event in events(path):
        checked += 1
        where = f"event #{event['position']} ({event['type']}, stream {event['stream_id']} version {event['version']})"
        if expected_hash(event) != event["hash"]:
            problems.append(f"{where} does not match its hash: it was changed after it was recorded")
        seen = last_of_stream.get(event["stream_id"])
        if seen and seen[0] == event["version"] - 1 and seen[1] != event["previous_hash"]:
            problems.append(f"{where} does not follow from version {seen[0]}: that version or its hash was changed")
        if event["version"] == 1 and event["previous_hash"]:
            problems.append(f"{where} is a stream's first event but names a previous hash")
        last_of_stream[event["stream_id"]] = (event["version"], event["hash"])
    return checked, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("export", help="an audit export from the event browser (.jsonl, or .csv)")
    args = parser.parse_args(argv)
    checked, problems = verify(args.export)
    if problems:
        print(f"{len(problems)} of {checked:,} events do not match; the first: {problems[0]}")
        for problem in problems[1:20]:
            print(f"  {problem}")
        return 1
    print(f"{checked:,} events checked: every hash matches its event and chains to the one before.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
