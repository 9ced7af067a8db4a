"""The event store: one append-only Postgres table, read and written with hand-written SQL.

`from ledger import store`, then `store.append(...)`, `store.read_all(...)`: the names below are
its whole public face. The SQL that writes is in write.py, the SQL that reads in read.py, what they
hand back in records.py; sql.py says how the rest of the code reaches the database.
"""

from ledger.store.read import (
    EVENTLESS_SESSION,
    HORIZON_SQL,
    head_position,
    read_all,
    read_command,
    read_correlated,
    read_span,
    read_stream,
)
from ledger.store.records import (
    Checkpoint,
    CommandRecord,
    ConcurrencyError,
    DuplicateCommand,
    Loaded,
    NewEvent,
    RecordedEvent,
    Snapshot,
)
from ledger.store.write import append, load, lock_streams

__all__ = [
    "EVENTLESS_SESSION",
    "HORIZON_SQL",
    "Checkpoint",
    "CommandRecord",
    "ConcurrencyError",
    "DuplicateCommand",
    "Loaded",
    "NewEvent",
    "RecordedEvent",
    "Snapshot",
    "append",
    "head_position",
    "load",
    "lock_streams",
    "read_all",
    "read_command",
    "read_correlated",
    "read_span",
    "read_stream",
]
