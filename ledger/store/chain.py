"""Checking the events' hash chain (ledger/migrations/0005_event_hash_chain.py): each event's hash
must be sha256 of its predecessor's hash and its own canonical text, as computed when it was
appended. An event edited afterwards (by someone who lifted the append-only trigger) no longer
matches its hash. Whoever also recomputed that event's hash breaks the next link instead: the next
version's hash was chained to the old one. (Rewriting every later hash of the stream too is caught
against an earlier audit export, which holds the hashes as they were: scripts/verify_export.py.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from ledger.store.sql import fetch

BATCH = 50_000  # events per query: the check moves through the log by position, a batch at a time
_ARGS = "e.event_id, e.stream_type, e.stream_id, e.version, e.type, e.schema_version, e.recorded_at, e.data, e.metadata"
_BROKEN = f"""
SELECT e.position, e.stream_id, e.version, e.type
  FROM ledger_event e LEFT JOIN ledger_event p ON p.stream_id = e.stream_id AND p.version = e.version - 1
 WHERE e.position > %(after)s AND e.position <= %(upto)s AND (%(stream)s::uuid IS NULL OR e.stream_id = %(stream)s)
   AND e.hash IS DISTINCT FROM ledger_event_hash(p.hash, {_ARGS})
 ORDER BY e.position
"""


@dataclass(frozen=True)
class Broken:
    position: int
    stream_id: UUID
    version: int
    type: str

    def describe(self) -> str:
        where = f"event #{self.position} ({self.type}, stream {self.stream_id} version {self.version})"
        before = f", or the hash of version {self.version - 1} before it," if self.version > 1 else ""
        return f"{where} does not match its hash: it{before} was changed after it was recorded"


@dataclass
class Verdict:
    checked: int = 0
    broken: list[Broken] = field(default_factory=list)


def verify_chain(stream_id: UUID | None = None, progress: Callable[[int], None] | None = None) -> Verdict:
    """Check every event's link (of one stream, if given), oldest first."""
    verdict = Verdict()
    ((head, count),) = fetch(
        "SELECT coalesce(max(position), 0), count(*) FROM ledger_event"
        " WHERE %(stream)s::uuid IS NULL OR stream_id = %(stream)s",
        {"stream": stream_id},
    )
    for after in range(0, head, BATCH):
        upto = min(after + BATCH, head)
        params = {"after": after, "upto": upto, "stream": stream_id}
        verdict.broken.extend(Broken(*row) for row in fetch(_BROKEN, params))
        if progress:
            progress(upto)
    verdict.checked = count
    return verdict
