"""Upcasting: older stored shapes of an event are turned into the current shape on read. Stored
rows are never rewritten; each upcaster lifts a payload by exactly one schema version.

Each upcaster is written twice, side by side: in Python, for everything that reads events into
Python (the write side, history, verify_projections), and in SQL, for the projectors, which read
events inside Postgres through the view `ledger_event_current` (made from these SQL halves by
`current_view_sql()` after every `migrate`). A new event shape is one entry here; a test holds the
two halves of every entry to each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Upcaster:
    event_type: str
    from_version: int  # lifts this version to the next
    python: Callable[[Payload], Payload]
    sql: str  # the same lift as a jsonb expression over {data}


UPCASTERS: tuple[Upcaster, ...] = (
    # AccountOpened v1 (before overdrafts existed) meant "no overdraft".
    Upcaster(
        "AccountOpened",
        1,
        lambda data: {**data, "overdraft_limit": 0},
        """{data} || '{{"overdraft_limit": 0}}'::jsonb""",
    ),
)
_BY_KEY = {(u.event_type, u.from_version): u for u in UPCASTERS}


def upcast(type_name: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
    while (upcaster := _BY_KEY.get((type_name, schema_version))) is not None:
        data = upcaster.python(data)
        schema_version += 1
    return schema_version, data


def upcasters_from(type_name: str, schema_version: int) -> list[Upcaster]:
    """The upcasters an event of this type stored in this version passes through on read, in order."""
    steps = []
    while (step := _BY_KEY.get((type_name, schema_version))) is not None:
        steps.append(step)
        schema_version += 1
    return steps


def current_schema_version(type_name: str) -> int:
    """The version every reader sees an event of this type in: one past its last upcaster's."""
    return max((u.from_version + 1 for u in UPCASTERS if u.event_type == type_name), default=1)


CURRENT_VIEW = "ledger_event_current"


def _chains(upcasters: Iterable[Upcaster]) -> list[tuple[str, int, int, str]]:
    """(type, stored version, current version, SQL lifting `data` from the one to the other)."""
    chains = []
    for first in upcasters:
        expression, version = "data", first.from_version
        while (step := _BY_KEY.get((first.event_type, version))) is not None:
            expression = step.sql.format(data=f"({expression})")
            version += 1
        chains.append((first.event_type, first.from_version, version, expression))
    return chains


def current_view_sql() -> str:
    """The view the projectors read events through: ledger_event with every payload in its
    current shape (and the schema version it now has), by the SQL halves of UPCASTERS."""
    chains = _chains(UPCASTERS)
    data = " ".join(f"WHEN type = '{t}' AND schema_version = {v} THEN {sql}" for t, v, _, sql in chains)
    version = " ".join(f"WHEN type = '{t}' AND schema_version = {v} THEN {to}" for t, v, to, _ in chains)
    return f"""CREATE OR REPLACE VIEW {CURRENT_VIEW} AS
SELECT position, tx_id, event_id, stream_id, stream_type, version, type,
       {f"(CASE {version} ELSE schema_version END)::smallint" if chains else "schema_version"} AS schema_version,
       {f"CASE {data} ELSE data END" if chains else "data"} AS data,
       metadata, recorded_at
  FROM ledger_event"""
