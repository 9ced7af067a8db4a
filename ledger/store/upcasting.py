"""Upcasting: older stored shapes of an event are turned into the current shape on read.
Stored rows are never rewritten; each upcaster lifts a payload by exactly one schema version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]

UPCASTERS: dict[tuple[str, int], Callable[[Payload], Payload]] = {
    # AccountOpened v1 (before overdrafts existed) meant "no overdraft".
    ("AccountOpened", 1): lambda data: {**data, "overdraft_limit": 0},
}


def upcast(type_name: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
    while (upcaster := UPCASTERS.get((type_name, schema_version))) is not None:
        data = upcaster(data)
        schema_version += 1
    return schema_version, data
